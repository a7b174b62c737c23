'use strict';
// The command line that starts `importguard lsp`, from the extension's settings. Plain
// functions without `vscode`, so node's test runner checks them outside the editor.

const path = require('path');

class SettingsError extends Error {}

/**
 * @param {{path?: unknown, interpreter?: unknown, args?: unknown}} settings
 *   importguard.path, importguard.interpreter, importguard.args
 * @param {{workspaceFolder?: string, home: string, env: Record<string, string | undefined>,
 *          isFile?: (path: string) => boolean, platform?: string}} context
 *   isFile: whether a file exists (the workspace's virtual environment is looked for with it)
 * @returns {{command: string, args: string[], source: string}} source: the setting it came from
 */
function serverCommand(settings, context) {
  const extra = extraArgs(settings.args).map((arg) => expand(arg, context));
  const executable = setting(settings.path, 'importguard.path');
  if (executable) {
    return { command: program(executable, context), args: ['lsp', ...extra], source: 'importguard.path' };
  }
  const interpreter = setting(settings.interpreter, 'importguard.interpreter');
  if (interpreter) {
    return {
      command: program(interpreter, context),
      args: ['-m', 'importguard', 'lsp', ...extra],
      source: 'importguard.interpreter',
    };
  }
  const local = workspaceEnvironment(context);
  if (local) return { command: local, args: ['lsp', ...extra], source: 'the workspace\'s virtual environment' };
  return { command: 'importguard', args: ['lsp', ...extra], source: 'PATH' };
}

/** importguard in the workspace folder's `.venv` or `venv`, where a project keeps it
 * (VS Code does not activate that environment for the extension host). */
function workspaceEnvironment(context) {
  if (!context.workspaceFolder || !context.isFile) return undefined;
  const windows = (context.platform || process.platform) === 'win32';
  const candidates = ['.venv', 'venv'].map((name) =>
    windows ? path.join(context.workspaceFolder, name, 'Scripts', 'importguard.exe')
      : path.join(context.workspaceFolder, name, 'bin', 'importguard'));
  return candidates.find((candidate) => context.isFile(candidate));
}

function setting(value, name) {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new SettingsError(`${name} must be a string, not ${JSON.stringify(value)}`);
  return value.trim();
}

function extraArgs(value) {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new SettingsError(`importguard.args must be a list of strings, not ${JSON.stringify(value)}`);
  }
  return value;
}

/** A program setting: variables expanded; a relative path (not a bare name found on
 * PATH) is taken from the workspace folder. */
function program(value, context) {
  const expanded = expand(value, context);
  if (path.isAbsolute(expanded) || !expanded.includes('/') && !expanded.includes(path.sep)) return expanded;
  if (!context.workspaceFolder) {
    throw new SettingsError(`${value} is a relative path, and no workspace folder is open to resolve it from`);
  }
  return path.join(context.workspaceFolder, expanded);
}

/** `${workspaceFolder}`, `${userHome}`, `${env:NAME}` and a leading `~`, as VS Code's own
 * settings expand them. */
function expand(value, context) {
  let text = value;
  if (text === '~' || text.startsWith('~/')) text = context.home + text.slice(1);
  return text.replace(/\$\{(workspaceFolder|userHome|env:([A-Za-z_][A-Za-z0-9_]*))\}/g, (match, name, variable) => {
    if (name === 'userHome') return context.home;
    if (variable !== undefined) return context.env[variable] || '';
    if (!context.workspaceFolder) {
      throw new SettingsError(`${value} uses \${workspaceFolder}, and no workspace folder is open`);
    }
    return context.workspaceFolder;
  });
}

/** The command as one line a user can paste in a POSIX shell (for the output channel). */
function commandLine({ command, args }) {
  const quote = (word) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`);
  return [command, ...args].map(quote).join(' ');
}

module.exports = { serverCommand, commandLine, expand, SettingsError };
