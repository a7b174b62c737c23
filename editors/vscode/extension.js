'use strict';
// importguard for VS Code: a vscode-languageclient client for `importguard lsp`. The
// server does the work (diagnostics with their chain, code actions, progress while a
// cold analysis runs); this starts it from the settings, restarts it when they change
// or on the restart command, and logs to the "importguard" output channel.

const fs = require('fs');
const os = require('os');
const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');
const { serverCommand, commandLine, SettingsError } = require('./lib/server-command');

const SERVER_SETTINGS = ['importguard.path', 'importguard.interpreter', 'importguard.args'];

let client;
let output;
let pending = Promise.resolve(); // starts and stops, one after the other

function activate(context) {
  output = vscode.window.createOutputChannel('importguard');
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand('importguard.restart', () => restart()),
    vscode.commands.registerCommand('importguard.showOutput', () => output.show(true)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (SERVER_SETTINGS.some((name) => event.affectsConfiguration(name))) restart();
    }),
  );
  return queue(start);
}

function deactivate() {
  return queue(stop);
}

function restart() {
  return queue(async () => {
    output.appendLine('Restarting the importguard server');
    await stop();
    await start();
  });
}

function queue(step) {
  pending = pending.then(step, step);
  return pending;
}

function settings() {
  const config = vscode.workspace.getConfiguration('importguard');
  return { path: config.get('path'), interpreter: config.get('interpreter'), args: config.get('args') };
}

function workspaceFolder() {
  const folders = vscode.workspace.workspaceFolders;
  return folders && folders.length ? folders[0].uri.fsPath : undefined;
}

async function start() {
  let server;
  try {
    server = serverCommand(settings(), {
      workspaceFolder: workspaceFolder(),
      home: os.homedir(),
      env: process.env,
      isFile: (file) => fs.statSync(file, { throwIfNoEntry: false })?.isFile() === true,
    });
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    tell(`importguard: ${error.message}`);
    return;
  }
  output.appendLine(`Starting the importguard server: ${commandLine(server)} (from ${server.source})`);
  const executable = { command: server.command, args: server.args, options: { cwd: workspaceFolder() } };
  const candidate = new LanguageClient(
    'importguard',
    'importguard',
    { run: executable, debug: executable },
    {
      documentSelector: [{ scheme: 'file', language: 'python' }],
      outputChannel: output,
      traceOutputChannel: output,
    },
  );
  try {
    await candidate.start();
    client = candidate;
  } catch (error) {
    tell(
      `importguard: the server did not start (${commandLine(server)}): ${error && error.message ? error.message : error}. ` +
        'It needs importguard and pygls 2 installed; set importguard.path or importguard.interpreter to where they are.',
    );
    try {
      await candidate.dispose();
    } catch (ignored) {
      // it never ran
    }
  }
}

async function stop() {
  const running = client;
  client = undefined;
  if (running) await running.stop();
}

function tell(message) {
  output.appendLine(message);
  vscode.window.showErrorMessage(message, 'Show Output').then((choice) => {
    if (choice) output.show(true);
  });
}

module.exports = { activate, deactivate };
