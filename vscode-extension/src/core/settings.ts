/**
 * Settings: what the user writes under `coral.*` in VS Code, and what the server receives — as
 * `initializationOptions`, as the answer to `workspace/configuration` (section `coral`) and in
 * `workspace/didChangeConfiguration` (`{ settings: { coral: … } }`).
 *
 * The server's keys are flat camelCase (server/src/lsp/settings.rs): `coral.model.path` →
 * `modelPath`, `coral.inlayHints.enable` → `inlayHints`, `coral.log.level` → `logLevel`, … The
 * client-only keys (`server.path`, `trace.server`) are not sent. Every value is checked and
 * defaulted here, so the server never sees a wrong type.
 */

import * as path from 'node:path';
import { Stage, parseStage } from './stages';

export const SECTION = 'coral';

export const DEVICES = ['auto', 'cpu', 'cuda'] as const;
export type Device = (typeof DEVICES)[number];

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULTS = {
  device: 'auto' as Device,
  debounceMs: 150,
  minEntropy: 0.35,
  logLevel: 'info' as LogLevel,
};

/** Upper bound of `coral.debounceMs`. */
export const MAX_DEBOUNCE_MS = 10_000;

/** Every `coral.*` setting the extension contributes (package.json `contributes.configuration`). */
export const SETTING_KEYS = [
  'server.path',
  'model.path',
  'device',
  'debounceMs',
  'minEntropy',
  'requireStages',
  'inlayHints.enable',
  'stageDiagnostics.enable',
  'log.level',
  'trace.server',
] as const;
export type SettingKey = (typeof SETTING_KEYS)[number];

/** Settings whose change needs a new server process (the others apply live). */
export const RESTART_KEYS: readonly SettingKey[] = ['server.path'];

/** What the server receives. */
export interface ServerSettings {
  /** A model directory (`coral.onnx` + `vocab.json`) or the `.onnx` file; `null`: the server's search. */
  modelPath: string | null;
  device: Device;
  debounceMs: number;
  minEntropy: number;
  requireStages: Stage[];
  inlayHints: boolean;
  stageDiagnostics: boolean;
  logLevel: LogLevel;
}

/** Which user setting each server key comes from (documentation and tests). */
export const SERVER_KEY_SOURCES: Readonly<Record<keyof ServerSettings, SettingKey>> = {
  modelPath: 'model.path',
  device: 'device',
  debounceMs: 'debounceMs',
  minEntropy: 'minEntropy',
  requireStages: 'requireStages',
  inlayHints: 'inlayHints.enable',
  stageDiagnostics: 'stageDiagnostics.enable',
  logLevel: 'log.level',
};

/** Where relative paths and `${workspaceFolder}` point, and the home directory for `~`. */
export interface PathContext {
  workspaceFolder?: string | undefined;
  home?: string | undefined;
  env?: Readonly<Record<string, string | undefined>>;
}

/** Reads one setting (`config.get(key)` in VS Code). */
export type SettingReader = (key: SettingKey) => unknown;

/**
 * Expands `~`, `${workspaceFolder}`, `${userHome}` and `${env:NAME}` and resolves a relative path
 * against the workspace folder. Empty or blank → `undefined`.
 */
export function expandPath(value: unknown, ctx: PathContext): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') {
    return undefined;
  }
  let p = value.trim();
  p = p.replace(/\$\{workspaceFolder\}/g, ctx.workspaceFolder ?? '');
  p = p.replace(/\$\{userHome\}/g, ctx.home ?? '');
  p = p.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => ctx.env?.[name] ?? '');
  if (ctx.home !== undefined && (p === '~' || p.startsWith('~/') || p.startsWith('~\\'))) {
    p = ctx.home + p.slice(1);
  }
  if (!path.isAbsolute(p) && !path.win32.isAbsolute(p) && ctx.workspaceFolder !== undefined) {
    p = path.join(ctx.workspaceFolder, p);
  }
  return p;
}

function bool(value: unknown, fallback: boolean): boolean {
  return typeof value === 'boolean' ? value : fallback;
}

function clampNumber(value: unknown, min: number, max: number, fallback: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return fallback;
  }
  return Math.min(max, Math.max(min, value));
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
  if (typeof value !== 'string') {
    return fallback;
  }
  const lower = value.trim().toLowerCase();
  return (allowed as readonly string[]).includes(lower) ? (lower as T) : fallback;
}

/** Distinct valid stages in stage order as written; invalid entries are dropped. */
function stages(value: unknown): Stage[] {
  if (!Array.isArray(value)) {
    return [];
  }
  const out: Stage[] = [];
  for (const item of value) {
    const stage = parseStage(item);
    if (stage !== undefined && !out.includes(stage)) {
      out.push(stage);
    }
  }
  return out;
}

/** The server's settings from the user's. */
export function toServerSettings(read: SettingReader, ctx: PathContext = {}): ServerSettings {
  return {
    modelPath: expandPath(read('model.path'), ctx) ?? null,
    device: oneOf(read('device'), DEVICES, DEFAULTS.device),
    debounceMs: Math.round(clampNumber(read('debounceMs'), 0, MAX_DEBOUNCE_MS, DEFAULTS.debounceMs)),
    minEntropy: clampNumber(read('minEntropy'), 0, 1, DEFAULTS.minEntropy),
    requireStages: stages(read('requireStages')),
    inlayHints: bool(read('inlayHints.enable'), true),
    stageDiagnostics: bool(read('stageDiagnostics.enable'), false),
    logLevel: oneOf(read('log.level'), LOG_LEVELS, DEFAULTS.logLevel),
  };
}

/** A reader over a plain nested object such as `{ model: { path: "…" }, device: "cpu" }`. */
export function objectReader(settings: unknown): SettingReader {
  return (key) => lookup(settings, key);
}

function lookup(settings: unknown, key: string): unknown {
  let node: unknown = settings;
  for (const part of key.split('.')) {
    if (typeof node !== 'object' || node === null) {
      return undefined;
    }
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/**
 * The answer to one `workspace/configuration` item: our mapped settings for section `coral`
 * (or a sub-section such as `coral.inlayHints`), `undefined` for other sections so the default
 * handler answers them.
 */
export function configurationItem(section: string | undefined, settings: ServerSettings): unknown {
  if (section === undefined || section === '') {
    return { [SECTION]: settings };
  }
  if (section === SECTION) {
    return settings;
  }
  if (!section.startsWith(`${SECTION}.`)) {
    return undefined;
  }
  return lookup(settings, section.slice(SECTION.length + 1)) ?? null;
}

/** Whether a configuration change needs a server restart; `affects` is VS Code's `affectsConfiguration`. */
export function needsRestart(affects: (section: string) => boolean): boolean {
  return RESTART_KEYS.some((key) => affects(`${SECTION}.${key}`));
}
