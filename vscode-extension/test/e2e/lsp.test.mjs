// End-to-end: the real coral-lsp binary, driven through vscode-languageserver-protocol with the
// wire traffic the extension makes VS Code send — the extension's own initialization options
// (from package.json defaults through src/core/settings), its workspace/configuration answers,
// the notebook cells the client would sync (filtered by the server's notebookSelector exactly as
// vscode-languageclient does), VS Code-style cell URIs, notebookDocument/didOpen and didChange,
// then inlay hints and the coral/notebookSummary request the status bar and webview read.
//
//   CORAL_LSP_PATH=/path/to/coral-lsp npm run test:e2e
//
// Binary: $CORAL_LSP_PATH, else ../target/debug/coral-lsp, else ../target/release/coral-lsp.
// Needs `npm run compile` (test:e2e runs it) for out/src/**.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import {
  DidChangeConfigurationNotification,
  DidChangeNotebookDocumentNotification,
  DidCloseNotebookDocumentNotification,
  DidOpenNotebookDocumentNotification,
  ExitNotification,
  HoverRequest,
  InitializeRequest,
  InitializedNotification,
  InlayHintRequest,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  createProtocolConnection,
} from 'vscode-languageserver-protocol/node';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const REPO = path.resolve(ROOT, '..');
const require = createRequire(import.meta.url);

function extensionModule(name) {
  const file = path.join(ROOT, 'out', 'src', ...name.split('/')) + '.js';
  if (!fs.existsSync(file)) {
    throw new Error(`${file} is missing: run \`npm run compile\` first (npm run test:e2e does)`);
  }
  return require(file);
}

const { toServerSettings, configurationItem, SETTING_KEYS } = extensionModule('core/settings');
const { parseNotebookSummary, NOTEBOOK_SUMMARY_METHOD } = extensionModule('core/summary');
const { syncedCellLanguages, serverToEditorIndices } = extensionModule('core/cells');
const { cellStatus } = extensionModule('core/statusText');
const { renderPipelineHtml } = extensionModule('core/webviewHtml');
const { probeVersion } = extensionModule('node/host');

const STAGE_HINT = /^(IMPORT|WRANGLE|EXPLORE|MODEL|EVALUATE)( \d\.\d\d)?$/;
const TIMEOUT_MS = Number(process.env.CORAL_E2E_TIMEOUT_MS ?? 30_000);

/** The binary under test, validated the way the extension validates it (`--version`). */
async function findBinary() {
  const candidates = process.env.CORAL_LSP_PATH
    ? [process.env.CORAL_LSP_PATH]
    : [path.join(REPO, 'target', 'debug', 'coral-lsp'), path.join(REPO, 'target', 'release', 'coral-lsp')];
  const found = candidates.find((p) => fs.existsSync(p));
  if (found === undefined) {
    throw new Error(
      `no coral-lsp binary (looked at ${candidates.join(', ')}). Build it with ` +
        '`cargo build -p coral-server` (or --release) from the repository root, or set CORAL_LSP_PATH.',
    );
  }
  const probe = await probeVersion(found);
  if (!probe.ok) {
    throw new Error(`${found} --version failed: ${probe.error}`);
  }
  return { path: found, version: probe.version };
}

/** What VS Code reports for each coral.* setting, from the manifest defaults plus overrides. */
function userSettings(overrides = {}) {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const props = manifest.contributes.configuration.properties;
  const values = Object.fromEntries(SETTING_KEYS.map((k) => [k, props[`coral.${k}`]?.default]));
  Object.assign(values, overrides);
  return toServerSettings((key) => values[key], { workspaceFolder: REPO });
}

/** The client capabilities VS Code's client announces that matter here. */
const CLIENT_CAPABILITIES = {
  general: { positionEncodings: ['utf-16'] },
  workspace: {
    configuration: true,
    didChangeConfiguration: { dynamicRegistration: true },
    inlayHint: { refreshSupport: true },
    diagnostics: { refreshSupport: true },
    workspaceFolders: true,
  },
  textDocument: {
    synchronization: { dynamicRegistration: true, didSave: true },
    hover: { dynamicRegistration: true, contentFormat: ['markdown', 'plaintext'] },
    inlayHint: { dynamicRegistration: true, resolveSupport: { properties: ['tooltip'] } },
    publishDiagnostics: { relatedInformation: true, versionSupport: false, tagSupport: { valueSet: [1, 2] } },
  },
  notebookDocument: { synchronization: { dynamicRegistration: true, executionSummarySupport: true } },
  window: { workDoneProgress: true },
};

