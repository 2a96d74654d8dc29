/**
 * The cell status bar item under each code cell: stage and confidence from the notebook's
 * latest `coral/notebookSummary`.
 */

import * as vscode from 'vscode';
import { cellStatus } from '../core/statusText';
import { JUPYTER_NOTEBOOK } from '../core/selectors';
import { SummaryStore } from './summaries';

export class StageStatusBarProvider implements vscode.NotebookCellStatusBarItemProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly subscription: vscode.Disposable;

  readonly onDidChangeCellStatusBarItems = this.changed.event;

  constructor(private readonly summaries: SummaryStore) {
    this.subscription = summaries.onDidChange(() => this.changed.fire());
  }

  provideCellStatusBarItems(cell: vscode.NotebookCell): vscode.NotebookCellStatusBarItem[] {
    if (cell.kind !== vscode.NotebookCellKind.Code) {
      return [];
    }
    const entry = this.summaries.get(cell.notebook.uri);
    const summaryCell = entry?.byCellUri.get(cell.document.uri.toString());
    if (entry === undefined || summaryCell === undefined) {
      return [];
    }
    const status = cellStatus(summaryCell, entry.summary.findings);
    if (status === undefined) {
      return [];
    }
    const item = new vscode.NotebookCellStatusBarItem(status.text, vscode.NotebookCellStatusBarAlignment.Left);
    item.tooltip = status.tooltip;
    item.accessibilityInformation = { label: status.accessibilityLabel };
    item.command = { title: 'coral: Show pipeline', command: 'coral.showPipeline', arguments: [cell.notebook.uri] };
    return [item];
  }

  static register(summaries: SummaryStore): vscode.Disposable {
    const provider = new StageStatusBarProvider(summaries);
    return vscode.Disposable.from(
      provider,
      vscode.notebooks.registerNotebookCellStatusBarItemProvider(JUPYTER_NOTEBOOK, provider),
    );
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
