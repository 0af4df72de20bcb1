import * as Plot from '@observablehq/plot';
import { describe, expect, it } from 'vitest';
import { html, md, plot } from '../../src/display/figures.js';
import { mimeBundleOf } from '../../src/display/mime-bundle.js';

describe('figures', () => {
  it('plot() renders an Observable Plot chart to standalone SVG in the kernel', () => {
    const bundle = mimeBundleOf(
      plot({
        marks: [
          Plot.dot(
            [
              { x: 1, y: 2 },
              { x: 3, y: 4 },
            ],
            { x: 'x', y: 'y' },
          ),
        ],
      }),
    );
    const svg = bundle['image/svg+xml'] as string;
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(svg.match(/<circle/g)).toHaveLength(2);
  });

  it('plot() with a legend gives HTML around the SVG', () => {
    const data = [
      { x: 1, y: 2, c: 'a' },
      { x: 2, y: 1, c: 'b' },
    ];
    const bundle = mimeBundleOf(plot({ color: { legend: true }, marks: [Plot.dot(data, { x: 'x', y: 'y', fill: 'c' })] }));
    expect(bundle['text/html']).toContain('xmlns="http://www.w3.org/2000/svg"');
  });

  it('md() and html() carry their mime types', () => {
    expect(mimeBundleOf(md('# Title'))['text/markdown']).toBe('# Title');
    expect(mimeBundleOf(html('<b>x</b>'))['text/html']).toBe('<b>x</b>');
  });
});
