/**
 * The "coral: Show pipeline" webview: the notebook's stage strip (one coloured block per code
 * cell, a click reveals the cell), stage shares, entropy and the findings.
 *
 * Pure HTML generation under a strict Content-Security-Policy: no inline `style=` attributes (the
 * per-element colours and widths are rules in the nonce'd `<style>`), one nonce'd script that
 * only posts `{ type: 'revealCell', cell }` back to the extension.
 */

import { NO_STAGE_COLOR, STAGES, STAGE_COLORS, Stage } from './stages';
import { NotebookSummary, SummaryCell, confidence } from './summary';
import { formatPercent } from './statusText';

export interface PipelineHtmlOptions {
  /** Random per render; allows the page's one `<style>` and one `<script>`. */
  nonce: string;
  /** `webview.cspSource` (empty outside VS Code). */
  cspSource: string;
  /** Shown as the page heading (the notebook's file name). */
  title: string;
  /** Shown when the summary is stale or the server is not running. */
  notice?: string | undefined;
}

/** Message the webview posts when a block or a finding's cell link is clicked. */
export interface RevealCellMessage {
  type: 'revealCell';
  /** The server's cell index (as in the summary). */
  cell: number;
}

/** Validates a message from the webview (it is untrusted input). */
export function parseWebviewMessage(message: unknown): RevealCellMessage | undefined {
  if (typeof message !== 'object' || message === null) {
    return undefined;
  }
  const m = message as Record<string, unknown>;
  if (m.type !== 'revealCell' || typeof m.cell !== 'number' || !Number.isInteger(m.cell) || m.cell < 0) {
    return undefined;
  }
  return { type: 'revealCell', cell: m.cell };
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      default:
        return '&#39;';
    }
  });
}

/** A nonce must be base64-ish; anything else would break out of the CSP header. */
function checkNonce(nonce: string): string {
  if (!/^[A-Za-z0-9+/=_-]{8,}$/.test(nonce)) {
    throw new Error('webview nonce must be at least 8 base64 characters');
  }
  return nonce;
}

function cellTitle(cell: SummaryCell): string {
  const p = confidence(cell);
  const stage = cell.stage ?? 'no stage';
  const conf = p === undefined ? (cell.stage === undefined ? '' : ' (heuristic)') : ` ${formatPercent(p)}`;
  const lines = `${cell.lines} line${cell.lines === 1 ? '' : 's'}`;
  return `Cell ${cell.index}: ${stage}${conf} · ${lines}`;
}

function number(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}

