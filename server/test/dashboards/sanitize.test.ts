import { describe, expect, it } from 'vitest';
import { renderMarkdown, sanitizeHtmlOutput, sanitizeSvg } from '../../src/dashboards/sanitize.js';
import { XSS_PAYLOADS } from './support.js';

// Markup that runs script; the same words as plain text are harmless.
const SCRIPTY = /<script|\son[a-z]+\s*=|(href|src)\s*=\s*["']?\s*javascript:|<iframe|<foreignObject/i;

describe('output sanitizers', () => {
  it('strip every script vector from HTML, SVG and markdown outputs', () => {
    for (const [name, payload] of Object.entries(XSS_PAYLOADS)) {
      for (const clean of [sanitizeHtmlOutput(payload), sanitizeSvg(payload), renderMarkdown(payload)]) {
        expect({ name, clean: SCRIPTY.test(clean) ? clean : '' }).toEqual({ name, clean: '' });
      }
    }
  });

  it('keep tables, formatting, raster data images and links of HTML outputs', () => {
    const html =
      '<table class="df"><tr><th>a</th></tr><tr><td><b>1</b></td></tr></table><img src="data:image/png;base64,iVBOR"><a href="https://example.com">x</a>';
    const clean = sanitizeHtmlOutput(html);
    expect(clean).toContain('<table class="df">');
    expect(clean).toContain('<img src="data:image/png;base64,iVBOR" />');
    expect(clean).toContain('href="https://example.com" rel="noopener noreferrer nofollow" target="_blank"');
  });

  it('drop remote and SVG images, which could fetch or carry script', () => {
    expect(sanitizeHtmlOutput('<img src="https://tracker.example/p.gif"><img src="data:image/svg+xml;base64,PHN2Zz4=">')).toBe('');
  });

  it('keep Plot SVGs intact: camelCase attributes, scoped style, clip paths', () => {
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><style>.plot-1 { fill: red; }</style><clipPath id="c"><rect width="5" height="5"/></clipPath><g clip-path="url(#c)"><path d="M0,0L5,5" stroke="black"/></g></svg>';
    const clean = sanitizeSvg(svg);
    expect(clean).toContain('viewBox="0 0 10 10"');
    expect(clean).toContain('<clipPath id="c">');
    expect(clean).toContain('clip-path="url(#c)"');
    expect(clean).toContain('.plot-1 { fill: red; }');
  });

  it('keep a Plot figure with a legend: HTML holding an SVG', () => {
    const figure =
      '<figure class="plot-1-figure"><style>.plot-1-swatch{display:inline}</style><span class="plot-1-swatch">USA</span><svg viewBox="0 0 4 4"><clipPath id="k"></clipPath><path d="M0,0L1,1"/></svg></figure>';
    const clean = sanitizeHtmlOutput(figure);
    expect(clean).toContain('<svg viewBox="0 0 4 4"><clipPath id="k"></clipPath>');
    expect(clean).toContain('<span class="plot-1-swatch">USA</span>');
  });

  it('neutralize url() references to other documents in SVG', () => {
    expect(sanitizeSvg('<svg><rect fill="url(https://evil.example/x.svg#p)"/></svg>')).toBe('<svg><rect fill="none"></rect></svg>');
  });
});
