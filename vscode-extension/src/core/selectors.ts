/**
 * Which documents the client hands to coral-lsp.
 *
 * Python files (`# %%` percent scripts) go through text document sync. Notebook cells are
 * selected through the notebook filter, so the client routes them through notebook sync
 * (`notebookDocument/didOpen|didChange|…`) once the server registers `notebookDocumentSync`, and
 * the per-cell features (inlay hints, hover, diagnostics) apply to Python cell documents.
 * Which cells are synced (markdown too, for the markdown context) is the server's
 * `notebookSelector`, not this list: markdown cells are deliberately absent here, so they are never
 * sent through text document sync.
 */

export const JUPYTER_NOTEBOOK = 'jupyter-notebook';

/** LSP `DocumentSelector` (text filters and notebook cell filters). */
export type DocumentFilter =
  | { scheme: string; language: string }
  | { notebook: { notebookType: string }; language: string };

export const DOCUMENT_SELECTOR: DocumentFilter[] = [
  { scheme: 'file', language: 'python' },
  { scheme: 'untitled', language: 'python' },
  { notebook: { notebookType: JUPYTER_NOTEBOOK }, language: 'python' },
];

/** The scheme of notebook cell documents in VS Code. */
export const CELL_SCHEME = 'vscode-notebook-cell';
