/**
 * Server cell indices → editor cell indices.
 *
 * The server numbers a notebook's cells by their position in what the client synced. The client
 * syncs the cells that match the server's `notebookDocumentSync.notebookSelector` (all cells when
 * the selector names no cell languages — what coral-lsp should register, so the markdown before a
 * cell reaches the model and the indices are the editor's). When the selector names languages,
 * cells in other languages (raw cells, say) are not synced and the indices shift: this module
 * undoes that shift.
 */

export interface EditorCell {
  languageId: string;
}

/** A `notebookSelector` entry of the server's `notebookDocumentSync` capability. */
export interface NotebookSelectorEntry {
  notebook?: string | { notebookType?: string; scheme?: string; pattern?: string };
  cells?: { language: string }[];
}

function notebookTypeOf(entry: NotebookSelectorEntry): string | undefined {
  if (entry.notebook === undefined) {
    return undefined;
  }
  return typeof entry.notebook === 'string' ? entry.notebook : entry.notebook.notebookType;
}

/**
 * The cell languages the server syncs for a notebook of `notebookType`: `undefined` for all
 * cells, `[]` when no selector entry matches the notebook (nothing is synced).
 */
export function syncedCellLanguages(
  selector: readonly NotebookSelectorEntry[] | undefined,
  notebookType: string,
): string[] | undefined {
  if (selector === undefined) {
    return undefined;
  }
  for (const entry of selector) {
    const type = notebookTypeOf(entry);
    if (type === undefined || type === '*' || type === notebookType) {
      return entry.cells?.map((c) => c.language);
    }
  }
  return [];
}

/**
 * For each synced cell, in order, its index in the editor's notebook. `languages` as returned by
 * {@link syncedCellLanguages}.
 */
export function serverToEditorIndices(cells: readonly EditorCell[], languages: readonly string[] | undefined): number[] {
  const out: number[] = [];
  cells.forEach((cell, i) => {
    if (languages === undefined || languages.includes('*') || languages.includes(cell.languageId)) {
      out.push(i);
    }
  });
  return out;
}

/** The editor index of the server's cell `serverIndex`, or `undefined` when out of range. */
export function editorIndex(mapping: readonly number[], serverIndex: number): number | undefined {
  return Number.isInteger(serverIndex) && serverIndex >= 0 ? mapping[serverIndex] : undefined;
}
