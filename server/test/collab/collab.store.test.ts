import * as Y from 'yjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CollabStore } from '../../src/collab/collab.store.js';
import type { Db } from '../../src/db/db.js';
import { describeEachDb } from '../support/backends.js';

function textUpdate(doc: Y.Doc, text: string): Uint8Array {
  const before = Y.encodeStateVector(doc);
  doc.getText('t').insert(doc.getText('t').length, text);
  return Y.encodeStateAsUpdate(doc, before);
}

describeEachDb('CollabStore', (backend) => {
  let db: Db & { drop(): Promise<void> };
  let store: CollabStore;
  let userId: string;

  beforeAll(async () => {
    db = await backend.open();
    store = new CollabStore(db);
    userId = 'u1';
    await db.query(`INSERT INTO users (id, name, display_name) VALUES ($1, 'owner', 'Owner')`, [userId]);
  });
  afterAll(() => db.drop());

  it('load() returns the seed snapshot followed by the appended updates in order', async () => {
    const doc = new Y.Doc();
    const seed = textUpdate(doc, 'seed ');
    const notebook = await store.transaction((tx) => store.create(tx, { name: 'n', createdBy: userId, state: seed }));
    const first = await store.append(notebook.id, textUpdate(doc, 'one '));
    const second = await store.append(notebook.id, textUpdate(doc, 'two'));
    expect(second).toBeGreaterThan(first);

    const loaded = (await store.load(notebook.id))!;
    expect(loaded.updates).toHaveLength(2);
    expect(loaded.lastSeq).toBe(second);
    const copy = new Y.Doc();
    Y.applyUpdate(copy, Y.mergeUpdates([loaded.snapshot, ...loaded.updates]));
    expect(copy.getText('t').toString()).toBe('seed one two');
  });

  it('compact() folds the log into the snapshot and keeps entries written after it', async () => {
    const doc = new Y.Doc();
    const notebook = await store.transaction((tx) => store.create(tx, { name: 'c', createdBy: userId, state: textUpdate(doc, 'a') }));
    let last = 0;
    for (let i = 0; i < 20; i++) last = await store.append(notebook.id, textUpdate(doc, 'b'));
    await store.compact(notebook.id, Y.encodeStateAsUpdate(doc), last);
    await store.append(notebook.id, textUpdate(doc, 'c'));

    expect((await store.footprint(notebook.id)).logEntries).toBe(1);
    const loaded = (await store.load(notebook.id))!;
    const copy = new Y.Doc();
    Y.applyUpdate(copy, Y.mergeUpdates([loaded.snapshot, ...loaded.updates]));
    expect(copy.getText('t').toString()).toBe(`a${'b'.repeat(20)}c`);
  });

  it('deleting a notebook removes its snapshot, log and versions', async () => {
    const doc = new Y.Doc();
    const notebook = await store.transaction((tx) => store.create(tx, { name: 'd', createdBy: userId, state: textUpdate(doc, 'x') }));
    await store.append(notebook.id, textUpdate(doc, 'y'));
    await store.transaction((tx) =>
      store.createVersion(tx, { notebookId: notebook.id, name: 'v1', createdBy: userId, state: Y.encodeStateAsUpdate(doc) }),
    );
    await store.transaction((tx) => store.delete(tx, notebook.id));
    expect(await store.load(notebook.id)).toBeUndefined();
    expect(await store.listVersions(notebook.id)).toEqual([]);
    expect(await store.footprint(notebook.id)).toEqual({ logEntries: 0, bytes: 0 });
  });
});
