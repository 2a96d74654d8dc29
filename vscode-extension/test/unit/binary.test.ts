import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
  ResolveHost,
  VersionProbe,
  bundledPath,
  executableName,
  notFoundMessage,
  parseVersion,
  pathCandidates,
  resolveServer,
  skippedWarning,
} from '../../src/core/binary';
import { ensureExecutable, isFile, nodeHost, probeVersion } from '../../src/node/host';

/** A host whose files and `--version` answers are a table. */
function fakeHost(
  files: Record<string, VersionProbe>,
  opts: { env?: Record<string, string>; platform?: NodeJS.Platform; extensionPath?: string } = {},
): ResolveHost & { probed: string[] } {
  const probed: string[] = [];
  return {
    platform: opts.platform ?? 'linux',
    env: opts.env ?? {},
    extensionPath: opts.extensionPath ?? '/ext',
    isFile: (p) => Promise.resolve(p in files),
    probe: (p) => {
      probed.push(p);
      return Promise.resolve(files[p] ?? { ok: false, error: 'ENOENT' });
    },
    probed,
  };
}

const OK: VersionProbe = { ok: true, version: '0.1.0' };

describe('resolveServer order', () => {
  it('uses the setting first', async () => {
    const host = fakeHost(
      { '/opt/coral-lsp': OK, '/env/coral-lsp': OK, '/ext/server/coral-lsp': OK, '/usr/bin/coral-lsp': OK },
      { env: { CORAL_LSP_PATH: '/env/coral-lsp', PATH: '/usr/bin' } },
    );
    const r = await resolveServer('/opt/coral-lsp', host);
    assert.ok(r.ok);
    assert.equal(r.path, '/opt/coral-lsp');
    assert.equal(r.source, 'setting');
    assert.equal(r.version, '0.1.0');
    assert.deepEqual(host.probed, ['/opt/coral-lsp']);
  });

  it('then CORAL_LSP_PATH', async () => {
    const host = fakeHost(
      { '/env/coral-lsp': OK, '/ext/server/coral-lsp': OK },
      { env: { CORAL_LSP_PATH: '/env/coral-lsp' } },
    );
    const r = await resolveServer('', host);
    assert.ok(r.ok);
    assert.equal(r.source, 'env');
  });

  it('then the bundled binary', async () => {
    const host = fakeHost({ '/ext/server/coral-lsp': OK, '/usr/bin/coral-lsp': OK }, { env: { PATH: '/usr/bin' } });
    const r = await resolveServer(undefined, host);
    assert.ok(r.ok);
    assert.equal(r.source, 'bundled');
    assert.equal(r.path, '/ext/server/coral-lsp');
  });

  it('then PATH, in PATH order', async () => {
    const host = fakeHost(
      { '/b/coral-lsp': OK, '/c/coral-lsp': OK },
      { env: { PATH: '/a:/b:/c' } },
    );
    const r = await resolveServer(undefined, host);
    assert.ok(r.ok);
    assert.equal(r.source, 'path');
    assert.equal(r.path, '/b/coral-lsp');
  });

  it('skips a setting that fails --version and says so', async () => {
    const host = fakeHost({
      '/opt/old-coral-lsp': { ok: false, error: 'exit code 2' },
      '/ext/server/coral-lsp': OK,
    });
    const r = await resolveServer('/opt/old-coral-lsp', host);
    assert.ok(r.ok);
    assert.equal(r.source, 'bundled');
    assert.equal(r.skipped.length, 1);
    const warning = skippedWarning(r);
    assert.ok(warning);
    assert.match(warning, /coral\.server\.path/);
    assert.match(warning, /exit code 2/);
    assert.match(warning, /\/ext\/server\/coral-lsp/);
  });

  it('skips a missing CORAL_LSP_PATH with a warning', async () => {
    const host = fakeHost({ '/usr/bin/coral-lsp': OK }, { env: { CORAL_LSP_PATH: '/nope', PATH: '/usr/bin' } });
    const r = await resolveServer(undefined, host);
    assert.ok(r.ok);
    assert.equal(r.source, 'path');
    assert.match(skippedWarning(r) ?? '', /CORAL_LSP_PATH.*no such file/);
  });

  it('has no warning when nothing explicit was skipped', async () => {
    const host = fakeHost({ '/usr/bin/coral-lsp': OK }, { env: { PATH: '/usr/bin' } });
    const r = await resolveServer(undefined, host);
    assert.equal(skippedWarning(r), undefined);
  });

  it('fails with every attempt and the fix when nothing works', async () => {
    const host = fakeHost(
      { '/usr/bin/coral-lsp': { ok: false, error: 'EACCES' } },
      { env: { CORAL_LSP_PATH: '/env/coral-lsp', PATH: '/usr/local/bin:/usr/bin' } },
    );
    const r = await resolveServer('/opt/coral-lsp', host);
    assert.equal(r.ok, false);
    if (r.ok) {
      return;
    }
    assert.deepEqual(
      r.attempts.map((a) => [a.source, a.path]),
      [
        ['setting', '/opt/coral-lsp'],
        ['env', '/env/coral-lsp'],
        ['bundled', '/ext/server/coral-lsp'],
        ['path', '/usr/bin/coral-lsp'],
      ],
    );
    assert.match(r.message, /EACCES/);
    assert.match(r.message, /cargo build --release -p coral-server/);
    assert.match(r.message, /coral\.server\.path/);
    assert.match(r.message, /CORAL_LSP_PATH/);
  });

  it('reports PATH once when coral-lsp is on no PATH entry', async () => {
    const r = await resolveServer(undefined, fakeHost({}, { env: { PATH: '/a:/b:/c' } }));
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.attempts.filter((a) => a.source === 'path').length, 1);
      assert.match(r.message, /not found on PATH/);
    }
  });

  it('uses coral-lsp.exe, ; and Path on Windows', async () => {
    const host = fakeHost(
      { 'C:\\tools\\coral-lsp.exe': OK },
      { platform: 'win32', env: { Path: 'C:\\Windows;"C:\\tools"' }, extensionPath: 'C:\\ext' },
    );
    const r = await resolveServer(undefined, host);
    assert.ok(r.ok);
    assert.equal(r.path, 'C:\\tools\\coral-lsp.exe');
    assert.deepEqual(host.probed, ['C:\\tools\\coral-lsp.exe']);
  });
});

