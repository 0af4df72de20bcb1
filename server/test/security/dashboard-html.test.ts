// Hostile notebook outputs published as a dashboard, read back through the public page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

const output = (data: Record<string, string>) => ({ output_type: 'display_data', metadata: {}, data });

/** Markup that a browser would parse into elements that run script, navigate or frame. */
const HOSTILE = {
  svgStyleSmuggle: output({ 'image/svg+xml': '<svg><style><img src=x onerror="alert(1)"></style><rect width="1" height="1"/></svg>' }),
  htmlSvgStyleSmuggle: output({ 'text/html': '<div><svg><style><a href="javascript:alert(2)">x</a></style></svg></div>' }),
  metaRefresh: output({ 'text/html': '<meta http-equiv="refresh" content="0;url=https://evil.example/">moved' }),
  metaInMarkdown: output({ 'text/markdown': 'hi <meta http-equiv="set-cookie" content="a=b"> there' }),
  styleBreakout: output({ 'text/html': '<style>p{color:red}</style ><img src=x onerror=alert(3)></style>' }),
  cssImport: output({
    'text/html': '<style>@import url(https://evil.example/x.css); .k{background:url(https://evil.example/p)}</style><p class="k">k</p>',
  }),
};

describe('dashboard pages built from hostile outputs', () => {
  let server: TestServer;
  let owner: { token: string };
  let html = '';
  let headers: Headers;

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
    owner = await server.user('mallory');
    const notebook = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {},
      cells: Object.values(HOSTILE).map((out) => ({ cell_type: 'code', source: 'x', metadata: {}, outputs: [out] })),
    };
    const created = await server.api('POST', 'dashboards', { token: owner.token, body: { slug: 'hostile', title: 'Hostile', notebook } });
    expect(created.status).toBe(201);
    const res = await fetch(`${server.url}/tandem/d/hostile`, { headers: { authorization: `Bearer ${owner.token}` } });
    expect(res.status).toBe(200);
    headers = res.headers;
    html = await res.text();
  });
  afterAll(() => server?.stop());

  it('keeps no element that was hidden inside an SVG style element', () => {
    const body = html.slice(html.indexOf('<main') >= 0 ? html.indexOf('<main') : html.indexOf('<body'));
    expect(body).not.toMatch(/<img\b/i);
    expect(body).not.toMatch(/<a\s[^>]*javascript:/i);
    expect(body).not.toMatch(/<[^>]*\son[a-z]+\s*=/i);
    // Style elements that survive hold CSS text only.
    for (const [, css] of body.matchAll(/<style>([\s\S]*?)<\/style>/g)) expect(css).not.toContain('<');
  });

  it('keeps no meta http-equiv, from HTML or markdown', () => {
    expect(html).not.toMatch(/<meta[^>]*http-equiv/i);
    expect(html).toContain('moved');
    expect(html).toContain('there');
  });

  it('drops CSS imports and remote url()s', () => {
    expect(html).not.toContain('evil.example');
    expect(html).toContain('class="k"');
  });

  it('forbids framing the page, in the CSP and the older header', () => {
    expect(headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(headers.get('x-frame-options')).toBe('DENY');
  });
});
