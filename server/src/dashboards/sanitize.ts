import { Marked } from 'marked';
import sanitizeHtml from 'sanitize-html';

// Outputs are untrusted (any notebook author, any library's HTML). These allowlists keep layout,
// tables and graphics and drop everything that can run script or fetch: <script>, on* attributes,
// javascript:/vbscript: URLs, <iframe>/<object>/<embed>, <foreignObject>, external images.
// The page's Content-Security-Policy is the second wall should anything slip through.

const SVG_TAGS = [
  'svg',
  'g',
  'path',
  'rect',
  'circle',
  'ellipse',
  'line',
  'polyline',
  'polygon',
  'text',
  'tspan',
  'title',
  'desc',
  'defs',
  'clipPath',
  'linearGradient',
  'radialGradient',
  'stop',
  'pattern',
  'mask',
  'marker',
  'symbol',
];
const SVG_ATTRS = [
  'id',
  'class',
  'style',
  'x',
  'y',
  'x1',
  'x2',
  'y1',
  'y2',
  'cx',
  'cy',
  'r',
  'rx',
  'ry',
  'd',
  'points',
  'width',
  'height',
  'viewBox',
  'preserveAspectRatio',
  'transform',
  'fill',
  'fill-opacity',
  'fill-rule',
  'stroke',
  'stroke-width',
  'stroke-opacity',
  'stroke-dasharray',
  'stroke-linecap',
  'stroke-linejoin',
  'stroke-miterlimit',
  'opacity',
  'font-family',
  'font-size',
  'font-weight',
  'font-variant',
  'text-anchor',
  'dominant-baseline',
  'dx',
  'dy',
  'clip-path',
  'clipPathUnits',
  'mask',
  'offset',
  'stop-color',
  'stop-opacity',
  'gradientUnits',
  'gradientTransform',
  'patternUnits',
  'markerWidth',
  'markerHeight',
  'refX',
  'refY',
  'orient',
  'marker-start',
  'marker-mid',
  'marker-end',
  'paint-order',
  'vector-effect',
  'shape-rendering',
  'xmlns',
  'aria-label',
  'aria-hidden',
  'role',
  'direction',
];
const HTML_TAGS = [
  ...sanitizeHtml.defaults.allowedTags,
  'img',
  'span',
  'div',
  'details',
  'summary',
  'sup',
  'sub',
  'del',
  'ins',
  'kbd',
  'mark',
  'small',
  'figure',
  'figcaption',
  'table',
  'thead',
  'tbody',
  'tfoot',
  'tr',
  'th',
  'td',
  'caption',
  'colgroup',
  'col',
  'hr',
  'br',
];
const HTML_ATTRS = ['class', 'title', 'style', 'align', 'colspan', 'rowspan', 'width', 'height', 'lang', 'dir'];

// Tag and attribute names keep their case so SVG's clipPath/viewBox survive; matching stays an
// exact allowlist, so an upper-case <SCRIPT> or ONERROR is simply not on it and is dropped.
const COMMON: sanitizeHtml.IOptions = {
  nonTextTags: ['script', 'SCRIPT', 'style', 'textarea', 'option', 'noscript', 'foreignObject', 'iframe'],
  parser: { lowerCaseTags: false, lowerCaseAttributeNames: false },
  disallowedTagsMode: 'discard',
  allowProtocolRelative: false,
};

const HTML_OPTIONS: sanitizeHtml.IOptions = {
  ...COMMON,
  // Plot figures with legends arrive as HTML holding an SVG.
  allowedTags: [...HTML_TAGS, ...SVG_TAGS],
  allowedAttributes: { '*': [...HTML_ATTRS, ...SVG_ATTRS], a: ['href', 'name', 'target', 'rel'], img: ['src', 'alt'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['data'] },
  allowedSchemesAppliedToAttributes: ['href', 'src'],
  // Only raster data: images; SVG data: URLs could carry script into an <img> opened on its own.
  exclusiveFilter: (frame) => frame.tag === 'img' && !/^data:image\/(png|jpeg|gif|webp);base64,/i.test(frame.attribs.src ?? ''),
  transformTags: { a: sanitizeHtml.simpleTransform('a', { rel: 'noopener noreferrer nofollow', target: '_blank' }) },
};

const SVG_OPTIONS: sanitizeHtml.IOptions = { ...COMMON, allowedTags: SVG_TAGS, allowedAttributes: { '*': SVG_ATTRS }, allowedSchemes: [] };

/** Presentation attributes and CSS may hold url(#id) references but never url(http:…) or javascript:. */
const localUrlsOnly = (s: string) => s.replace(/url\(\s*['"]?(?!#)[^)]*\)/gi, 'none');

/**
 * Runs the sanitizer with `<style>` elements taken out. Their CSS (Plot's scoped styles, legends)
 * comes back as one style element of text that cannot hold markup: inside SVG a browser parses a
 * style element's children as elements, so `<svg><style><img onerror=…>` would otherwise smuggle
 * markup past a parser that saw it as text. No `<`, no imports, local url()s only.
 */
function sanitizeKeepingCss(markup: string, options: sanitizeHtml.IOptions): string {
  const css: string[] = [];
  const clean = sanitizeHtml(markup, {
    ...options,
    allowedTags: [...(options.allowedTags || []), 'style'],
    allowVulnerableTags: true,
    exclusiveFilter: (frame) => {
      if (frame.tag !== 'style') return options.exclusiveFilter?.(frame) ?? false;
      css.push(frame.text);
      return true;
    },
  });
  const style = localUrlsOnly(
    css
      .join('\n')
      .replace(/</g, '')
      .replace(/@import[^;]*;?/gi, ''),
  ).trim();
  return `${style ? `<style>${style}</style>` : ''}${localUrlsOnly(clean)}`;
}

export function sanitizeHtmlOutput(html: string): string {
  return sanitizeKeepingCss(html, HTML_OPTIONS);
}

export function sanitizeSvg(svg: string): string {
  return sanitizeKeepingCss(svg, SVG_OPTIONS);
}

const marked = new Marked({ gfm: true, breaks: false, async: false });

/** Markdown to safe HTML: raw HTML inside the markdown goes through the same allowlist. */
export function renderMarkdown(markdown: string): string {
  return sanitizeHtmlOutput(marked.parse(markdown) as string);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