describe('binary helpers', () => {
  it('names the executable per platform', () => {
    assert.equal(executableName('linux'), 'coral-lsp');
    assert.equal(executableName('darwin'), 'coral-lsp');
    assert.equal(executableName('win32'), 'coral-lsp.exe');
    assert.equal(bundledPath('/ext', 'linux'), '/ext/server/coral-lsp');
    assert.equal(bundledPath('C:\\ext', 'win32'), 'C:\\ext\\server\\coral-lsp.exe');
  });

  it('splits PATH and drops empty entries', () => {
    assert.deepEqual(pathCandidates({ PATH: '/a::/b:' }, 'linux'), ['/a/coral-lsp', '/b/coral-lsp']);
    assert.deepEqual(pathCandidates({}, 'linux'), []);
  });

  it('reads versions', () => {
    assert.equal(parseVersion('coral-lsp 0.1.0\n'), '0.1.0');
    assert.equal(parseVersion('coral-lsp 1.2.3-rc.1'), '1.2.3-rc.1');
    assert.equal(parseVersion('usage: …'), undefined);
  });

  it('explains an empty attempt list', () => {
    assert.match(notFoundMessage([], 'linux'), /nothing to try/);
  });
});

describe('node host (real processes)', { skip: process.platform === 'win32' }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coral-binary-'));
  const script = (name: string, body: string, mode = 0o755): string => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, `#!/bin/sh\n${body}\n`);
    fs.chmodSync(p, mode);
    return p;
  };

  it('accepts a binary that prints its version', async () => {
    const p = script('good', 'echo "coral-lsp 0.4.2"');
    assert.deepEqual(await probeVersion(p), { ok: true, version: '0.4.2' });
  });

  it('rejects a non-zero exit, with stderr', async () => {
    const p = script('bad', 'echo "error: unexpected argument" >&2; exit 2');
    const r = await probeVersion(p);
    assert.equal(r.ok, false);
    assert.match(r.error ?? '', /exit code 2/);
    assert.match(r.error ?? '', /unexpected argument/);
  });

  it('rejects a binary that prints no version', async () => {
    const r = await probeVersion(script('quiet', 'echo hello'));
    assert.equal(r.ok, false);
    assert.match(r.error ?? '', /no version/);
  });

  it('rejects a file that is not executable', async () => {
    const r = await probeVersion(script('noexec', 'echo "coral-lsp 0.1.0"', 0o644));
    assert.equal(r.ok, false);
    assert.match(r.error ?? '', /EACCES/);
  });

  it('times out a binary that hangs', async () => {
    const r = await probeVersion(script('hang', 'sleep 5'), 200);
    assert.equal(r.ok, false);
    assert.match(r.error ?? '', /timed out/);
  });

  it('restores the executable bit of a bundled binary', async () => {
    const p = script('bundled', 'echo "coral-lsp 0.1.0"', 0o644);
    await ensureExecutable(p);
    assert.deepEqual(await probeVersion(p), { ok: true, version: '0.1.0' });
  });

  it('resolves end to end through the real file system', async () => {
    const ext = fs.mkdtempSync(path.join(os.tmpdir(), 'coral-ext-'));
    fs.mkdirSync(path.join(ext, 'server'));
    const bundled = path.join(ext, 'server', 'coral-lsp');
    fs.writeFileSync(bundled, '#!/bin/sh\necho "coral-lsp 0.9.0"\n', { mode: 0o755 });
    assert.equal(await isFile(bundled), true);
    assert.equal(await isFile(path.join(ext, 'server')), false);
    const r = await resolveServer(undefined, nodeHost(ext, { PATH: dir }));
    assert.ok(r.ok);
    assert.equal(r.source, 'bundled');
    assert.equal(r.version, '0.9.0');
  });
});
