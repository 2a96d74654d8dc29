#!/usr/bin/env node
// `npm run package`: lays out server/ (scripts/prepare-bundle.mjs), then `vsce package` for
// VSCE_TARGET (default linux-x64) into coral-vscode-<target>.vsix. vsce runs `vscode:prepublish`
// (the esbuild bundle) itself.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const target = process.env.VSCE_TARGET ?? 'linux-x64';

function run(args) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, VSCE_TARGET: target } });
  if (r.status !== 0) {
    process.exit(r.status ?? 1);
  }
}

run([path.join(root, 'scripts', 'prepare-bundle.mjs')]);
run([
  path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce'),
  'package',
  '--target',
  target,
  // No public repository URL to rewrite README links against; the README's links are relative.
  '--allow-missing-repository',
  '--no-rewrite-relative-links',
  '--out',
  `coral-vscode-${target}.vsix`,
]);
