#!/usr/bin/env node
// Lays out what the linux-x64 .vsix bundles, before `vsce package` (npm runs it as `prepackage`):
//
//   server/coral-lsp                          ← $CORAL_LSP_BUNDLE or ../target/release/coral-lsp
//   server/libonnxruntime.so (+ providers)    ← $ORT_DYLIB_PATH or ../.ort/lib (found next to the binary)
//   server/models/*                           ← ../models/* (found as `models/` next to the binary)
//
// VSCE_TARGET (default linux-x64) names the platform: for win32-* the files are coral-lsp.exe and
// onnxruntime.dll, for darwin-* libonnxruntime.dylib; the binary's format (ELF, Mach-O, PE) and,
// on Linux, its architecture are checked against it.
//
// Whatever is missing is left out, and said so: the extension then finds coral-lsp through
// coral.server.path, CORAL_LSP_PATH or PATH, and the server runs on its heuristics without a model.
// Build the binary first with `cargo build --release -p coral-server` from the repository root.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repo = path.resolve(root, '..');
const out = path.join(root, 'server');
const target = process.env.VSCE_TARGET ?? 'linux-x64';

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });

const notes = [];

const os = target.split('-')[0];
const exe = os === 'win32' ? 'coral-lsp.exe' : 'coral-lsp';
const ortName = os === 'win32' ? 'onnxruntime.dll' : os === 'darwin' ? 'libonnxruntime.dylib' : 'libonnxruntime.so';

/** Whether `file` is an executable for `target` (format, and the architecture for Linux). */
function matchesTarget(file) {
  const fd = fs.openSync(file, 'r');
  const header = Buffer.alloc(20);
  try {
    fs.readSync(fd, header, 0, 20, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (os === 'win32') {
    return header.toString('latin1', 0, 2) === 'MZ';
  }
  if (os === 'darwin') {
    return [0xfeedfacf, 0xcffaedfe, 0xcafebabe].includes(header.readUInt32BE(0));
  }
  const elf = header.readUInt32BE(0) === 0x7f454c46;
  const machine = header.readUInt16LE(18);
  const arch = { 'linux-x64': 0x3e, 'alpine-x64': 0x3e, 'linux-arm64': 0xb7, 'alpine-arm64': 0xb7, 'linux-armhf': 0x28 };
  return elf && (arch[target] === undefined || arch[target] === machine);
}

function copy(from, to, mode) {
  fs.copyFileSync(fs.realpathSync(from), to);
  if (mode !== undefined) {
    fs.chmodSync(to, mode);
  }
  return fs.statSync(to).size;
}

const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

// 1. The server binary.
const binary = process.env.CORAL_LSP_BUNDLE ?? path.join(repo, 'target', 'release', exe);
let bundled = false;
if (!fs.existsSync(binary)) {
  notes.push(
    `NOT bundled: coral-lsp (no ${binary}; build it with \`cargo build --release -p coral-server\`). ` +
      'The .vsix then needs coral.server.path, CORAL_LSP_PATH or coral-lsp on PATH.',
  );
} else if (!matchesTarget(binary)) {
  console.error(`${binary} is not an executable for ${target}; refusing to bundle it (set VSCE_TARGET?)`);
  process.exit(1);
} else {
  const size = copy(binary, path.join(out, exe), 0o755);
  bundled = true;
  notes.push(`bundled: server/${exe} (${mb(size)}) from ${binary}`);
}

// 2. ONNX Runtime, looked up by the server next to its executable.
const ortFile = process.env.ORT_DYLIB_PATH ?? path.join(repo, '.ort', 'lib', ortName);
if (bundled && fs.existsSync(ortFile)) {
  let size = copy(ortFile, path.join(out, ortName));
  const providersName = ortName.replace('onnxruntime', 'onnxruntime_providers_shared');
  const providers = path.join(path.dirname(ortFile), providersName);
  if (fs.existsSync(providers)) {
    size += copy(providers, path.join(out, providersName));
  }
  notes.push(`bundled: server/${ortName} (${mb(size)}) from ${ortFile}`);
} else if (bundled) {
  notes.push(
    `NOT bundled: ONNX Runtime (no ${ortFile}; scripts/fetch-onnxruntime.sh or the README's setup step). ` +
      'The bundled server runs on its heuristics unless ORT_DYLIB_PATH points at the library.',
  );
}

// 3. The model, looked up by the server as `models/` next to its executable.
const models = path.join(repo, 'models');
const modelFiles = fs.existsSync(models)
  ? fs.readdirSync(models).filter((f) => fs.statSync(path.join(models, f)).isFile())
  : [];
if (!bundled) {
  // Without the binary there is nothing to find the model next to.
} else if (!modelFiles.includes('coral.onnx')) {
  notes.push(`NOT bundled: the model (no ${path.join(models, 'coral.onnx')}); the server labels with its heuristics.`);
}
if (bundled && modelFiles.length > 0) {
  fs.mkdirSync(path.join(out, 'models'));
  let size = 0;
  for (const f of modelFiles) {
    size += copy(path.join(models, f), path.join(out, 'models', f));
  }
  notes.push(`bundled: server/models/ (${modelFiles.join(', ')}; ${mb(size)})`);
}

console.log(`coral .vsix contents for ${target}:`);
for (const n of notes) {
  console.log(`  ${n}`);
}
