import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STAGE_COLORS } from '../../src/core/stages';
import { NotebookSummary, parseNotebookSummary } from '../../src/core/summary';
import {
  escapeHtml,
  parseWebviewMessage,
  renderMessageHtml,
  renderPipelineHtml,
} from '../../src/core/webviewHtml';
import { fixture } from './helpers';

function parse(value: unknown): NotebookSummary {
  const r = parseNotebookSummary(value);
  if (!r.ok) {
    throw new Error(r.error);
  }
  return r.value;
}

const NONCE = 'bm9uY2Utbm9uY2Utbm9uY2U=';
const options = { nonce: NONCE, cspSource: 'vscode-webview://abc', title: 'titanic_classifier.ipynb' };

function blocks(html: string): { cell: number; stage: string }[] {
  const strip = /<div class="strip[^"]*"[^>]*>(.*?)<\/div>/s.exec(html)?.[1] ?? '';
  return [...strip.matchAll(/<button type="button" class="stage-([A-Za-z]+)" data-cell="(\d+)"/g)].map((m) => ({
    stage: m[1] ?? '',
    cell: Number(m[2]),
  }));
}

describe('renderPipelineHtml', () => {
  const titanic = parse(fixture('titanic-summary.json'));
  const html = renderPipelineHtml(titanic, options);

  it('draws one block per code cell, in order, coloured by stage', () => {
    const drawn = blocks(html);
    assert.equal(drawn.length, titanic.cells.length);
    assert.deepEqual(
      drawn.map((b) => b.cell),
      titanic.cells.map((c) => c.index),
    );
    assert.deepEqual(
      drawn.map((b) => b.stage),
      titanic.cells.map((c) => c.stage),
    );
    for (const [stage, colour] of Object.entries(STAGE_COLORS)) {
      assert.ok(html.includes(`.stage-${stage}{background:${colour};}`), stage);
    }
  });

  it('titles each block with stage, confidence and lines', () => {
    assert.match(html, /title="Cell 5: EXPLORE 91% · 1 line"/);
    assert.match(html, /title="Cell 15: MODEL 94% · \d+ lines"/);
  });

  it('names the model in the footer', () => {
    assert.match(html, /<footer>model models\/coral\.onnx · device cpu · featurizer v1<\/footer>/);
  });

  it('shows stage shares and entropy', () => {
    for (const stage of Object.keys(STAGE_COLORS)) {
      assert.match(html, new RegExp(`#share-${stage}\\{width:\\d+\\.\\d%;\\}`));
    }
    assert.ok(html.includes(`${titanic.summary.entropy.toFixed(3)} nats`));
    assert.ok(html.includes(`<dd>${titanic.summary.normalizedEntropy.toFixed(3)}</dd>`));
    assert.match(html, /No findings\./);
  });

  it('runs under a strict CSP: nonce only, no inline style attributes', () => {
    assert.match(html, new RegExp(`script-src 'nonce-${NONCE.replace(/[+/=]/g, '\\$&')}'`));
    assert.ok(!html.includes('unsafe-inline'));
    assert.ok(!/\sstyle="/.test(html));
    assert.equal((html.match(/<script/g) ?? []).length, 1);
    assert.ok(html.includes(`<script nonce="${NONCE}">`));
    assert.ok(html.includes(`<style nonce="${NONCE}">`));
    assert.match(html, /postMessage\(\{ type: 'revealCell', cell: cell \}\)/);
  });

  it('links findings to their cells', () => {
    const regression = parse(fixture('regression-summary.json'));
    const page = renderPipelineHtml(regression, { ...options, title: 'regression_no_eval.ipynb' });
    assert.match(page, /<span class="rule">CRL002<\/span>.*<button type="button" class="link" data-cell="14">cell 14<\/button>/);
    assert.match(page, /class="sev sev-warning">warning/);
    assert.match(page, /MODEL \(heuristic\)/);
    assert.match(page, /\(0 by the model\)/);
    assert.match(page, /<footer>labelled by the heuristics \(no model loaded\) · featurizer v1<\/footer>/);
  });

  it('escapes everything that comes from the notebook or the server', () => {
    const evil = parse({
      model: { path: '<img src=x onerror=alert(1)>', device: 'cpu', fallback: false },
      files: [
        {
          path: 'x',
          cells: [{ index: 0, stage: 'EXPLORE', lines: 1 }],
          summary: {},
          findings: [{ rule: '<b>', severity: 'error', message: '"><script>alert(1)</script>', cell: 0 }],
        },
      ],
      errors: ['<svg onload=alert(1)>'],
    });
    const page = renderPipelineHtml(evil, { ...options, title: '<script>x</script>.ipynb', notice: '<i>' });
    assert.equal((page.match(/<script/g) ?? []).length, 1);
    assert.ok(!page.includes('<img'));
    assert.ok(!page.includes('<svg'));
    assert.ok(!page.includes('<b>'));
    assert.ok(page.includes('&lt;script&gt;x&lt;/script&gt;.ipynb'));
    assert.ok(page.includes('&quot;&gt;&lt;script&gt;'));
  });

  it('marks cells without a stage and handles an empty notebook', () => {
    const s = parse({ cells: [{ index: 0, stage: null, lines: 0 }] });
    const page = renderPipelineHtml(s, options);
    assert.deepEqual(blocks(page), [{ cell: 0, stage: 'none' }]);
    assert.match(page, /no stage<\/li>/);
    assert.match(renderPipelineHtml(parse({ cells: [] }), options), /no code cells/);
  });

  it('keeps every block of a large notebook (dense strip, no labels)', () => {
    const cells = Array.from({ length: 400 }, (_, i) => ({ index: i, stage: 'EXPLORE', lines: 1 }));
    const page = renderPipelineHtml(parse({ cells }), options);
    assert.equal(blocks(page).length, 400);
    assert.match(page, /<div class="strip dense"/);
    assert.match(page, /data-cell="399" title="Cell 399: EXPLORE \(heuristic\) · 1 line" aria-label="[^"]*"><\/button>/);
  });

  it('refuses a nonce that could break the CSP', () => {
    const titanicSummary = titanic;
    assert.throws(() => renderPipelineHtml(titanicSummary, { ...options, nonce: "x' 'unsafe-inline" }));
    assert.throws(() => renderMessageHtml('t', 'm', 'short'));
  });

  it('renders a plain message page', () => {
    const page = renderMessageHtml('a<b>.ipynb', 'coral-lsp is not running', NONCE);
    assert.match(page, /a&lt;b&gt;\.ipynb/);
    assert.match(page, /coral-lsp is not running/);
    assert.ok(!page.includes('<script'));
  });
});

describe('webview messages', () => {
  it('accepts reveal requests for a cell index', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'revealCell', cell: 7 }), { type: 'revealCell', cell: 7 });
  });
  it('rejects anything else', () => {
    for (const bad of [null, 'revealCell', {}, { type: 'revealCell' }, { type: 'revealCell', cell: -1 }, { type: 'revealCell', cell: 1.5 }, { type: 'run', cell: 1 }, { type: 'revealCell', cell: '3' }]) {
      assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad));
    }
  });
  it('escapes HTML', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
