import { createHash } from 'node:crypto';
import { ERROR_MIME, TABLE_MIME, type Block, type DashboardContent } from './content.js';
import { escapeHtml, renderMarkdown, sanitizeHtmlOutput, sanitizeSvg } from './sanitize.js';

export interface PageModel {
  slug: string;
  title: string;
  description: string;
  version: number;
  refreshedAt: Date;
  content: DashboardContent;
  /** Query string the page's own links keep (a share-link key), e.g. `?key=…`. */
  linkQuery: string;
  /** Poll for new versions (live mode and scheduled dashboards). */
  live: boolean;
  /** What /state answers while this page is current; the page reloads when it changes. */
  stateToken: string;
  /** Print layout for PDF export: every table row, no script. */
  print?: boolean;
}

/** Rows rendered into the HTML; the inline script pages through the rest of the preview. */
const PAGE_ROWS = 25;

interface TablePayload {
  rowCount: number;
  columns: { name: string; type?: string }[];
  rows: unknown[][];
  truncated?: boolean;
}

export interface RenderedPage {
  html: string;
  /** Content-Security-Policy allowing exactly this page's own script, by its hash. */
  csp: string;
}

/**
 * The page's policy: outputs were sanitized, and this is the second wall. Only the page's own
 * script runs (allowed by hash, so the whole response can be cached per version), nothing loads
 * from elsewhere, and the page cannot be a form target.
 */
export const pageCsp = (scriptHash?: string): string =>
  `default-src 'none'; script-src ${scriptHash ? `'sha256-${scriptHash}'` : "'none'"}; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; ` +
  `base-uri 'none'; form-action 'none'; frame-src 'none'; object-src 'none'; frame-ancestors 'none'`;

