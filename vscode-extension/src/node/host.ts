/**
 * The Node side of binary resolution: file checks and `--version` probes. No `vscode` import, so
 * the unit tests run it against real (fake) executables.
 */

import { execFile } from 'node:child_process';
import { promises as fs, constants as fsConstants } from 'node:fs';
import { ResolveHost, VersionProbe, parseVersion } from '../core/binary';

/** How long `coral-lsp --version` may take. */
export const PROBE_TIMEOUT_MS = 10_000;

export async function isFile(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isFile();
  } catch {
    return false;
  }
}

/**
 * Runs `p --version` and reads the version. A zero exit with any version-like text is success;
 * a non-zero exit, a timeout, or a spawn error (not executable, wrong architecture) is failure.
 */
export function probeVersion(p: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<VersionProbe> {
  return new Promise((resolve) => {
    execFile(p, ['--version'], { timeout: timeoutMs, windowsHide: true }, (error, stdout, stderr) => {
      if (error) {
        const detail = String(stderr).trim().split('\n')[0] ?? '';
        const code = (error as NodeJS.ErrnoException).code;
        const why = error.killed
          ? `timed out after ${timeoutMs} ms`
          : typeof code === 'string'
            ? code
            : `exit code ${String(code ?? 'unknown')}`;
        resolve({ ok: false, error: detail ? `${why} (${detail})` : why });
        return;
      }
      const version = parseVersion(String(stdout));
      if (version === undefined) {
        resolve({ ok: false, error: `printed no version: ${JSON.stringify(String(stdout).slice(0, 80))}` });
        return;
      }
      resolve({ ok: true, version });
    });
  });
}

/**
 * Sets the executable bits of a bundled binary when packaging or unzipping lost them (POSIX only;
 * a no-op when already executable or not ours to change).
 */
export async function ensureExecutable(p: string, platform: NodeJS.Platform = process.platform): Promise<void> {
  if (platform === 'win32') {
    return;
  }
  try {
    await fs.access(p, fsConstants.X_OK);
  } catch {
    try {
      const mode = (await fs.stat(p)).mode;
      await fs.chmod(p, mode | 0o755);
    } catch {
      // Not there or not ours: the probe will report it.
    }
  }
}

export function nodeHost(extensionPath: string, env: NodeJS.ProcessEnv = process.env): ResolveHost {
  return {
    platform: process.platform,
    env,
    extensionPath,
    isFile,
    probe: (p) => probeVersion(p),
  };
}
