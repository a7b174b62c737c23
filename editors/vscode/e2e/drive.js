'use strict';
// Drives code-server in headless Chromium (puppeteer-core): opens FILE, then prints what
// a user sees: the Problems panel's rows (each finding and its chain), the quick fixes
// and source actions on the finding's line, the status bar's importguard progress, and
// the progress notifications the client logged (importguard.trace.server: verbose).
// Run by run.sh, from the directory where puppeteer-core is installed.

const fs = require('fs');
const path = require('path');
const puppeteer = require(require.resolve('puppeteer-core', { paths: [process.cwd()] }));

const { URL: url, FILE: file, CHROMIUM: chromium, LOGS: logs } = process.env;
const waitSeconds = Number(process.env.IMPORTGUARD_E2E_WAIT_S || 120); // for the first diagnostics
const started = Date.now();
const seconds = () => ((Date.now() - started) / 1000).toFixed(2);

async function press(page, keys) {
  const parts = keys.split('+');
  for (const key of parts.slice(0, -1)) await page.keyboard.down(key);
  await page.keyboard.press(parts[parts.length - 1]);
  for (const key of parts.slice(0, -1).reverse()) await page.keyboard.up(key);
}

async function command(page, title) {
  await press(page, 'F1');
  await page.waitForSelector('.quick-input-widget input', { visible: true });
  await page.keyboard.type(title);
  await new Promise((resolve) => setTimeout(resolve, 700));
  await press(page, 'Enter');
}

async function rowsOf(page, selector) {
  return page.$$eval(selector, (rows) => rows.map((row) => row.innerText.replace(/\s+/g, ' ').trim()));
}

async function actionWidget(page) {
  await page.waitForSelector('.action-widget .monaco-list-row', { visible: true, timeout: 15000 });
  await new Promise((resolve) => setTimeout(resolve, 500)); // every provider has answered
  const rows = await page.$$eval('.action-widget .monaco-list-row', (items) =>
    items.map((item) => item.innerText.replace(/\s+/g, ' ').trim()).filter(Boolean));
  await press(page, 'Escape');
  return rows;
}

function traceProgress() {
  const found = [];
  const walk = (directory) => {
    for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
      const full = path.join(directory, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/importguard/i.test(entry.name)) found.push(full);
    }
  };
  if (fs.existsSync(logs)) walk(logs);
  const lines = [];
  for (const log of found) {
    const text = fs.readFileSync(log, 'utf8');
    const pattern = /(Received request 'window\/workDoneProgress\/create[^']*'|Received notification '\$\/progress'|Received notification 'textDocument\/publishDiagnostics')[^\n]*\nParams: (\{[\s\S]*?\n\})/g;
    for (const match of text.matchAll(pattern)) {
      const params = JSON.parse(match[2]);
      if (match[1].includes('publishDiagnostics')) {
        lines.push(`publishDiagnostics ${path.basename(params.uri)}: ${params.diagnostics.map((d) => d.code).join(', ') || 'none'}`);
      } else if (match[1].includes('create')) {
        lines.push(`window/workDoneProgress/create token=${params.token}`);
      } else {
        const value = params.value;
        lines.push(`$/progress ${value.kind}${value.title ? ` title="${value.title}"` : ''}${value.message ? ` "${value.message}"` : ''}`);
      }
    }
    const lifecycle = text.split('\n').filter((line) => /^(Starting|Restarting) the importguard server/.test(line));
    lines.unshift(...lifecycle);
  }
  return { files: found, lines };
}