/** The standalone dashboard page, server-rendered, with its one small inline script. */
export function renderPage(model: PageModel): RenderedPage {
  const body = model.content.blocks.map((b, i) => renderBlock(b, i, model)).join('\n');
  const stamp = model.refreshedAt.toISOString();
  const pdf = `${encodeURIComponent(model.slug)}/pdf${model.linkQuery}`;
  const script = model.print
    ? undefined
    : SCRIPT.replace('__STATE__', JSON.stringify(`${encodeURIComponent(model.slug)}/state${model.linkQuery}`))
        .replace('__TOKEN__', JSON.stringify(model.stateToken))
        .replace('__LIVE__', String(model.live));
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(model.title)}</title>
<style>${STYLE}</style></head>
<body${model.print ? ' class="print"' : ''}>
<header><h1>${escapeHtml(model.title)}</h1>
<div class="meta"><span class="stamp" data-refreshed="${stamp}">Last refreshed <time datetime="${stamp}">${stamp.slice(0, 16).replace('T', ' ')} UTC</time></span>
<span class="version">version ${model.version}</span>${model.live ? '<span class="live">● live</span>' : ''}
${model.print ? '' : `<a class="pdf" href="${escapeHtml(pdf)}">Download PDF</a>`}</div>
${model.description ? `<div class="description">${renderMarkdown(model.description)}</div>` : ''}</header>
<main>
${body}
</main>
${script ? `<script>${script}</script>` : ''}
</body></html>`;
  return { html, csp: pageCsp(script && createHash('sha256').update(script).digest('base64')) };
}

function renderBlock(block: Block, index: number, model: PageModel): string {
  if (block.kind === 'markdown') return `<section class="markdown">${renderMarkdown(block.text)}</section>`;
  if (block.kind === 'code') return `<pre class="code"><code>${escapeHtml(block.text)}</code></pre>`;
  return `<section class="output">${renderOutput(block.mime, block.data, index, model)}</section>`;
}

function renderOutput(mime: string, data: unknown, index: number, model: PageModel): string {
  const str = typeof data === 'string' ? data : undefined;
  switch (mime) {
    case TABLE_MIME:
      return isTable(data) ? renderTable(data, index, model) : preformatted(JSON.stringify(data, null, 2));
    case 'image/svg+xml':
      return str ? `<div class="figure">${sanitizeSvg(str)}</div>` : '';
    case 'image/png':
    case 'image/jpeg':
      return str && /^[A-Za-z0-9+/=\s]+$/.test(str)
        ? `<img class="figure" alt="" src="data:${mime};base64,${str.replace(/\s/g, '')}">`
        : '';
    case 'text/html':
      return str ? `<div class="html">${sanitizeHtmlOutput(str)}</div>` : '';
    case 'text/markdown':
      return str ? `<div class="markdown">${renderMarkdown(str)}</div>` : '';
    case ERROR_MIME: {
      const e = (data ?? {}) as { name?: unknown; message?: unknown };
      return `<div class="error"><strong>${escapeHtml(String(e.name ?? 'Error'))}</strong> ${escapeHtml(String(e.message ?? ''))}</div>`;
    }
    default:
      return preformatted(str ?? JSON.stringify(data));
  }
}

const preformatted = (text: string) => `<pre class="text">${escapeHtml(stripAnsi(text))}</pre>`;
// eslint-disable-next-line no-control-regex
const stripAnsi = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '');

function isTable(data: unknown): data is TablePayload {
  const t = data as TablePayload;
  return !!t && Array.isArray(t.columns) && Array.isArray(t.rows) && t.columns.every((c) => c && typeof c.name === 'string');
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function renderTable(t: TablePayload, index: number, model: PageModel): string {
  const print = model.print === true;
  const shown = print ? t.rows : t.rows.slice(0, PAGE_ROWS);
  const head = t.columns.map((c, i) => `<th data-col="${i}" title="${escapeHtml(c.type ?? '')}">${escapeHtml(c.name)}</th>`).join('');
  const rows = shown.map((r) => `<tr>${t.columns.map((_, i) => `<td>${escapeHtml(cellText(r[i]))}</td>`).join('')}</tr>`).join('');
  const total = typeof t.rowCount === 'number' ? t.rowCount : t.rows.length;
  const note = `${total.toLocaleString('en-US')} rows${t.rows.length < total ? `, showing the first ${t.rows.length.toLocaleString('en-US')}` : ''}`;
  // More rows than one page: the script fetches the whole preview from /tables/<block> on first use.
  const src =
    print || t.rows.length <= PAGE_ROWS
      ? ''
      : ` data-src="${escapeHtml(`${encodeURIComponent(model.slug)}/tables/${index}${model.linkQuery}`)}"`;
  return `<div class="table" id="table-${index}" data-rows="${t.rows.length}"${src}><table><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>
