'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { serverCommand, commandLine, SettingsError } = require('../lib/server-command');

const context = { workspaceFolder: '/work/project', home: '/home/ann', env: { VENV: '/opt/venv' } };

test('nothing set: importguard from PATH', () => {
  assert.deepStrictEqual(serverCommand({ path: '', interpreter: '', args: [] }, context), {
    command: 'importguard',
    args: ['lsp'],
    source: 'PATH',
  });
  assert.deepStrictEqual(serverCommand({}, context).args, ['lsp']);
});

test('an interpreter runs the module', () => {
  assert.deepStrictEqual(serverCommand({ interpreter: '/usr/bin/python3.11', args: ['--debug'] }, context), {
    command: '/usr/bin/python3.11',
    args: ['-m', 'importguard', 'lsp', '--debug'],
    source: 'importguard.interpreter',
  });
});

test('the executable path wins over the interpreter', () => {
  const server = serverCommand({ path: '/opt/bin/importguard', interpreter: '/usr/bin/python3' }, context);
  assert.deepStrictEqual(server, { command: '/opt/bin/importguard', args: ['lsp'], source: 'importguard.path' });
});

test('variables, ~ and relative paths are resolved', () => {
  assert.strictEqual(serverCommand({ interpreter: '${workspaceFolder}/.venv/bin/python' }, context).command,
    '/work/project/.venv/bin/python');
  assert.strictEqual(serverCommand({ interpreter: '.venv/bin/python' }, context).command, '/work/project/.venv/bin/python');
  assert.strictEqual(serverCommand({ path: '~/bin/importguard' }, context).command, '/home/ann/bin/importguard');
  assert.strictEqual(serverCommand({ path: '${env:VENV}/bin/importguard' }, context).command, '/opt/venv/bin/importguard');
  assert.strictEqual(serverCommand({ interpreter: ' python3 ' }, context).command, 'python3'); // a bare name: PATH
  assert.deepStrictEqual(serverCommand({ args: ['--log=${userHome}/ig.log'] }, context).args, ['lsp', '--log=/home/ann/ig.log']);
});

test('bad settings are errors that name the setting', () => {
  assert.throws(() => serverCommand({ args: '--debug' }, context), (error) =>
    error instanceof SettingsError && /importguard\.args must be a list of strings/.test(error.message));
  assert.throws(() => serverCommand({ args: [1] }, context), SettingsError);
  assert.throws(() => serverCommand({ path: 7 }, context), /importguard\.path must be a string/);
  const noFolder = { home: '/home/ann', env: {} };
  assert.throws(() => serverCommand({ interpreter: '.venv/bin/python' }, noFolder), /no workspace folder is open/);
  assert.throws(() => serverCommand({ path: '${workspaceFolder}/x' }, noFolder), /no workspace folder is open/);
});

test('the command line is quoted for a shell', () => {
  assert.strictEqual(commandLine({ command: '/opt/my tools/python', args: ['-m', 'importguard', 'lsp', "it's"] }),
    "'/opt/my tools/python' -m importguard lsp 'it'\\''s'");
});

test("with nothing set, the workspace's .venv (then venv) comes before PATH", () => {
  const existing = new Set(['/work/project/venv/bin/importguard', '/work/project/.venv/bin/importguard']);
  const withVenv = { ...context, isFile: (file) => existing.has(file), platform: 'linux' };
  assert.deepStrictEqual(serverCommand({}, withVenv), {
    command: '/work/project/.venv/bin/importguard',
    args: ['lsp'],
    source: "the workspace's virtual environment",
  });
  existing.delete('/work/project/.venv/bin/importguard');
  assert.strictEqual(serverCommand({}, withVenv).command, '/work/project/venv/bin/importguard');
  const windows = { ...context, platform: 'win32', isFile: (file) => file === '/work/project/.venv/Scripts/importguard.exe' };
  assert.strictEqual(serverCommand({}, windows).command, '/work/project/.venv/Scripts/importguard.exe');
  // A setting still wins, and without a folder nothing is looked for.
  assert.strictEqual(serverCommand({ interpreter: '/usr/bin/python3' }, withVenv).command, '/usr/bin/python3');
  assert.strictEqual(serverCommand({}, { home: '/home/ann', env: {}, isFile: () => true }).command, 'importguard');
});
