'use strict';
// extension.js against stand-ins for `vscode` and `vscode-languageclient/node`: what it
// registers, the server it starts, and when it restarts it.
const test = require('node:test');
const assert = require('node:assert');
const Module = require('module');
const path = require('path');

const manifest = require('../package.json');

function fakes(initialSettings) {
  const state = {
    settings: { ...initialSettings },
    commands: {},
    configurationListeners: [],
    errors: [],
    clients: [],
    failStart: false,
  };
  const output = { name: 'importguard', lines: [], appendLine: (line) => output.lines.push(line), show() {}, dispose() {} };
  state.output = output;
  const vscode = {
    window: {
      createOutputChannel: (name) => { output.name = name; return output; },
      showErrorMessage: (message) => { state.errors.push(message); return Promise.resolve(undefined); },
    },
    commands: {
      registerCommand: (name, callback) => { state.commands[name] = callback; return { dispose() {} }; },
    },
    workspace: {
      workspaceFolders: [{ uri: { fsPath: '/work/project' } }],
      getConfiguration: (section) => ({ get: (key) => state.settings[`${section}.${key}`] }),
      onDidChangeConfiguration: (listener) => { state.configurationListeners.push(listener); return { dispose() {} }; },
    },
  };
  class LanguageClient {
    constructor(id, name, serverOptions, clientOptions) {
      Object.assign(this, { id, name, serverOptions, clientOptions, events: [] });
      state.clients.push(this);
    }
    async start() {
      this.events.push('start');
      if (state.failStart) throw new Error('spawn importguard ENOENT');
    }
    async stop() { this.events.push('stop'); }
    async dispose() { this.events.push('dispose'); }
  }
  return { state, modules: { vscode, 'vscode-languageclient/node': { LanguageClient } } };
}

function loadExtension(modules) {
  const original = Module._load;
  Module._load = function load(request, parent, isMain) {
    if (Object.prototype.hasOwnProperty.call(modules, request)) return modules[request];
    return original.call(this, request, parent, isMain);
  };
  try {
    const file = require.resolve(path.join(__dirname, '..', 'extension.js'));
    delete require.cache[file];
    return require(file);
  } finally {
    Module._load = original;
  }
}

async function activated(settings) {
  const { state, modules } = fakes(settings);
  const extension = loadExtension(modules);
  const context = { subscriptions: [] };
  await extension.activate(context);
  return { state, extension, context };
}

test('activation starts the server from the settings, for Python files', async () => {
  const { state } = await activated({ 'importguard.interpreter': '/opt/venv/bin/python', 'importguard.args': ['--debug'] });
  assert.strictEqual(state.clients.length, 1);
  const [client] = state.clients;
  assert.strictEqual(client.id, 'importguard'); // the client reads importguard.trace.server by this id
  assert.deepStrictEqual(client.serverOptions.run, {
    command: '/opt/venv/bin/python',
    args: ['-m', 'importguard', 'lsp', '--debug'],
    options: { cwd: '/work/project' },
  });
  assert.deepStrictEqual(client.clientOptions.documentSelector, [{ scheme: 'file', language: 'python' }]);
  assert.strictEqual(client.clientOptions.outputChannel, state.output);
  assert.strictEqual(state.output.name, 'importguard');
  assert.deepStrictEqual(client.events, ['start']);
  assert.match(state.output.lines[0], /Starting the importguard server: \/opt\/venv\/bin\/python -m importguard lsp --debug/);
});

test('the commands it registers are the ones package.json contributes', async () => {
  const { state } = await activated({});
  const contributed = manifest.contributes.commands.map((command) => command.command).sort();
  assert.deepStrictEqual(Object.keys(state.commands).sort(), contributed);
});

test('the restart command stops the server and starts a new one', async () => {
  const { state } = await activated({});
  await state.commands['importguard.restart']();
  assert.strictEqual(state.clients.length, 2);
  assert.deepStrictEqual(state.clients[0].events, ['start', 'stop']);
  assert.deepStrictEqual(state.clients[1].events, ['start']);
});

test('changing a server setting restarts with the new command; other settings do not', async () => {
  const { state } = await activated({});
  const change = (names) => ({ affectsConfiguration: (name) => names.includes(name) });
  state.configurationListeners.forEach((listener) => listener(change(['editor.fontSize'])));
  assert.strictEqual(state.clients.length, 1);
  state.settings['importguard.path'] = '/opt/bin/importguard';
  state.configurationListeners.forEach((listener) => listener(change(['importguard.path'])));
  await state.commands['importguard.showOutput'](); // let the queued restart run
  await new Promise((resolve) => setImmediate(resolve));
  assert.strictEqual(state.clients.length, 2);
  assert.strictEqual(state.clients[1].serverOptions.run.command, '/opt/bin/importguard');
});

test('a server that does not start is an error message with the command, not a crash', async () => {
  const { state, modules } = fakes({ 'importguard.path': '/nowhere/importguard' });
  state.failStart = true;
  const extension = loadExtension(modules);
  await extension.activate({ subscriptions: [] });
  assert.strictEqual(state.errors.length, 1);
  assert.match(state.errors[0], /the server did not start \(\/nowhere\/importguard lsp\): spawn importguard ENOENT/);
  assert.match(state.errors[0], /importguard\.path or importguard\.interpreter/);
  assert.deepStrictEqual(state.clients[0].events, ['start', 'dispose']);
  await extension.deactivate(); // nothing running: nothing to stop
});

test('bad settings are an error message naming the setting, and no server', async () => {
  const { state } = await activated({ 'importguard.args': '--debug' });
  assert.strictEqual(state.clients.length, 0);
  assert.match(state.errors[0], /importguard\.args must be a list of strings/);
});

test('package.json: Python activation, and every server setting is contributed', () => {
  assert.ok(manifest.activationEvents.includes('onLanguage:python'));
  const properties = Object.keys(manifest.contributes.configuration.properties).sort();
  assert.deepStrictEqual(properties, ['importguard.args', 'importguard.interpreter', 'importguard.path', 'importguard.trace.server']);
  assert.strictEqual(manifest.main, './extension.js');
  assert.match(manifest.engines.vscode, /^\^1\.\d+\.\d+$/);
});
