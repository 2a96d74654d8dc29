/**
 * The `coral/notebookSummary` response: the `coral-lsp --check --format json` report for one
 * notebook. Request params: `{ uri: <notebook uri> }` (see README, "Protocol").
 *
 * The parser is lenient about what it does not need (unknown fields are ignored, probabilities may
 * be an array in stage order or an object keyed by stage) and strict about what it does: a
 * response it cannot read is reported as an error string, never thrown.
 */

import { STAGES, Stage, isStage } from './stages';

export const NOTEBOOK_SUMMARY_METHOD = 'coral/notebookSummary';

export interface NotebookSummaryParams {
  uri: string;
}

export interface SummaryCell {
  /** Position in the notebook's cell list as the server received it, markdown included. */
  index: number;
  /** `undefined` for an empty cell or a cell no heuristic covers (heuristics-only mode). */
  stage: Stage | undefined;
  /** The five probabilities in stage order; `undefined` unless the model labelled the cell. */
  probabilities: Readonly<Record<Stage, number>> | undefined;
  /** `model` or `heuristic` (whatever the server says). */
  source: string | undefined;
  heuristicRule: string | undefined;
  lines: number;
}

export type Severity = 'info' | 'warning' | 'error';

export interface Finding {
  rule: string;
  severity: Severity;
  message: string;
  cell: number | undefined;
}

export interface PipelineStats {
  stageShares: Readonly<Record<Stage, number>>;
  entropy: number;
  normalizedEntropy: number;
  transitionRate: number;
}

export interface NotebookSummary {
  path: string;
  cells: SummaryCell[];
  summary: PipelineStats;
  findings: Finding[];
  /** `model` section of the report, kept as the server sent it (shown in the webview footer). */
  model: Record<string, unknown> | undefined;
  /** Top-level `errors` of the report, as strings. */
  errors: string[];
}

export type ParseResult = { ok: true; value: NotebookSummary } | { ok: false; error: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function finite(value: unknown, fallback = 0): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function parseProbabilities(value: unknown): Record<Stage, number> | undefined {
  if (Array.isArray(value)) {
    if (value.length < STAGES.length || !value.slice(0, STAGES.length).every((p) => typeof p === 'number')) {
      return undefined;
    }
    return Object.fromEntries(STAGES.map((s, i) => [s, finite(value[i])])) as Record<Stage, number>;
  }
  if (isRecord(value)) {
    if (!STAGES.every((s) => typeof value[s] === 'number')) {
      return undefined;
    }
    return Object.fromEntries(STAGES.map((s) => [s, finite(value[s])])) as Record<Stage, number>;
  }
  return undefined;
}

function parseShares(value: unknown): Record<Stage, number> {
  const record = isRecord(value) ? value : {};
  return Object.fromEntries(STAGES.map((s) => [s, finite(record[s])])) as Record<Stage, number>;
}

function parseSeverity(value: unknown): Severity {
  return value === 'error' || value === 'warning' ? value : 'info';
}

function parseCell(value: unknown, position: number): SummaryCell | string {
  if (!isRecord(value)) {
    return `cells[${position}] is not an object`;
  }
  if (typeof value.index !== 'number' || !Number.isInteger(value.index) || value.index < 0) {
    return `cells[${position}].index is not a cell index`;
  }
  return {
    index: value.index,
    stage: isStage(value.stage) ? value.stage : undefined,
    probabilities: parseProbabilities(value.probabilities),
    source: optionalString(value.source),
    heuristicRule: optionalString(value.heuristic_rule),
    lines: Math.max(0, Math.trunc(finite(value.lines))),
  };
}

function parseFinding(value: unknown): Finding | undefined {
  if (!isRecord(value) || typeof value.message !== 'string') {
    return undefined;
  }
  const cell = value.cell;
  return {
    rule: typeof value.rule === 'string' ? value.rule : '',
    severity: parseSeverity(value.severity),
    message: value.message,
    cell: typeof cell === 'number' && Number.isInteger(cell) && cell >= 0 ? cell : undefined,
  };
}

function errorText(value: unknown): string {
  if (typeof value === 'string') {
    return value;
  }
  if (isRecord(value)) {
    const parts = [value.path, value.message ?? value.error].filter((p) => typeof p === 'string');
    if (parts.length > 0) {
      return parts.join(': ');
    }
  }
  return JSON.stringify(value);
}

/** Reads a `coral/notebookSummary` response (the whole report, or one entry of its `files`). */
export function parseNotebookSummary(response: unknown): ParseResult {
  if (!isRecord(response)) {
    return { ok: false, error: 'the summary is not a JSON object' };
  }
  const errors = Array.isArray(response.errors) ? response.errors.map(errorText) : [];
  let file: unknown = response;
  if (Array.isArray(response.files)) {
    if (response.files.length === 0) {
      return {
        ok: false,
        error: errors.length > 0 ? errors.join('; ') : 'the summary lists no file',
      };
    }
    file = response.files[0];
  }
  if (!isRecord(file)) {
    return { ok: false, error: 'files[0] is not an object' };
  }
  if (!Array.isArray(file.cells)) {
    return { ok: false, error: 'the summary has no `cells` array' };
  }
  const cells: SummaryCell[] = [];
  for (const [position, raw] of file.cells.entries()) {
    const cell = parseCell(raw, position);
    if (typeof cell === 'string') {
      return { ok: false, error: cell };
    }
    cells.push(cell);
  }
  const stats = isRecord(file.summary) ? file.summary : {};
  const findings = Array.isArray(file.findings)
    ? file.findings.map(parseFinding).filter((f): f is Finding => f !== undefined)
    : [];
  return {
    ok: true,
    value: {
      path: typeof file.path === 'string' ? file.path : '',
      cells,
      summary: {
        stageShares: parseShares(stats.stage_shares),
        entropy: finite(stats.entropy),
        normalizedEntropy: finite(stats.normalized_entropy),
        transitionRate: finite(stats.transition_rate),
      },
      findings,
      model: isRecord(response.model) ? response.model : undefined,
      errors,
    },
  };
}

/** The probability of the predicted stage, if the model gave probabilities. */
export function confidence(cell: SummaryCell): number | undefined {
  if (cell.stage === undefined || cell.probabilities === undefined) {
    return undefined;
  }
  return cell.probabilities[cell.stage];
}
