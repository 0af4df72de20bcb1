// The Parquet encoder thread of the prediction log (serving.logs.ts). Plain JavaScript on purpose:
// worker_threads loads this file with Node itself, both from dist/ and under vitest, which runs the
// TypeScript sources but not inside workers (Node 20 cannot load .ts files).
//
// Messages in:  { type: 'part', job, columns }  a slice of rows, one array per column;
//               { type: 'encode', job, schema }  encodes the job's parts in order.
// Messages out: { job, bytes } (the ArrayBuffer is transferred) or { job, error }.
import { parentPort } from 'node:worker_threads';
import { parquetWriteBuffer } from 'hyparquet-writer';

const partsByJob = new Map();

parentPort.on('message', (message) => {
  if (message.type === 'part') {
    const parts = partsByJob.get(message.job);
    if (parts) parts.push(message.columns);
    else partsByJob.set(message.job, [message.columns]);
    return;
  }
  const parts = partsByJob.get(message.job) ?? [];
  partsByJob.delete(message.job);
  try {
    const columns = message.schema.slice(1);
    const columnData = columns.map((column, index) => ({ name: column.name, data: concat(parts.map((part) => part[index])) }));
    const bytes = parquetWriteBuffer({ columnData, schema: message.schema });
    parentPort.postMessage({ job: message.job, bytes }, [bytes]);
  } catch (error) {
    parentPort.postMessage({ job: message.job, error });
  }
});

function concat(slices) {
  if (slices.length === 1) return slices[0];
  if (slices.length > 0 && ArrayBuffer.isView(slices[0])) {
    const whole = new slices[0].constructor(slices.reduce((sum, slice) => sum + slice.length, 0));
    let offset = 0;
    for (const slice of slices) {
      whole.set(slice, offset);
      offset += slice.length;
    }
    return whole;
  }
  return slices.flat();
}
