#!/usr/bin/env node
// Renders the "coral: Show pipeline" webview from the real HTML generator (out/src/core/webviewHtml.js,
// built by `npm run compile`) with a sample summary, and screenshots it in headless Chromium.
//
//   node scripts/render-webview.mjs [summary.json] [out.png] [title]
//
// Defaults: test/fixtures/titanic-summary.json → media/pipeline-webview.png. Needs `chromium`
// (Debian: apt-get install -y chromium) or CHROMIUM=/path/to/chrome.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const generator = path.join(root, 'out', 'src', 'core', 'webviewHtml.js');
if (!fs.existsSync(generator)) {
  console.error(`${generator} is missing: run \`npm run compile\` first`);
  process.exit(2);
}
const { renderPipelineHtml } = require(generator);
const { parseNotebookSummary } = require(path.join(root, 'out', 'src', 'core', 'summary.js'));

const input = process.argv[2] ?? path.join(root, 'test', 'fixtures', 'titanic-summary.json');
const output = path.resolve(process.argv[3] ?? path.join(root, 'media', 'pipeline-webview.png'));
const parsed = parseNotebookSummary(JSON.parse(fs.readFileSync(input, 'utf8')));
if (!parsed.ok) {
  console.error(`${input}: ${parsed.error}`);
  process.exit(1);
}
const title = process.argv[4] ?? path.basename(parsed.value.path || input);
const html = renderPipelineHtml(parsed.value, { nonce: randomBytes(18).toString('base64'), cspSource: '', title });

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coral-webview-'));
const page = path.join(tmp, 'pipeline.html');
fs.writeFileSync(page, html);
const chromium = process.env.CHROMIUM ?? 'chromium';
try {
  execFileSync(
    chromium,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--hide-scrollbars',
      `--user-data-dir=${path.join(tmp, 'profile')}`,
      `--window-size=${process.env.WIDTH ?? 900},${process.env.HEIGHT ?? 760}`,
      `--screenshot=${output}`,
      `file://${page}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 },
  );
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(`wrote ${output} (${fs.statSync(output).size} bytes)`);
