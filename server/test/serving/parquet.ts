import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { DuckDBInstance } from '@duckdb/node-api';

/** Reads a Parquet file with DuckDB: its rows (ordered as stored) and each column's DuckDB type. */
export async function readParquet(bytes: Uint8Array): Promise<{ rows: Record<string, unknown>[]; types: Record<string, string> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-parquet-'));
  const file = path.join(dir, 'log.parquet');
  await writeFile(file, bytes);
  const db = await DuckDBInstance.create();
  const connection = await db.connect();
  try {
    const rows = (await connection.runAndReadAll(`SELECT * FROM read_parquet('${file}')`)).getRowObjectsJS();
    const described = (await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`)).getRowObjectsJS();
    const types = Object.fromEntries(described.map((c) => [String(c.column_name), String(c.column_type)]));
    return { rows: rows as Record<string, unknown>[], types };
  } finally {
    connection.closeSync();
    db.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
