/**
 * Activation smoke test: loads the real extension entry point against a stub `vscode` module
 * (VS Code itself cannot run here) and checks the wiring a user meets first — the commands the
 * manifest contributes are registered, the cell status bar provider is registered for Jupyter
 * notebooks, and with no usable coral-lsp the user gets the error with the fix instead of a crash.
 */

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import Module from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT } from './helpers';

interface Shown {
  kind: 'error' | 'warning' | 'info';
  text: string;
  items: string[];
}

const commands = new Map<string, (...args: unknown[]) => unknown>();
const statusProviders: { notebookType: string; provider: unknown }[] = [];
const shown: Shown[] = [];
const statusItems: { text: string; tooltip: unknown; show(): void; dispose(): void }[] = [];
const config: Record<string, unknown> = {};
const logLines: string[] = [];

class EventEmitter<T> {
  private listeners: ((e: T) => void)[] = [];
  readonly event = (listener: (e: T) => void) => {
    this.listeners.push(listener);
    return { dispose: () => undefined };
  };
  fire(e: T): void {
    this.listeners.forEach((l) => l(e));
  }
  dispose(): void {
    this.listeners = [];
  }
}

const disposable = { dispose: () => undefined };
const log = (level: string) => (msg: string) => logLines.push(`${level} ${msg}`);

const vscodeStub = {
  EventEmitter,
  Disposable: { from: () => disposable },
  StatusBarAlignment: { Left: 1, Right: 2 },
  ThemeColor: class {
    constructor(readonly id: string) {}
  },
  NotebookCellKind: { Markup: 1, Code: 2 },
  NotebookCellStatusBarAlignment: { Left: 1, Right: 2 },
  Uri: class {
    constructor(readonly fsPath: string) {}
    static joinPath(base: { fsPath: string }, ...parts: string[]) {
      return { fsPath: path.join(base.fsPath, ...parts) };
    }
  },
  window: {
    createOutputChannel: () => ({
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      debug: log('debug'),
      trace: log('trace'),
      appendLine: log('line'),
      show: () => undefined,
      dispose: () => undefined,
    }),
    createStatusBarItem: () => {
      const item = { text: '', tooltip: undefined as unknown, show: () => undefined, dispose: () => undefined };
      statusItems.push(item);
      return item;
    },
    showErrorMessage: (text: string, ...items: string[]) => {
      shown.push({ kind: 'error', text, items });
      return Promise.resolve(undefined);
    },
    showWarningMessage: (text: string, ...items: string[]) => {
      shown.push({ kind: 'warning', text, items });
      return Promise.resolve(undefined);
    },
    showInformationMessage: (text: string, ...items: string[]) => {
      shown.push({ kind: 'info', text, items });
      return Promise.resolve(undefined);
    },
    activeNotebookEditor: undefined,
    visibleNotebookEditors: [],
  },
  workspace: {
    getConfiguration: () => ({ get: (key: string) => config[key] }),
    onDidChangeConfiguration: () => disposable,
    onDidCloseNotebookDocument: () => disposable,
    onDidOpenNotebookDocument: () => disposable,
    notebookDocuments: [],
    workspaceFolders: undefined,
  },
  commands: {
    registerCommand: (id: string, fn: (...args: unknown[]) => unknown) => {
      commands.set(id, fn);
      return disposable;
    },
    executeCommand: () => Promise.resolve(undefined),
  },
  notebooks: {
    registerNotebookCellStatusBarItemProvider: (notebookType: string, provider: unknown) => {
      statusProviders.push({ notebookType, provider });
      return disposable;
    },
  },
};

/** Anything the stub does not define is a bare class: vscode-languageclient extends several at load. */
const stubMembers: Record<string | symbol, unknown> = vscodeStub;
const vscodeModule = new Proxy(stubMembers, {
  get: (target, key): unknown => (key in target ? target[key] : class {}),
});

type Loader = (request: string, parent: unknown, isMain: boolean) => unknown;
const moduleWithLoad = Module as unknown as { _load: Loader };

describe('activate() with a stub vscode', () => {
  const originalLoad = moduleWithLoad._load;
  const savedEnv = { PATH: process.env.PATH, CORAL_LSP_PATH: process.env.CORAL_LSP_PATH };
  const emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'coral-empty-path-'));
  let extension: { activate(ctx: unknown): Promise<void>; deactivate(): Promise<void> };
  const context = {
    subscriptions: [] as { dispose(): void }[],
    extensionPath: emptyDir,
    extensionUri: { fsPath: emptyDir },
  };

  before(async () => {
    moduleWithLoad._load = function (request, parent, isMain) {
      return request === 'vscode' ? vscodeModule : originalLoad.call(this, request, parent, isMain);
    };
    process.env.PATH = emptyDir;
    delete process.env.CORAL_LSP_PATH;
    config['server.path'] = path.join(emptyDir, 'no-such-coral-lsp');
    extension = (await import(path.join(ROOT, 'out', 'src', 'vscode', 'extension.js'))) as typeof extension;
    await extension.activate(context);
  });

  after(async () => {
    await extension.deactivate();
    moduleWithLoad._load = originalLoad;
    process.env.PATH = savedEnv.PATH;
    if (savedEnv.CORAL_LSP_PATH !== undefined) {
      process.env.CORAL_LSP_PATH = savedEnv.CORAL_LSP_PATH;
    }
  });

  it('registers every command the manifest contributes', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      contributes: { commands: { command: string; title: string; category: string }[] };
    };
    const contributed = manifest.contributes.commands.map((c) => c.command).sort();
    assert.deepEqual([...commands.keys()].sort(), contributed);
    const titles = manifest.contributes.commands.map((c) => `${c.category}: ${c.title}`);
    assert.ok(titles.includes('coral: Show pipeline'));
    assert.ok(titles.includes('coral: Restart server'));
  });

  it('registers the cell status bar provider for Jupyter notebooks', () => {
    assert.deepEqual(
      statusProviders.map((p) => p.notebookType),
      ['jupyter-notebook'],
    );
  });

  it('explains how to fix a missing server instead of failing silently', () => {
    const error = shown.find((m) => m.kind === 'error');
    assert.ok(error, 'an error message is shown');
    assert.match(error.text, /cannot start the language server/);
    assert.match(error.text, /no-such-coral-lsp: no such file/);
    assert.match(error.text, /cargo build --release -p coral-server/);
    assert.deepEqual(error.items, ['Open Settings', 'Show Output']);
    assert.ok(statusItems.some((s) => s.text === '$(error) coral'));
    assert.ok(logLines.some((l) => l.startsWith('error coral: cannot start')));
  });

  it('asks for a notebook when "Show pipeline" runs without one', async () => {
    await commands.get('coral.showPipeline')?.();
    assert.ok(shown.some((m) => m.kind === 'info' && m.text.includes('open a Jupyter notebook')));
  });

  it('restarts (and re-resolves) on "Restart server"', async () => {
    const before = shown.filter((m) => m.kind === 'error').length;
    await commands.get('coral.restartServer')?.();
    assert.equal(shown.filter((m) => m.kind === 'error').length, before + 1);
  });
});
