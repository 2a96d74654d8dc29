import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NotebookSummary, confidence, parseNotebookSummary } from '../../src/core/summary';
import { cellStatus, formatPercent } from '../../src/core/statusText';
import { fixture } from './helpers';

function parse(value: unknown): NotebookSummary {
  const r = parseNotebookSummary(value);
  if (!r.ok) {
    throw new Error(r.error);
  }
  return r.value;
}

describe('parseNotebookSummary', () => {
  it('reads the --check --format json report of one notebook', () => {
    const s = parse(fixture('titanic-summary.json'));
    assert.equal(s.path, 'examples/titanic_classifier.ipynb');
    assert.equal(s.cells.length, 16);
    assert.deepEqual(
      s.cells.slice(0, 3).map((c) => [c.index, c.stage]),
      [
        [1, 'IMPORT'],
        [3, 'IMPORT'],
        [4, 'EXPLORE'],
      ],
    );
    const explore = s.cells[2];
    assert.ok(explore);
    assert.equal(explore.probabilities?.EXPLORE, 0.93);
    assert.equal(explore.heuristicRule, 'one-line');
    assert.equal(explore.source, 'model');
    const shares = Object.values(s.summary.stageShares).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(shares - 1) < 1e-9);
    assert.ok(s.summary.normalizedEntropy > 0.8);
    assert.deepEqual(s.findings, []);
    assert.equal(s.model?.device, 'cpu');
    assert.equal(s.model?.fallback, false);
  });

  it('reads heuristic labels and findings', () => {
    const s = parse(fixture('regression-summary.json'));
    assert.ok(s.cells.every((c) => c.probabilities === undefined && c.source === 'heuristic'));
    assert.deepEqual(
      s.findings.map((f) => [f.rule, f.severity, f.cell]),
      [
        ['CRL002', 'warning', 14],
        ['CRL004', 'info', 12],
      ],
    );
  });

  it('accepts probabilities as an array in stage order and a bare file entry', () => {
    const s = parse({
      path: 'a.ipynb',
      cells: [
        {
          index: 0,
          stage: 'MODEL',
          probabilities: [0, 0.1, 0.1, 0.7, 0.1],
          lines: 2,
        },
        { index: 2, stage: null, probabilities: null, lines: 0 },
      ],
      summary: {},
      findings: [{ rule: 'CRL005', severity: 'bogus', message: 'm', cell: null }],
    });
    assert.equal(s.cells[0]?.probabilities?.MODEL, 0.7);
    assert.equal(s.cells[1]?.stage, undefined);
    assert.equal(s.findings[0]?.severity, 'info');
    assert.equal(s.findings[0]?.cell, undefined);
    assert.equal(s.summary.entropy, 0);
  });

  it('reports unreadable answers instead of throwing', () => {
    assert.deepEqual(parseNotebookSummary(null), { ok: false, error: 'the summary is not a JSON object' });
    assert.equal(parseNotebookSummary({ files: [] }).ok, false);
    const failed = parseNotebookSummary({ files: [], errors: [{ path: 'x.ipynb', message: 'not JSON' }] });
    assert.deepEqual(failed, { ok: false, error: 'x.ipynb: not JSON' });
    assert.equal(parseNotebookSummary({ files: [{ cells: 'no' }] }).ok, false);
    assert.equal(parseNotebookSummary({ files: [{ cells: [{ index: -1 }] }] }).ok, false);
    assert.equal(parseNotebookSummary({ files: [{ cells: [{ index: 1.5 }] }] }).ok, false);
  });

  it('ignores malformed probabilities', () => {
    const s = parse({ cells: [{ index: 0, stage: 'EXPLORE', probabilities: [0.5, 'x', 0, 0, 0] }] });
    assert.equal(s.cells[0]?.probabilities, undefined);
  });
});

describe('cell status text', () => {
  const titanic = parse(fixture('titanic-summary.json'));
  const regression = parse(fixture('regression-summary.json'));

  it('shows stage and confidence for a model label', () => {
    const cell = titanic.cells.find((c) => c.index === 5);
    assert.ok(cell);
    const status = cellStatus(cell, titanic.findings);
    assert.ok(status);
    assert.equal(status.text, '$(graph) EXPLORE 91%');
    assert.match(status.tooltip, /^coral: EXPLORE 91% \(model\)$/m);
    assert.match(status.tooltip, /IMPORT 2% · WRANGLE 2% · EXPLORE 91% · MODEL 2% · EVALUATE 2%/);
    assert.match(status.tooltip, /heuristic: one-line/);
    assert.equal(status.accessibilityLabel, 'coral stage EXPLORE, confidence 91%');
    assert.equal(confidence(cell), 0.91);
  });

  it('says heuristic when there are no probabilities, and counts the cell findings', () => {
    const cell = regression.cells.find((c) => c.index === 14);
    assert.ok(cell);
    const status = cellStatus(cell, regression.findings);
    assert.equal(status?.text, '$(circuit-board) MODEL (heuristic) $(warning) 1');
    assert.match(status?.tooltip ?? '', /warning CRL002: The notebook fits models/);
    assert.match(status?.tooltip ?? '', /labelled by the heuristics/);
  });

  it('shows nothing for a cell without a stage', () => {
    assert.equal(
      cellStatus({ index: 0, stage: undefined, probabilities: undefined, source: undefined, heuristicRule: undefined, lines: 0 }),
      undefined,
    );
  });

  it('formats percentages', () => {
    assert.equal(formatPercent(0.913), '91%');
    assert.equal(formatPercent(0.995), '100%');
    assert.equal(formatPercent(-1), '0%');
    assert.equal(formatPercent(Number.NaN), '0%');
  });
});
