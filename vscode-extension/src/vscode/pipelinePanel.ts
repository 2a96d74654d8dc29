/**
 * "coral: Show pipeline": one webview per notebook, re-rendered whenever the notebook's summary
 * changes; a click on a block reveals (and selects) that cell in the notebook editor.
 */

import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseWebviewMessage, renderMessageHtml, renderPipelineHtml } from '../core/webviewHtml';
import { SummaryStore } from './summaries';

const VIEW_TYPE = 'coral.pipeline';

function nonce(): string {
  return randomBytes(18).toString('base64');
}

export class PipelinePanels implements vscode.Disposable {
  private readonly panels = new Map<string, vscode.WebviewPanel>();
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly summaries: SummaryStore,
    private readonly serverRunning: () => boolean,
  ) {
    this.subscription = summaries.onDidChange((uri) => {
      const panel = this.panels.get(uri.toString());
      if (panel !== undefined) {
        this.render(panel, uri);
      }
    });
  }

  /** Opens (or reveals) the pipeline view of `notebook`, asking the server for a fresh summary. */
  async show(notebook: vscode.NotebookDocument): Promise<void> {
    const key = notebook.uri.toString();
    let panel = this.panels.get(key);
    if (panel === undefined) {
      panel = vscode.window.createWebviewPanel(
        VIEW_TYPE,
        `Pipeline: ${path.basename(notebook.uri.path)}`,
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
        { enableScripts: true, localResourceRoots: [], retainContextWhenHidden: false },
      );
      this.panels.set(key, panel);
      panel.onDidDispose(() => this.panels.delete(key));
      panel.webview.onDidReceiveMessage((message: unknown) => {
        const reveal = parseWebviewMessage(message);
        if (reveal !== undefined) {
          void this.reveal(notebook, reveal.cell);
        }
      });
    } else {
      panel.reveal(vscode.ViewColumn.Beside, true);
    }
    this.render(panel, notebook.uri);
    await this.summaries.refresh(notebook);
  }

  private render(panel: vscode.WebviewPanel, uri: vscode.Uri): void {
    const title = path.basename(uri.path);
    const entry = this.summaries.get(uri);
    const error = this.summaries.error(uri);
    if (entry === undefined) {
      const message = !this.serverRunning()
        ? 'coral-lsp is not running. Run "coral: Restart server", or see the coral output for why it did not start.'
        : error !== undefined
          ? `coral-lsp could not summarise this notebook: ${error}`
          : 'Waiting for coral-lsp to label the notebook…';
      panel.webview.html = renderMessageHtml(title, message, nonce());
      return;
    }
    panel.webview.html = renderPipelineHtml(entry.summary, {
      nonce: nonce(),
      cspSource: panel.webview.cspSource,
      title,
      notice: error === undefined ? undefined : `Showing the last good summary; the latest request failed: ${error}`,
    });
  }

  /** Reveals the cell the server numbers `serverIndex` (it may have moved since). */
  private async reveal(notebook: vscode.NotebookDocument, serverIndex: number): Promise<void> {
    const entry = this.summaries.get(notebook.uri);
    const cellUri = entry?.cellUris.get(serverIndex);
    const index = notebook.getCells().findIndex((c) => c.document.uri.toString() === cellUri);
    if (index < 0) {
      void vscode.window.showInformationMessage(`coral: cell ${serverIndex} is no longer in the notebook.`);
      return;
    }
    const range = new vscode.NotebookRange(index, index + 1);
    const visible = vscode.window.visibleNotebookEditors.find((e) => e.notebook.uri.toString() === notebook.uri.toString());
    const editor = await vscode.window.showNotebookDocument(notebook, {
      viewColumn: visible?.viewColumn,
      selections: [range],
      preserveFocus: false,
    });
    editor.revealRange(range, vscode.NotebookEditorRevealType.InCenterIfOutsideViewport);
  }

  dispose(): void {
    this.subscription.dispose();
    for (const panel of this.panels.values()) {
      panel.dispose();
    }
    this.panels.clear();
  }
}
