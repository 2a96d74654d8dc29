/**
 * What the notebook cell status bar shows under a code cell: `$(graph) EXPLORE 91%`, with a
 * tooltip holding all five probabilities, the heuristic that fired and the findings on the cell
 * (`$(warning) 1` after the stage when the cell has findings).
 */

import { STAGES, STAGE_ICONS } from './stages';
import { Finding, SummaryCell, confidence } from './summary';

export interface CellStatus {
  /** Status bar text; may contain `$(codicon)` references. */
  text: string;
  /** Plain-text tooltip: all five probabilities, the heuristic, the cell's findings. */
  tooltip: string;
  /** Accessibility label (no codicons). */
  accessibilityLabel: string;
}

/** `0.913` → `91%`; values outside [0, 1] are clamped. */
export function formatPercent(p: number): string {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(p) ? p : 0));
  return `${Math.round(clamped * 100)}%`;
}

/**
 * The status bar entry for one cell, or `undefined` when there is nothing to show (an empty
 * cell, or a cell no heuristic covers while no model is loaded).
 */
export function cellStatus(cell: SummaryCell, findings: readonly Finding[] = []): CellStatus | undefined {
  if (cell.stage === undefined) {
    return undefined;
  }
  const p = confidence(cell);
  const label = p === undefined ? `${cell.stage} (heuristic)` : `${cell.stage} ${formatPercent(p)}`;
  const own = findings.filter((f) => f.cell === cell.index);
  const warn = own.length > 0 ? ` $(warning) ${own.length}` : '';
  const text = `$(${STAGE_ICONS[cell.stage]}) ${label}${warn}`;

  const lines: string[] = [`coral: ${label}${p === undefined ? '' : ' (model)'}`];
  if (cell.probabilities !== undefined) {
    const probs = cell.probabilities;
    lines.push(STAGES.map((stage) => `${stage} ${formatPercent(probs[stage])}`).join(' · '));
  } else {
    lines.push('labelled by the heuristics (no model probabilities)');
  }
  if (cell.heuristicRule !== undefined) {
    lines.push(`heuristic: ${cell.heuristicRule}`);
  }
  for (const f of own) {
    lines.push(`${f.severity} ${f.rule}: ${f.message}`);
  }
  lines.push('Click for the pipeline view.');
  const accessibilityLabel =
    p === undefined
      ? `coral stage ${cell.stage}, from the heuristics`
      : `coral stage ${cell.stage}, confidence ${formatPercent(p)}`;
  return { text, tooltip: lines.join('\n'), accessibilityLabel };
}
