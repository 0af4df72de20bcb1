import { afterEach, describe, expect, it, vi } from 'vitest';
import { ipynbFromState, ipynbSchema, restoreUpdate, stateFromIpynb } from '../../src/collab/ipynb.js';

const notebook = (sources: string[]) =>
  ipynbSchema.parse({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: sources.map((source) => ({ cell_type: 'code', source, metadata: {}, outputs: [], execution_count: null })),
  });

describe('ipynb conversions', () => {
  afterEach(() => vi.restoreAllMocks());

  it('stateFromIpynb() and ipynbFromState() round-trip cells', () => {
    const back = ipynbFromState(stateFromIpynb(notebook(['1 + 1', 'console.log("hi")'])));
    expect(back.cells.map((c) => c.source)).toEqual(['1 + 1', 'console.log("hi")']);
  });

  it('importing a notebook prints no Yjs premature-access warnings and leaves console.warn as it was', () => {
    const warn = vi.spyOn(console, 'warn');
    const current = stateFromIpynb(notebook(Array.from({ length: 20 }, (_, i) => `cell ${i}`)));
    restoreUpdate(current, stateFromIpynb(notebook(['restored'])));
    expect(warn).not.toHaveBeenCalled();
    console.warn('still reported');
    expect(warn).toHaveBeenCalledWith('still reported');
  });
});