function readNotebook(file) {
  const nb = JSON.parse(fs.readFileSync(file, 'utf8'));
  return nb.cells.map((c) => ({
    kind: c.cell_type === 'code' ? 'code' : c.cell_type === 'markdown' ? 'markdown' : 'raw',
    languageId: c.cell_type === 'code' ? 'python' : c.cell_type === 'markdown' ? 'markdown' : 'raw',
    text: Array.isArray(c.source) ? c.source.join('') : c.source,
  }));
}

/** VS Code's cell URI for the cell with handle `handle` of `notebookUri`. */
function cellUri(notebookPath, handle) {
  const fragment = encodeURIComponent(`W${handle}sZmlsZQ==`);
  return `vscode-notebook-cell:${pathToFileURL(notebookPath).pathname}#${fragment}`;
}

/** URIs compare after decoding: a server may re-encode `=` or the hex case of a cell fragment. */
function normUri(uri) {
  try {
    return decodeURIComponent(uri);
  } catch {
    return uri;
  }
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]);
}

async function eventually(what, fn, ms = TIMEOUT_MS) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false) {
        return value;
      }
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not reached within ${ms} ms${last ? ` (last error: ${last.message})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('coral-lsp end to end, as the VS Code extension drives it', () => {
  const notebookPath = path.join(REPO, 'examples', 'titanic_classifier.ipynb');
  const notebookUri = pathToFileURL(notebookPath).href;
  let server;
  let connection;
  let stderr = '';
  let exited;
  let initializeResult;
  let settings = userSettings();
  const configurationRequests = [];
  const diagnostics = new Map();
  const published = [];
  // The editor's cells: the example notebook with a raw cell slipped in at position 2, which the
  // client does not sync (the server selects python and markdown cells): the indices the server
  // reports must be mapped back, as the extension does.
  const editorCells = readNotebook(notebookPath);
  editorCells.splice(2, 0, { kind: 'raw', languageId: 'raw', text: 'raw notes, never labelled' });
  editorCells.forEach((cell, i) => {
    cell.uri = cellUri(notebookPath, i);
    cell.version = 1;
  });
  let synced;
  let mapping;

  before(async () => {
    const binary = await findBinary();
    server = spawn(binary.path, [], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, RUST_BACKTRACE: '1' } });
    server.stderr.on('data', (d) => {
      stderr += d.toString();
    });
    exited = new Promise((resolve) => server.on('exit', (code, signal) => resolve({ code, signal })));
    connection = createProtocolConnection(new StreamMessageReader(server.stdout), new StreamMessageWriter(server.stdin));
    connection.onRequest('workspace/configuration', (params) => {
      configurationRequests.push(params);
      return params.items.map((item) => configurationItem(item.section, settings) ?? null);
    });
    connection.onRequest((method) => {
      // client/registerCapability, window/workDoneProgress/create, workspace/inlayHint/refresh, …
      if (method === 'workspace/configuration') {
        return [];
      }
      return null;
    });
    connection.onNotification(PublishDiagnosticsNotification.type, (params) => {
      diagnostics.set(normUri(params.uri), params.diagnostics);
      published.push(normUri(params.uri));
    });
    connection.onNotification(() => undefined);
    connection.listen();

    const init = connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      clientInfo: { name: 'Visual Studio Code', version: '1.91.0' },
      rootUri: pathToFileURL(REPO).href,
      workspaceFolders: [{ uri: pathToFileURL(REPO).href, name: 'coral' }],
      capabilities: CLIENT_CAPABILITIES,
      initializationOptions: settings,
      trace: 'off',
    });
    const exitedEarly = ({ code, signal }) =>
      new Error(
        `${binary.path} exited (code ${code}, signal ${signal}) instead of answering initialize: ` +
          `it does not speak LSP on stdio (yet?)\n--- stderr ---\n${stderr.slice(-2000) || '(nothing)'}`,
      );
    try {
      initializeResult = await Promise.race([
        withTimeout(init, TIMEOUT_MS, `${binary.path} initialize`),
        exited.then((exit) => Promise.reject(exitedEarly(exit))),
      ]);
    } catch (error) {
      // A write to a process that already exited fails with EPIPE first: report the exit instead.
      const exit = await Promise.race([exited, new Promise((r) => setTimeout(() => r(undefined), 2000))]);
      if (exit !== undefined) {
        throw exitedEarly(exit);
      }
      throw new Error(`${error.message}\n--- stderr ---\n${stderr.slice(-2000) || '(nothing)'}`);
    }
    connection.sendNotification(InitializedNotification.type, {});
  });

  after(async () => {
    if (server === undefined) {
      return;
    }
    if (server.exitCode === null) {
      server.kill('SIGKILL');
    }
    connection?.dispose();
  });

  it('answers initialize with notebook sync, inlay hints and hover', () => {
    const caps = initializeResult.capabilities;
    assert.ok(caps.notebookDocumentSync, 'notebookDocumentSync registered');
    assert.ok(caps.inlayHintProvider, 'inlayHintProvider');
    assert.ok(caps.hoverProvider, 'hoverProvider');
    assert.equal(initializeResult.serverInfo?.name, 'coral-lsp');
    // Which cells the client syncs: the server's notebookSelector, applied like vscode-languageclient.
    const languages = syncedCellLanguages(caps.notebookDocumentSync.notebookSelector, 'jupyter-notebook');
    assert.notDeepEqual(languages, [], 'the selector matches jupyter notebooks');
    mapping = serverToEditorIndices(editorCells, languages);
    synced = mapping.map((i) => editorCells[i]);
    assert.ok(synced.some((c) => c.kind === 'markdown'), 'markdown cells are synced (context for the model)');
  });

  it('labels the notebook after notebookDocument/didOpen and publishes per cell', async () => {
    connection.sendNotification(DidOpenNotebookDocumentNotification.type, {
      notebookDocument: {
        uri: notebookUri,
        notebookType: 'jupyter-notebook',
        version: 0,
        metadata: { custom: { metadata: { kernelspec: { name: 'python3' } } } },
        cells: synced.map((c) => ({ kind: c.kind === 'markdown' ? 1 : 2, document: c.uri })),
      },
      cellTextDocuments: synced.map((c) => ({ uri: c.uri, languageId: c.languageId, version: c.version, text: c.text })),
    });
    // The extension refreshes its summary when the server publishes diagnostics for a cell.
    await eventually('publishDiagnostics for a cell of the notebook', () =>
      published.some((uri) => synced.some((c) => normUri(c.uri) === uri)),
    );
  });

  it('shows a stage inlay hint at the end of a code cell\'s first line', async () => {
    const importCell = editorCells[1];
    const hints = await eventually('an inlay hint on the import cell', async () => {
      const h = await connection.sendRequest(InlayHintRequest.type, {
        textDocument: { uri: importCell.uri },
        range: { start: { line: 0, character: 0 }, end: { line: 1000, character: 0 } },
      });
      return h && h.length > 0 ? h : undefined;
    });
    assert.equal(hints.length, 1);
    const label = typeof hints[0].label === 'string' ? hints[0].label : hints[0].label.map((p) => p.value).join('');
    assert.match(label, STAGE_HINT);
    assert.match(label, /^IMPORT/);
    const firstLine = importCell.text.split('\n')[0];
    assert.deepEqual(hints[0].position, { line: 0, character: firstLine.length });
    for (const cell of editorCells.filter((c) => c.kind === 'code')) {
      const h = await connection.sendRequest(InlayHintRequest.type, {
        textDocument: { uri: cell.uri },
        range: { start: { line: 0, character: 0 }, end: { line: 1000, character: 0 } },
      });
      for (const hint of h ?? []) {
        assert.match(typeof hint.label === 'string' ? hint.label : '', STAGE_HINT);
      }
    }
  });

  it('hovers over a code cell with its stage', async () => {
    const hover = await withTimeout(
      connection.sendRequest(HoverRequest.type, {
        textDocument: { uri: editorCells[1].uri },
        position: { line: 0, character: 3 },
      }),
      TIMEOUT_MS,
      'hover',
    );
    assert.ok(hover, 'a hover on the import cell');
    const contents = hover.contents;
    const text = typeof contents === 'string' ? contents : Array.isArray(contents) ? contents.map((c) => c.value ?? c).join('\n') : contents.value;
    assert.match(text, /IMPORT/);
  });

  it('answers coral/notebookSummary with the --check json shape the extension reads', async () => {
    const response = await withTimeout(
      connection.sendRequest(NOTEBOOK_SUMMARY_METHOD, { uri: notebookUri }),
      TIMEOUT_MS,
      NOTEBOOK_SUMMARY_METHOD,
    );
    assert.equal(response.version, 1);
    const parsed = parseNotebookSummary(response);
    assert.ok(parsed.ok, parsed.error);
    const summary = parsed.value;
    // One entry per code cell; server indices map back to the editor's code cells.
    const codeCells = editorCells.map((c, i) => [c, i]).filter(([c]) => c.kind === 'code').map(([, i]) => i);
    assert.deepEqual(
      summary.cells.map((c) => mapping[c.index]),
      codeCells,
    );
    const first = summary.cells.find((c) => mapping[c.index] === 1);
    assert.equal(first?.stage, 'IMPORT');
    const shares = Object.values(summary.summary.stageShares).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(shares - 1) < 1e-6, `stage shares sum to 1 (${shares})`);
    assert.ok(summary.summary.normalizedEntropy >= 0 && summary.summary.normalizedEntropy <= 1);
    assert.ok(Array.isArray(response.files[0].findings));
    // What the status bar and the webview make of it.
    const status = cellStatus(first, summary.findings);
    assert.match(status.text, /^\$\([a-z-]+\) IMPORT( \d+%| \(heuristic\))/);
    const html = renderPipelineHtml(summary, { nonce: 'ZTJlLW5vbmNlLXRlc3Q=', cspSource: '', title: 'titanic' });
    assert.equal((html.match(/<button type="button" class="stage-/g) ?? []).length, summary.cells.length);
  });

  it('follows notebookDocument/didChange: cell text and structure', async () => {
    // Text: cell `train.head()` becomes an import cell.
    const edited = editorCells.find((c) => c.text === 'train.head()');
    assert.ok(edited, 'the example has a `train.head()` cell');
    const newText = 'from sklearn.linear_model import LinearRegression';
    edited.version += 1;
    connection.sendNotification(DidChangeNotebookDocumentNotification.type, {
      notebookDocument: { uri: notebookUri, version: 1 },
      change: {
        cells: {
          textContent: [
            {
              document: { uri: edited.uri, version: edited.version },
              changes: [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: edited.text.length } }, text: newText }],
            },
          ],
        },
      },
    });
    edited.text = newText;
    await eventually('the edited cell\'s hint turns IMPORT', async () => {
      const h = await connection.sendRequest(InlayHintRequest.type, {
        textDocument: { uri: edited.uri },
        range: { start: { line: 0, character: 0 }, end: { line: 10, character: 0 } },
      });
      return h?.length === 1 && /^IMPORT/.test(h[0].label);
    });

    // Structure: a new code cell at the top of the notebook.
    const inserted = { kind: 'code', languageId: 'python', text: 'import os\nimport sys', version: 1, uri: cellUri(notebookPath, 100) };
    connection.sendNotification(DidChangeNotebookDocumentNotification.type, {
      notebookDocument: { uri: notebookUri, version: 2 },
      change: {
        cells: {
          structure: {
            array: { start: 0, deleteCount: 0, cells: [{ kind: 2, document: inserted.uri }] },
            didOpen: [{ uri: inserted.uri, languageId: 'python', version: 1, text: inserted.text }],
          },
        },
      },
    });
    editorCells.unshift(inserted);
    synced.unshift(inserted);
    mapping = serverToEditorIndices(editorCells, syncedCellLanguages(initializeResult.capabilities.notebookDocumentSync.notebookSelector, 'jupyter-notebook'));

    const parsed = parseNotebookSummary(await connection.sendRequest(NOTEBOOK_SUMMARY_METHOD, { uri: notebookUri }));
    assert.ok(parsed.ok, parsed.error);
    const byEditor = new Map(parsed.value.cells.map((c) => [mapping[c.index], c]));
    assert.equal(byEditor.get(0)?.stage, 'IMPORT', 'the inserted cell is labelled');
    assert.equal(byEditor.get(2)?.stage, 'IMPORT', 'the old first code cell moved down by one');
    assert.equal(byEditor.get(editorCells.indexOf(edited))?.stage, 'IMPORT', 'the edit is kept');
    assert.equal(parsed.value.cells.length, editorCells.filter((c) => c.kind === 'code').length);
  });

  it('applies settings live: inlay hints off and on through didChangeConfiguration', async () => {
    const cell = editorCells[0];
    const hintsFor = () =>
      connection.sendRequest(InlayHintRequest.type, {
        textDocument: { uri: cell.uri },
        range: { start: { line: 0, character: 0 }, end: { line: 10, character: 0 } },
      });
    settings = userSettings({ 'inlayHints.enable': false });
    connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { coral: settings } });
    await eventually('no hints once coral.inlayHints.enable is false', async () => {
      const h = await hintsFor();
      return h === null || h.length === 0;
    });
    settings = userSettings();
    connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { coral: settings } });
    await eventually('hints again once it is true', async () => (await hintsFor())?.length === 1);
  });

  it('closes the notebook, clears its diagnostics and shuts down cleanly', async () => {
    connection.sendNotification(DidCloseNotebookDocumentNotification.type, {
      notebookDocument: { uri: notebookUri },
      cellTextDocuments: synced.map((c) => ({ uri: c.uri })),
    });
    await eventually('diagnostics cleared for every cell', () =>
      synced.every((c) => (diagnostics.get(normUri(c.uri)) ?? []).length === 0),
    );
    await withTimeout(connection.sendRequest(ShutdownRequest.type), TIMEOUT_MS, 'shutdown');
    connection.sendNotification(ExitNotification.type);
    const { code } = await withTimeout(exited, TIMEOUT_MS, 'exit after shutdown');
    assert.equal(code, 0, `exit code 0 after shutdown/exit\n${stderr.slice(-1000)}`);
  });
});
