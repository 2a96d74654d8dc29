/**
 * Entry point. Everything VS Code-specific lives under `src/vscode/`; the logic it calls (binary
 * resolution, settings mapping, status text, webview HTML) is in `src/core/` and unit-tested
 * without VS Code.
 */

import * as vscode from 'vscode';
import { JUPYTER_NOTEBOOK } from '../core/selectors';
import { PipelinePanels } from './pipelinePanel';
import { ServerController } from './server';
import { StageStatusBarProvider } from './statusBar';
import { SummaryStore } from './summaries';

let controller: ServerController | undefined;

function targetNotebook(arg: unknown): vscode.NotebookDocument | undefined {
  if (arg instanceof vscode.Uri) {
    return vscode.workspace.notebookDocuments.find((nb) => nb.uri.toString() === arg.toString());
  }
  return vscode.window.activeNotebookEditor?.notebook;
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel('coral', { log: true });
  const summaries = new SummaryStore(log);
  controller = new ServerController(context, log, summaries);
  const server = controller;
  const panels = new PipelinePanels(summaries, () => server.languageClient?.isRunning() ?? false);

  context.subscriptions.push(
    log,
    summaries,
    server,
    panels,
    StageStatusBarProvider.register(summaries),
    vscode.workspace.onDidCloseNotebookDocument((nb) => summaries.forget(nb.uri)),
    // The server publishes (so the summary refreshes) after labelling; this covers a server that
    // has nothing to publish for a freshly opened notebook.
    vscode.workspace.onDidOpenNotebookDocument((nb) => {
      if (nb.notebookType === JUPYTER_NOTEBOOK) {
        summaries.schedule(nb, 1500);
      }
    }),
    vscode.commands.registerCommand('coral.showPipeline', async (arg?: unknown) => {
      const notebook = targetNotebook(arg);
      if (notebook?.notebookType !== JUPYTER_NOTEBOOK) {
        void vscode.window.showInformationMessage('coral: open a Jupyter notebook to see its pipeline.');
        return;
      }
      await panels.show(notebook);
    }),
    vscode.commands.registerCommand('coral.restartServer', async () => {
      await server.restart();
    }),
    vscode.commands.registerCommand('coral.showOutput', () => log.show()),
  );

  await server.start();
}

export async function deactivate(): Promise<void> {
  await controller?.stop();
  controller = undefined;
}
