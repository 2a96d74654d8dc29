/**
 * Finding the `coral-lsp` executable, in order:
 *
 * 1. the `coral.server.path` setting,
 * 2. the `CORAL_LSP_PATH` environment variable,
 * 3. the binary bundled in the extension (`server/coral-lsp`, as `npm run package` lays it out),
 * 4. `coral-lsp` on `PATH`.
 *
 * Each candidate that exists is validated by running it with `--version`. An explicit candidate
 * (setting, environment) that does not work is skipped with a warning rather than silently, and
 * when no candidate works the error says what was tried and how to fix it.
 *
 * Pure: the file system and process spawning come in through {@link ResolveHost}.
 */

import * as path from 'node:path';

export const SERVER_NAME = 'coral-lsp';
export const ENV_VAR = 'CORAL_LSP_PATH';
export const SETTING = 'coral.server.path';

export type Source = 'setting' | 'env' | 'bundled' | 'path';

export interface VersionProbe {
  ok: boolean;
  /** `0.1.0` from `coral-lsp 0.1.0`, when `ok`. */
  version?: string;
  /** Why the probe failed, when not `ok`. */
  error?: string;
}

export interface ResolveHost {
  platform: NodeJS.Platform;
  env: Readonly<Record<string, string | undefined>>;
  /** The extension's install folder. */
  extensionPath: string;
  isFile(p: string): Promise<boolean>;
  /** Runs `p --version`. */
  probe(p: string): Promise<VersionProbe>;
}

export interface Attempt {
  source: Source;
  path: string;
  /** Why this candidate was not used. */
  reason: string;
}

export type Resolution =
  | { ok: true; path: string; source: Source; version: string; skipped: Attempt[] }
  | { ok: false; attempts: Attempt[]; message: string };

export function executableName(platform: NodeJS.Platform): string {
  return platform === 'win32' ? `${SERVER_NAME}.exe` : SERVER_NAME;
}

function pathApi(platform: NodeJS.Platform): path.PlatformPath {
  return platform === 'win32' ? path.win32 : path.posix;
}

/** The bundled binary's path inside the extension. */
export function bundledPath(extensionPath: string, platform: NodeJS.Platform): string {
  return pathApi(platform).join(extensionPath, 'server', executableName(platform));
}

/** Every `coral-lsp` candidate on `PATH`, in order (on Windows also each `PATHEXT` variant). */
export function pathCandidates(env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform): string[] {
  const api = pathApi(platform);
  const raw = platform === 'win32' ? (env.Path ?? env.PATH ?? '') : (env.PATH ?? '');
  const dirs = raw.split(api.delimiter).filter((d) => d.trim() !== '');
  const names = platform === 'win32' ? [executableName(platform)] : [SERVER_NAME];
  const out: string[] = [];
  for (const dir of dirs) {
    for (const name of names) {
      const candidate = api.join(dir.replace(/^"(.*)"$/, '$1'), name);
      if (!out.includes(candidate)) {
        out.push(candidate);
      }
    }
  }
  return out;
}

/** Extracts `0.1.0` from `coral-lsp 0.1.0\n`; `undefined` when the text names no version. */
export function parseVersion(stdout: string): string | undefined {
  const match = /(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?)/.exec(stdout);
  return match?.[1];
}

const SOURCE_LABEL: Record<Source, string> = {
  setting: `setting ${SETTING}`,
  env: `environment variable ${ENV_VAR}`,
  bundled: 'binary bundled with the extension',
  path: 'PATH',
};

export function describeSource(source: Source): string {
  return SOURCE_LABEL[source];
}

/** The message shown when nothing works: what was tried, then the fix. */
export function notFoundMessage(attempts: readonly Attempt[], platform: NodeJS.Platform): string {
  const tried =
    attempts.length === 0
      ? 'nothing to try'
      : attempts.map((a) => `${describeSource(a.source)} → ${a.path}: ${a.reason}`).join('; ');
  const exe = executableName(platform);
  return (
    `coral: cannot start the language server: no working ${exe} was found (tried: ${tried}). ` +
    `Fix: build it with \`cargo build --release -p coral-server\` and set "${SETTING}" to ` +
    `<repo>/target/release/${exe} (or set ${ENV_VAR}, or put ${exe} on PATH), ` +
    `or install the platform-specific .vsix that bundles it.`
  );
}

/** Resolves the server binary; see the module comment for the order. */
export async function resolveServer(settingPath: string | undefined, host: ResolveHost): Promise<Resolution> {
  const candidates: { source: Source; path: string; explicit: boolean }[] = [];
  if (settingPath !== undefined && settingPath.trim() !== '') {
    candidates.push({ source: 'setting', path: settingPath.trim(), explicit: true });
  }
  const fromEnv = host.env[ENV_VAR];
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    candidates.push({ source: 'env', path: fromEnv.trim(), explicit: true });
  }
  candidates.push({ source: 'bundled', path: bundledPath(host.extensionPath, host.platform), explicit: false });
  for (const p of pathCandidates(host.env, host.platform)) {
    candidates.push({ source: 'path', path: p, explicit: false });
  }

  const attempts: Attempt[] = [];
  for (const candidate of candidates) {
    if (!(await host.isFile(candidate.path))) {
      // A missing bundled binary or PATH entry is normal; list it once, not once per PATH dir.
      if (candidate.source === 'path') {
        continue;
      }
      attempts.push({ source: candidate.source, path: candidate.path, reason: 'no such file' });
      continue;
    }
    const probe = await host.probe(candidate.path);
    if (probe.ok) {
      const skipped = attempts.filter((a) => a.source === 'setting' || a.source === 'env');
      return { ok: true, path: candidate.path, source: candidate.source, version: probe.version ?? 'unknown', skipped };
    }
    attempts.push({
      source: candidate.source,
      path: candidate.path,
      reason: `\`--version\` failed: ${probe.error ?? 'unknown error'}`,
    });
  }
  if (!attempts.some((a) => a.source === 'path')) {
    attempts.push({ source: 'path', path: executableName(host.platform), reason: 'not found on PATH' });
  }
  return { ok: false, attempts, message: notFoundMessage(attempts, host.platform) };
}

/** The warning for explicit candidates that were skipped in favour of a later one. */
export function skippedWarning(resolution: Resolution): string | undefined {
  if (!resolution.ok || resolution.skipped.length === 0) {
    return undefined;
  }
  const what = resolution.skipped.map((a) => `${describeSource(a.source)} (${a.path}: ${a.reason})`).join(', ');
  return `coral: ignored ${what}; using ${resolution.path} from the ${describeSource(resolution.source)} instead.`;
}
