import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { editorIndex, serverToEditorIndices, syncedCellLanguages } from '../../src/core/cells';

const notebook = [
  { languageId: 'markdown' },
  { languageId: 'python' },
  { languageId: 'raw' },
  { languageId: 'markdown' },
  { languageId: 'python' },
];

describe('server → editor cell indices', () => {
  it('is the identity when the server syncs every cell', () => {
    const languages = syncedCellLanguages([{ notebook: { notebookType: 'jupyter-notebook' } }], 'jupyter-notebook');
    assert.equal(languages, undefined);
    assert.deepEqual(serverToEditorIndices(notebook, languages), [0, 1, 2, 3, 4]);
  });

  it('skips the cells a language filter leaves out', () => {
    const languages = syncedCellLanguages(
      [{ notebook: 'jupyter-notebook', cells: [{ language: 'python' }, { language: 'markdown' }] }],
      'jupyter-notebook',
    );
    assert.deepEqual(languages, ['python', 'markdown']);
    const mapping = serverToEditorIndices(notebook, languages);
    assert.deepEqual(mapping, [0, 1, 3, 4]);
    assert.equal(editorIndex(mapping, 3), 4);
    assert.equal(editorIndex(mapping, 4), undefined);
    assert.equal(editorIndex(mapping, -1), undefined);
  });

  it('takes the first selector entry that matches the notebook type', () => {
    const selector = [
      { notebook: { notebookType: 'interactive' }, cells: [{ language: 'python' }] },
      { notebook: '*', cells: [{ language: '*' }] },
    ];
    assert.deepEqual(syncedCellLanguages(selector, 'jupyter-notebook'), ['*']);
    assert.deepEqual(serverToEditorIndices(notebook, ['*']), [0, 1, 2, 3, 4]);
    assert.deepEqual(syncedCellLanguages([{ notebook: 'other' }], 'jupyter-notebook'), []);
    assert.deepEqual(serverToEditorIndices(notebook, []), []);
  });

  it('treats a missing capability as all cells', () => {
    assert.equal(syncedCellLanguages(undefined, 'jupyter-notebook'), undefined);
  });
});