(async () => {
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--window-size=1500,1000'],
    defaultViewport: { width: 1500, height: 1000 },
  });
  const page = await browser.newPage();
  try {
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('.monaco-workbench .part.statusbar', { timeout: 90000 });
    await page.evaluate(() => {
      // Every status bar text about importguard, as it changes (the window progress of
      // vscode-languageclient is a status bar entry).
      window.statusSeen = [];
      const start = performance.now();
      const bar = document.querySelector('.part.statusbar');
      const record = () => {
        for (const item of bar.querySelectorAll('.statusbar-item')) {
          const text = `${item.innerText} | ${item.getAttribute('aria-label') || ''}`.replace(/\s+/g, ' ').trim();
          const last = window.statusSeen[window.statusSeen.length - 1];
          if (/importguard/i.test(text) && (!last || last.text !== text)) {
            window.statusSeen.push({ at: ((performance.now() - start) / 1000).toFixed(2), text });
          }
        }
      };
      new MutationObserver(record).observe(bar, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await new Promise((resolve) => setTimeout(resolve, 3000)); // the workbench settles
    console.error(`[${seconds()}s] workbench up; opening ${file}`);
    await page.click('.part.editor');
    await press(page, 'Control+KeyP');
    await page.waitForSelector('.quick-input-widget input', { visible: true });
    await page.keyboard.type(file);
    await page.waitForSelector('.quick-input-list .monaco-list-row', { visible: true, timeout: 30000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await press(page, 'Enter');
    const opened = Date.now();
    await page.waitForSelector('.monaco-editor .squiggly-error, .monaco-editor .squiggly-warning', { timeout: waitSeconds * 1000 });
    console.log(`[${seconds()}s] first squiggle ${((Date.now() - opened) / 1000).toFixed(2)}s after opening`);

    await press(page, 'Control+Shift+KeyM');
    await page.waitForSelector('.markers-panel .monaco-list-row', { visible: true, timeout: 15000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Expand every finding, so its related locations (the chain's hops) show.
    const expandable = await page.$$('.markers-panel .monaco-list-row[aria-expanded="false"]');
    for (const row of expandable) {
      await row.click();
      await press(page, 'ArrowRight');
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const problems = await rowsOf(page, '.markers-panel .monaco-list-row');
    const line = (problems.map((row) => row.match(/IG\d{3}.*?\[Ln (\d+), Col \d+\]/)).find(Boolean) || [null, '1'])[1];

    await page.click('.part.editor .monaco-editor .view-lines');
    await press(page, 'Control+KeyG');
    await page.waitForSelector('.quick-input-widget input', { visible: true });
    await page.keyboard.type(line);
    await press(page, 'Enter');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await press(page, 'Control+Period');
    const quickFixes = await actionWidget(page);
    await command(page, 'Source Action...');
    const sourceActions = await actionWidget(page).catch(() => ['(no source action menu appeared)']);
    await command(page, 'importguard: Restart Server');
    await new Promise((resolve) => setTimeout(resolve, 4000)); // the new server starts and answers again
    const problemsAfterRestart = await page.$eval('.part.statusbar', (bar) => {
      const item = bar.querySelector('[id="status.problems"]');
      return item ? item.innerText.replace(/\s+/g, ' ').trim() : '(no problems entry)';
    }).catch(() => '(no status bar)');
    await page.screenshot({ path: path.join(path.dirname(logs), 'screenshot.png') });
    const status = await page.evaluate(() => window.statusSeen);
    const trace = traceProgress();

    console.log(`Problems panel (${file} open; tree view, findings expanded):`);
    for (const row of problems) console.log(`  ${row}`);
    console.log(`Quick fixes (Ctrl+. on line ${line}):`);
    for (const row of quickFixes) console.log(`  ${row}`);
    console.log('Source actions (command "Source Action..."):');
    for (const row of sourceActions) console.log(`  ${row}`);
    console.log(`After "importguard: Restart Server" (4 s later), the status bar's problem count: ${problemsAfterRestart}`);
    console.log('Status bar entries about importguard, as they changed (seconds since the page loaded):');
    if (!status.length) console.log('  (none)');
    for (const entry of status) console.log(`  ${entry.at}s ${entry.text}`);
    console.log(`The client's trace (output channel "importguard", ${trace.files.map((f) => path.relative(logs, f)).join(', ') || 'no log file found'}):`);
    for (const row of trace.lines) console.log(`  ${row}`);
  } catch (error) {
    await page.screenshot({ path: path.join(path.dirname(logs), 'failed.png') }).catch(() => {});
    throw error;
  } finally {
    await browser.close();
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
