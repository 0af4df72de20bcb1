import { tableFromArrays, tableFromIPC, tableFromJSON, tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { TandemError } from '../../src/errors.js';
import { arrowFromPredictions, columnsFromArrow } from '../../src/serving/serving.arrow.js';

describe('the Arrow codec of the predict routes', () => {
  it('reads the columns of an IPC stream and of an IPC file alike, numbers as numbers and nulls as null', () => {
    const table = tableFromArrays({ age: new Float32Array([31, 45]), income: [52_000.5, null], city: ['Oslo', 'Lima'] });
    for (const format of ['stream', 'file'] as const) {
      expect(columnsFromArrow(tableToIPC(table, format))).toEqual({ age: [31, 45], income: [52_000.5, null], city: ['Oslo', 'Lima'] });
    }
  });

  it('reads list columns as one array per row', () => {
    const table = tableFromJSON([{ features: [1, 2, 3] }, { features: [4, 5, 6] }]);
    expect(columnsFromArrow(tableToIPC(table))).toEqual({
      features: [
        [1, 2, 3],
        [4, 5, 6],
      ],
    });
  });

  it('reads int64 values as numbers, and refuses one beyond 2^53 naming its column', () => {
    const safe = tableFromArrays({ count: new BigInt64Array([7n, -2n, BigInt(Number.MAX_SAFE_INTEGER)]) });
    expect(columnsFromArrow(tableToIPC(safe))).toEqual({ count: [7, -2, Number.MAX_SAFE_INTEGER] });
    const huge = tableFromArrays({ count: new BigInt64Array([1n, 2n ** 60n]) });
    const error = catchError(() => columnsFromArrow(tableToIPC(huge)));
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'count' } });
    expect(error.message).toMatch(/^columns\.count: 1152921504606846976 is beyond/);
  });

  it('refuses bytes that are not Arrow IPC with a 400 that keeps the reader’s error as its cause', () => {
    for (const bytes of [Buffer.from('{"rows": []}'), new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), Buffer.from('ARROW1\0\0garbage!')]) {
      const error = catchError(() => columnsFromArrow(bytes));
      expect(error.status).toBe(400);
      expect(error.message).toMatch(/^the body is not an Arrow IPC stream or file: /);
      expect(error.cause).toBeInstanceOf(Error);
    }
    const truncated = tableToIPC(tableFromArrays({ x: [1, 2, 3] }));
    expect(catchError(() => columnsFromArrow(truncated.slice(0, truncated.length - 20))).code).toBe('INVALID_ARGUMENT');
    expect(catchError(() => columnsFromArrow(new Uint8Array(0))).message).toBe('the Arrow IPC body holds no columns');
  });

  it('writes one prediction column for a model with one output, and one column per output otherwise', () => {
    const single = tableFromIPC(arrowFromPredictions({ predictions: [6.5, null, 1], version: 3 }));
    expect(single.schema.fields.map((f) => f.name)).toEqual(['prediction']);
    expect([...single.getChild('prediction')!]).toEqual([6.5, null, 1]);

    const wide = tableFromIPC(
      arrowFromPredictions({
        predictions: [
          [0.1, 0.9],
          [0.7, 0.3],
        ],
        version: 1,
      }),
    );
    expect([...wide.getChild('prediction')!].map((v) => [...v])).toEqual([
      [0.1, 0.9],
      [0.7, 0.3],
    ]);

    const several = arrowFromPredictions({
      predictions: [
        { total: 6, label: 'yes' },
        { total: 1, label: 'no' },
      ],
      version: 2,
    });
    expect(columnsFromArrow(several)).toEqual({ total: [6, 1], label: ['yes', 'no'] });
  });

  it('refuses to write an output whose values have several types, pointing to JSON', () => {
    const error = catchError(() => arrowFromPredictions({ predictions: [1, '9007199254740993'], version: 1 }));
    expect(error).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'output prediction does not fit one Arrow column: ask for JSON instead',
    });
    expect(error.cause).toBeInstanceOf(Error);
  });
});

function catchError(f: () => unknown): TandemError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(TandemError);
    return error as TandemError;
  }
  throw new Error('expected an error');
}
