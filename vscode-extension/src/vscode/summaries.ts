/**
 * Per-notebook `coral/notebookSummary` results, refreshed (debounced) whenever the server
 * publishes diagnostics for one of the notebook's cells. Entries are keyed by cell URI, so a
 * status bar item follows its cell when cells move.
 */

import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { NotebookSelectorEntry, serverToEditorIndices, syncedCellLanguages } from '../core/cells';
import { CELL_SCHEME } from '../core/selectors';
import {
  NOTEBOOK_SUMMARY_METHOD,
  NotebookSummary,
  NotebookSummaryParams,
  SummaryCell,
  parseNotebookSummary,
} from '../core/summary';

/** Wait this long after the last publish before asking (the server publishes once per cell). */
const REFRESH_DELAY_MS = 120;
/** LSP `MethodNotFound`. */
const METHOD_NOT_FOUND = -32601;

export interface NotebookEntry {
  summary: NotebookSummary;
  /** Server cell index → the cell's URI in the editor when the summary arrived. */
  cellUris: Map<number, string>;
  byCellUri: Map<string, SummaryCell>;
}

export class SummaryStore implements vscode.Disposable {
  private readonly entries = new Map<string, NotebookEntry>();
  private readonly errors = new Map<string, string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly generation = new Map<string, number>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  private client: LanguageClient | undefined;
  private unsupported = false;

  /** Fires with the notebook URI whose summary changed. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  /** The client to ask (`undefined` while the server is down); clears everything. */
  setClient(client: LanguageClient | undefined): void {
    this.client = client;
    this.unsupported = false;
    const uris = [...this.entries.keys(), ...this.errors.keys()];
    this.entries.clear();
    this.errors.clear();
    for (const timer of this.timers.values()) {
      clearTimeout(timer);
    }
    this.timers.clear();
    for (const uri of new Set(uris)) {
      this.changed.fire(vscode.Uri.parse(uri));
    }
  }

  get(notebook: vscode.Uri): NotebookEntry | undefined {
    return this.entries.get(notebook.toString());
  }

  /** Why the last request for this notebook failed, if it did. */
  error(notebook: vscode.Uri): string | undefined {
    return this.errors.get(notebook.toString());
  }

  forget(notebook: vscode.Uri): void {
    const key = notebook.toString();
    this.entries.delete(key);
    this.errors.delete(key);
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
  }

  /** Called for each `textDocument/publishDiagnostics`: refreshes the cell's notebook. */
  onDiagnostics(uri: vscode.Uri): void {
    if (uri.scheme !== CELL_SCHEME) {
      return;
    }
    const key = uri.toString();
    const owns = (nb: vscode.NotebookDocument) => nb.getCells().some((cell) => cell.document.uri.toString() === key);
    // A VS Code cell URI carries its notebook's path: check that notebook first, then the others.
    const notebooks = vscode.workspace.notebookDocuments;
    const notebook =
      notebooks.find((nb) => nb.uri.path === uri.path && owns(nb)) ?? notebooks.find((nb) => nb.uri.path !== uri.path && owns(nb));
    if (notebook !== undefined) {
      this.schedule(notebook);
    }
  }

  schedule(notebook: vscode.NotebookDocument, delayMs = REFRESH_DELAY_MS): void {
    const key = notebook.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        void this.refresh(notebook);
      }, delayMs),
    );
  }

  /** Asks the server now; stale answers (an older request finishing last) are dropped. */
  async refresh(notebook: vscode.NotebookDocument): Promise<NotebookEntry | undefined> {
    const client = this.client;
    if (client === undefined || !client.isRunning() || this.unsupported) {
      return undefined;
    }
    const key = notebook.uri.toString();
    const generation = (this.generation.get(key) ?? 0) + 1;
    this.generation.set(key, generation);
    const params: NotebookSummaryParams = { uri: client.code2ProtocolConverter.asUri(notebook.uri) };
    let response: unknown;
    try {
      response = await client.sendRequest(NOTEBOOK_SUMMARY_METHOD, params);
    } catch (error) {
      if (this.generation.get(key) !== generation || this.client !== client) {
        return undefined;
      }
      const code = (error as { code?: unknown }).code;
      if (code === METHOD_NOT_FOUND) {
        this.unsupported = true;
        this.log.warn(`${NOTEBOOK_SUMMARY_METHOD} is not supported by this coral-lsp; no cell status or pipeline view`);
      } else {
        this.log.warn(`${NOTEBOOK_SUMMARY_METHOD} ${key}: ${String((error as Error).message ?? error)}`);
      }
      this.errors.set(key, String((error as Error).message ?? error));
      this.changed.fire(notebook.uri);
      return undefined;
    }
    if (this.generation.get(key) !== generation || this.client !== client) {
      return undefined;
    }
    const parsed = parseNotebookSummary(response);
    if (!parsed.ok) {
      this.log.warn(`${NOTEBOOK_SUMMARY_METHOD} ${key}: unreadable answer: ${parsed.error}`);
      this.errors.set(key, parsed.error);
      this.changed.fire(notebook.uri);
      return undefined;
    }
    const selector = client.initializeResult?.capabilities.notebookDocumentSync;
    const entries =
      selector !== undefined && 'notebookSelector' in selector
        ? (selector.notebookSelector as NotebookSelectorEntry[])
        : undefined;
    const cells = notebook.getCells();
    const mapping = serverToEditorIndices(
      cells.map((c) => ({ languageId: c.document.languageId })),
      syncedCellLanguages(entries, notebook.notebookType),
    );
    const cellUris = new Map<number, string>();
    const byCellUri = new Map<string, SummaryCell>();
    for (const cell of parsed.value.cells) {
      const editor = mapping[cell.index];
      const editorCell = editor === undefined ? undefined : cells[editor];
      if (editorCell !== undefined) {
        const uri = editorCell.document.uri.toString();
        cellUris.set(cell.index, uri);
        byCellUri.set(uri, cell);
      }
    }
    for (const finding of parsed.value.findings) {
      const editor = finding.cell === undefined ? undefined : mapping[finding.cell];
      const editorCell = editor === undefined ? undefined : cells[editor];
      if (finding.cell !== undefined && editorCell !== undefined) {
        cellUris.set(finding.cell, editorCell.document.uri.toString());
      }
    }
    const entry: NotebookEntry = { summary: parsed.value, cellUris, byCellUri };
    this.entries.set(key, entry);
    this.errors.delete(key);
    this.changed.fire(notebook.uri);
    return entry;
  }

  dispose(): void {
    for (const timer of this.timers.values()) {
      clearTimeout(timer);
    }
    this.timers.clear();
    this.changed.dispose();
  }
}