function css(summary: NotebookSummary): string {
  const stageRules = STAGES.map((s) => `.stage-${s}{background:${STAGE_COLORS[s]};}`).join('\n');
  const shareRules = STAGES.map(
    (s) => `#share-${s}{width:${(Math.min(1, Math.max(0, summary.summary.stageShares[s])) * 100).toFixed(1)}%;}`,
  ).join('\n');
  return `
:root{color-scheme:light dark;}
body{font-family:var(--vscode-font-family,system-ui,-apple-system,"Segoe UI",sans-serif);font-size:var(--vscode-font-size,13px);
 color:var(--vscode-foreground,#cccccc);background:var(--vscode-editor-background,#1e1e1e);margin:0;padding:16px 20px;}
h1{font-size:1.35em;font-weight:600;margin:0 0 4px;}
h2{font-size:1.05em;font-weight:600;margin:18px 0 8px;}
.sub{color:var(--vscode-descriptionForeground,#9d9d9d);margin:0 0 12px;}
.notice{border-left:3px solid var(--vscode-editorWarning-foreground,#cca700);padding:6px 10px;margin:8px 0;}
.strip{display:flex;gap:2px;height:44px;align-items:stretch;border-radius:4px;overflow-x:auto;overflow-y:hidden;}
.strip.dense{gap:1px;}
.strip button{flex:1 1 0;min-width:3px;border:0;padding:0;margin:0;cursor:pointer;color:#fff;font:inherit;font-size:10px;
 display:flex;align-items:flex-end;justify-content:center;padding-bottom:3px;text-shadow:0 0 2px #000;}
.strip button:hover,.strip button:focus-visible{outline:2px solid var(--vscode-focusBorder,#007fd4);outline-offset:-2px;filter:brightness(1.15);}
.strip button.selected{outline:2px solid var(--vscode-foreground,#fff);outline-offset:-2px;}
.axis{display:flex;justify-content:space-between;color:var(--vscode-descriptionForeground,#9d9d9d);font-size:11px;margin-top:3px;}
.legend{display:flex;flex-wrap:wrap;gap:14px;margin:10px 0 0;padding:0;list-style:none;}
.legend li{display:flex;align-items:center;gap:6px;}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:middle;}
.stage-none{background:${NO_STAGE_COLOR};}
${stageRules}
table.shares{border-collapse:collapse;width:100%;max-width:560px;}
table.shares td{padding:3px 6px;}
table.shares td.name{width:90px;}
table.shares td.pct{width:56px;text-align:right;font-variant-numeric:tabular-nums;}
.track{background:var(--vscode-editorWidget-background,#2d2d2d);height:12px;border-radius:2px;overflow:hidden;}
.bar{height:100%;}
${shareRules}
dl.stats{display:grid;grid-template-columns:max-content auto;gap:4px 18px;margin:0;}
dl.stats dt{color:var(--vscode-descriptionForeground,#9d9d9d);}
dl.stats dd{margin:0;font-variant-numeric:tabular-nums;}
ul.findings{list-style:none;padding:0;margin:0;}
ul.findings li{padding:4px 0;}
.sev{display:inline-block;min-width:62px;font-weight:600;}
.sev-error{color:var(--vscode-editorError-foreground,#f14c4c);}
.sev-warning{color:var(--vscode-editorWarning-foreground,#cca700);}
.sev-info{color:var(--vscode-editorInfo-foreground,#3794ff);}
.rule{font-family:var(--vscode-editor-font-family,monospace);color:var(--vscode-descriptionForeground,#9d9d9d);margin-right:6px;}
button.link{background:none;border:0;padding:0;color:var(--vscode-textLink-foreground,#3794ff);cursor:pointer;font:inherit;}
button.link:hover{text-decoration:underline;}
.empty{color:var(--vscode-descriptionForeground,#9d9d9d);}
footer{margin-top:22px;color:var(--vscode-descriptionForeground,#9d9d9d);font-size:11px;}
`;
}

const SCRIPT = `
(function () {
  const api = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : undefined;
  document.addEventListener('click', function (event) {
    const target = event.target instanceof Element ? event.target.closest('[data-cell]') : null;
    if (!target) { return; }
    const cell = Number(target.getAttribute('data-cell'));
    document.querySelectorAll('.strip button.selected').forEach(function (b) { b.classList.remove('selected'); });
    const block = document.querySelector('.strip button[data-cell="' + cell + '"]');
    if (block) { block.classList.add('selected'); }
    if (api) { api.postMessage({ type: 'revealCell', cell: cell }); }
  });
})();
`;

function strip(summary: NotebookSummary): string {
  if (summary.cells.length === 0) {
    return '<p class="empty">This notebook has no code cells.</p>';
  }
  const blocks = summary.cells
    .map((cell) => {
      const cls = cell.stage === undefined ? 'stage-none' : `stage-${cell.stage}`;
      const title = escapeHtml(cellTitle(cell));
      const label = summary.cells.length <= 40 ? String(cell.index) : '';
      return `<button type="button" class="${cls}" data-cell="${cell.index}" title="${title}" aria-label="${title}">${label}</button>`;
    })
    .join('');
  const first = summary.cells[0]?.index ?? 0;
  const last = summary.cells[summary.cells.length - 1]?.index ?? 0;
  return (
    `<div class="strip${summary.cells.length > 100 ? ' dense' : ''}" role="group" aria-label="Stage of each code cell, in notebook order">${blocks}</div>` +
    `<div class="axis"><span>cell ${first}</span><span>${summary.cells.length} code cells</span><span>cell ${last}</span></div>`
  );
}

function legend(summary: NotebookSummary): string {
  const items = STAGES.map((s) => `<li><span class="swatch stage-${s}"></span>${s}</li>`);
  if (summary.cells.some((c) => c.stage === undefined)) {
    items.push('<li><span class="swatch stage-none"></span>no stage</li>');
  }
  return `<ul class="legend">${items.join('')}</ul>`;
}