<div class="pager"><span class="note">${note}</span></div></div>`;
}

/** The preview rows of the table that is block `index`, for the page's script. */
export function tableRows(content: DashboardContent, index: number): unknown[][] | undefined {
  const block = content.blocks[index];
  return block?.kind === 'output' && block.mime === TABLE_MIME && isTable(block.data) ? block.data.rows : undefined;
}

const STYLE = `
:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328}
body{margin:0;background:#f6f8fa}header,main{max-width:1100px;margin:0 auto;padding:16px 24px}
header{background:#fff;border-bottom:1px solid #d0d7de;max-width:none}header>*{max-width:1052px;margin-left:auto;margin-right:auto}
h1{font-size:1.6rem;margin:8px auto}.meta{display:flex;gap:16px;color:#57606a;font-size:.85rem;align-items:center}
.meta .pdf{margin-left:auto}.live{color:#0969da;font-weight:600}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:12px 16px;margin:12px 0;overflow-x:auto}
pre{white-space:pre-wrap;margin:0;font-size:.85rem}pre.code{background:#f6f8fa;padding:8px;border-radius:4px}
.error{color:#cf222e}.figure{max-width:100%;height:auto}.figure svg{max-width:100%;height:auto}
table{border-collapse:collapse;font-size:.85rem;width:100%}th,td{border-bottom:1px solid #d8dee4;padding:4px 8px;text-align:left;white-space:nowrap}
th{background:#f6f8fa;cursor:pointer;user-select:none;position:sticky;top:0}th.asc::after{content:" ▲"}th.desc::after{content:" ▼"}
td{font-variant-numeric:tabular-nums}.pager{display:flex;gap:8px;align-items:center;color:#57606a;font-size:.8rem;margin-top:6px}
.pager button{font:inherit;padding:2px 8px}body.print{background:#fff}.print section{break-inside:avoid;border:none}
@media print{.pdf,.pager button{display:none}}`;

// Sort and page tables; the full preview rows load on first use, so big tables never weigh on
// the page itself. Poll for a newer version when live.
const SCRIPT = `(() => {
const PAGE = ${PAGE_ROWS};
for (const box of document.querySelectorAll('.table')) {
  const tbody = box.querySelector('tbody'), pager = box.querySelector('.pager'), src = box.dataset.src;
  const total = Number(box.dataset.rows);
  let rows = src ? null : [...tbody.querySelectorAll('tr')].map((tr) => [...tr.children].map((td) => td.textContent));
  let page = 0, order = null, sortCol = -1, dir = 1;
  const load = async () => {
    if (!rows) { const r = await fetch(src, { credentials: 'same-origin' }); if (!r.ok) throw new Error('rows: ' + r.status); rows = await r.json(); }
    return rows;
  };
  const prev = document.createElement('button'), next = document.createElement('button'), where = document.createElement('span');
  prev.textContent = '‹ Prev'; next.textContent = 'Next ›';
  if (total > PAGE) pager.append(prev, where, next);
  const text = (v) => v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  const draw = () => {
    const all = order || rows || [];
    const pages = Math.max(1, Math.ceil(total / PAGE));
    page = Math.min(Math.max(page, 0), pages - 1);
    if (rows) tbody.replaceChildren(...all.slice(page * PAGE, page * PAGE + PAGE).map((r) => {
      const tr = document.createElement('tr');
      for (const v of r) { const td = document.createElement('td'); td.textContent = text(v); tr.append(td); }
      return tr;
    }));
    where.textContent = 'page ' + (page + 1) + ' of ' + pages;
    prev.disabled = page === 0; next.disabled = page >= pages - 1;
  };
  const act = (fn) => async () => { try { await load(); fn(); draw(); } catch (e) { where.textContent = 'cannot load rows (' + e.message + ')'; } };
  prev.onclick = act(() => page--);
  next.onclick = act(() => page++);
  for (const th of box.querySelectorAll('th')) th.onclick = act(() => {
    const col = Number(th.dataset.col);
    dir = sortCol === col ? -dir : 1; sortCol = col;
    const num = (v) => typeof v === 'number' ? v : v !== null && v !== '' && !isNaN(Number(v)) ? Number(v) : NaN;
    order = rows.slice().sort((a, b) => {
      const x = a[col], y = b[col];
      if (x === null || x === undefined) return 1; if (y === null || y === undefined) return -1;
      const nx = num(x), ny = num(y);
      return dir * (!isNaN(nx) && !isNaN(ny) ? nx - ny : text(x).localeCompare(text(y)));
    });
    for (const h of box.querySelectorAll('th')) h.className = '';
    th.className = dir > 0 ? 'asc' : 'desc';
    page = 0;
  });
  if (total > PAGE) draw();
}
const live = __LIVE__, shown = __TOKEN__, state = __STATE__;
if (live) {
  const poll = async () => {
    try {
      const r = await fetch(state, { cache: 'no-store', credentials: 'same-origin' });
      if (r.ok && (await r.json()).version !== shown) { location.reload(); return; }
    } catch {}
    setTimeout(poll, 5000);
  };
  setTimeout(poll, 5000);
}
})();`;
