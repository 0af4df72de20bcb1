import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { tableFromArrays } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scoreOnnx } from '../src/models-onnx.js';
import { linearModel } from './models-fixtures.js';

describe('scoreOnnx()', () => {
  let dir: string;
  let file: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-onnx-'));
    file = path.join(dir, 'model.onnx');
    await writeFile(file, linearModel([2, -1], 0.5));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('scores each row of an Arrow table with the features in signature order', async () => {
    const table = tableFromArrays({ id: Int32Array.from([1, 2, 3]), b: Float64Array.from([1, 0, 2]), a: Float64Array.from([1, 2, 3]) });
    const scores = await scoreOnnx(file, table, { signature: { inputs: [{ name: 'a' }, { name: 'b' }] } });
    expect(Array.from(scores.getChild('score')!.toArray() as Float32Array)).toEqual([1.5, 4.5, 4.5]);
  });

  it('names a missing feature column in its error', async () => {
    const table = tableFromArrays({ a: Float64Array.from([1]) });
    await expect(scoreOnnx(file, table, { columns: ['a', 'nope'] })).rejects.toThrow(/no column nope/);
  });
});