function shares(summary: NotebookSummary): string {
  const rows = STAGES.map((s: Stage) => {
    const share = summary.summary.stageShares[s];
    return (
      `<tr><td class="name"><span class="swatch stage-${s}"></span> ${s}</td>` +
      `<td><div class="track"><div class="bar stage-${s}" id="share-${s}"></div></div></td>` +
      `<td class="pct">${formatPercent(share)}</td></tr>`
    );
  });
  return `<table class="shares" aria-label="Share of code lines per stage">${rows.join('')}</table>`;
}

function stats(summary: NotebookSummary): string {
  const s = summary.summary;
  const labelled = summary.cells.filter((c) => c.stage !== undefined).length;
  const fromModel = summary.cells.filter((c) => c.probabilities !== undefined).length;
  return (
    '<dl class="stats">' +
    `<dt>Stage entropy H</dt><dd>${number(s.entropy, 3)} nats</dd>` +
    `<dt>Normalized entropy H / ln 5</dt><dd>${number(s.normalizedEntropy, 3)}</dd>` +
    `<dt>Transition rate</dt><dd>${formatPercent(s.transitionRate)} of code cells are followed by another stage</dd>` +
    `<dt>Labelled cells</dt><dd>${labelled} of ${summary.cells.length} (${fromModel} by the model)</dd>` +
    '</dl>'
  );
}

function findings(summary: NotebookSummary): string {
  if (summary.findings.length === 0) {
    return '<p class="empty">No findings.</p>';
  }
  const items = summary.findings.map((f) => {
    const link =
      f.cell === undefined
        ? ''
        : ` <button type="button" class="link" data-cell="${f.cell}">cell ${f.cell}</button>`;
    return (
      `<li><span class="sev sev-${f.severity}">${f.severity}</span>` +
      `<span class="rule">${escapeHtml(f.rule)}</span>${escapeHtml(f.message)}${link}</li>`
    );
  });
  return `<ul class="findings">${items.join('')}</ul>`;
}

function modelLine(summary: NotebookSummary): string {
  const m = summary.model;
  if (m === undefined) {
    return '';
  }
  const text = (v: unknown): string | undefined =>
    typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
  const parts: string[] = [];
  const modelPath = text(m.path);
  if (m.fallback === true || modelPath === undefined) {
    parts.push('labelled by the heuristics (no model loaded)');
  } else {
    parts.push(`model ${modelPath}`);
  }
  const device = text(m.device);
  if (device !== undefined && device !== 'none') {
    parts.push(`device ${device}`);
  }
  const featurizer = text(m.featurizer_version);
  if (featurizer !== undefined) {
    parts.push(`featurizer v${featurizer}`);
  }
  return `<footer>${escapeHtml(parts.join(' · '))}</footer>`;
}

/** The whole page. */
export function renderPipelineHtml(summary: NotebookSummary, options: PipelineHtmlOptions): string {
  const nonce = checkNonce(options.nonce);
  const csp = [
    "default-src 'none'",
    `img-src ${options.cspSource} data:`.trim(),
    `style-src 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  const notice = options.notice ? `<p class="notice">${escapeHtml(options.notice)}</p>` : '';
  const errors =
    summary.errors.length === 0
      ? ''
      : `<p class="notice">${summary.errors.map((e) => escapeHtml(e)).join('<br>')}</p>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>coral — ${escapeHtml(options.title)}</title>
<style nonce="${nonce}">${css(summary)}</style>
</head>
<body>
<h1>Pipeline — ${escapeHtml(options.title)}</h1>
<p class="sub">Stage of every code cell, in notebook order. Click a block to reveal its cell.</p>
${notice}${errors}
${strip(summary)}
${legend(summary)}
<h2>Stage shares (code lines)</h2>
${shares(summary)}
<h2>Entropy</h2>
${stats(summary)}
<h2>Findings</h2>
${findings(summary)}
${modelLine(summary)}
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}

/** The page shown before the first summary arrives or when the request failed. */
export function renderMessageHtml(title: string, message: string, nonce: string): string {
  checkNonce(nonce);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'nonce-${nonce}'">
<style nonce="${nonce}">body{font-family:var(--vscode-font-family,sans-serif);color:var(--vscode-foreground,#ccc);padding:16px 20px;}</style>
<title>coral — ${escapeHtml(title)}</title></head>
<body><h1>Pipeline — ${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></body></html>
`;
}
