/**
 * The five stages of data analysis, in the model's output order (DESIGN §3, §5).
 * Pure: no `vscode` import anywhere under `src/core/`.
 */

export const STAGES = ['IMPORT', 'WRANGLE', 'EXPLORE', 'MODEL', 'EVALUATE'] as const;

export type Stage = (typeof STAGES)[number];

export function isStage(value: unknown): value is Stage {
  return typeof value === 'string' && (STAGES as readonly string[]).includes(value);
}

/** Normalises user input (`explore`, ` Model `) to a stage, or `undefined`. */
export function parseStage(value: unknown): Stage | undefined {
  if (typeof value !== 'string') {
    return undefined;
  }
  const upper = value.trim().toUpperCase();
  return isStage(upper) ? upper : undefined;
}

/**
 * One colour per stage, readable on light and dark themes (the webview strip, the legend).
 * Chosen from a colour-blind-safe palette (Okabe–Ito).
 */
export const STAGE_COLORS: Readonly<Record<Stage, string>> = {
  IMPORT: '#0072B2',
  WRANGLE: '#E69F00',
  EXPLORE: '#009E73',
  MODEL: '#CC79A7',
  EVALUATE: '#D55E00',
};

/** Colour of a code cell that has no stage (empty, or no heuristic fired). */
export const NO_STAGE_COLOR = '#8a8a8a';

/** Codicon shown before the stage in a cell's status bar item. */
export const STAGE_ICONS: Readonly<Record<Stage, string>> = {
  IMPORT: 'package',
  WRANGLE: 'tools',
  EXPLORE: 'graph',
  MODEL: 'circuit-board',
  EVALUATE: 'checklist',
};
