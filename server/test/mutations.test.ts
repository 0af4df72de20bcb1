import { afterAll, beforeAll, expect, it } from 'vitest';
import { Permissions } from '../src/auth/permissions.js';
import type { Principal } from '../src/auth/principal.js';
import type { Queryable } from '../src/db/db.js';
import { EventBus, type TandemEvent } from '../src/events.js';
import { audited, createOwned } from '../src/mutations.js';
import { describeEachDb } from './support/backends.js';

const ann: Principal = { id: 'ann-id', name: 'ann', displayName: 'Ann', isAdmin: false, teamIds: [], tokenKind: 'user' };

describeEachDb('audited() and createOwned()', (backend) => {
  let db: Awaited<ReturnType<typeof backend.open>>;
  let permissions: Permissions;
  let events: EventBus;
  let n = 0;
  /** A fresh id per test, so that each test finds only its own rows. */
  const nextId = () => `thing-${++n}`;
  const insert = async (tx: Queryable, id: string) => {
    await tx.query('INSERT INTO things (id) VALUES ($1)', [id]);
    return { id };
  };
  const things = async (id: string) => (await db.query('SELECT id FROM things WHERE id = $1', [id])).length;
  const audits = (id: string) =>
    db.query<{ actor_id: string; action: string; resource_type: string; details: unknown }>(
      'SELECT actor_id, action, resource_type, details FROM audit_log WHERE resource_id = $1 ORDER BY id',
      [id],
    );

  beforeAll(async () => {
    db = await backend.open();
    await db.exec('CREATE TABLE things (id text PRIMARY KEY)');
    permissions = new Permissions(db);
    events = new EventBus();
  });
  afterAll(() => db.drop());

  it('audited() commits the audit entry together with the change', async () => {
    const id = nextId();
    const result = await audited(db, ann, { action: 'thing.create', resourceType: 'model', resourceId: id, details: { size: 1 } }, (tx) =>
      insert(tx, id),
    );
    expect(result).toEqual({ id });
    expect(await things(id)).toBe(1);
    expect(await audits(id)).toEqual([{ actor_id: 'ann-id', action: 'thing.create', resource_type: 'model', details: { size: 1 } }]);
  });

  it('audited() builds the entry from what the change returned', async () => {
    const id = nextId();
    await audited(
      db,
      ann,
      (row: { id: string }) => ({ action: 'thing.create', resourceType: 'model', resourceId: row.id }),
      (tx) => insert(tx, id),
    );
    expect(await audits(id)).toEqual([{ actor_id: 'ann-id', action: 'thing.create', resource_type: 'model', details: {} }]);
  });

  it('audited() keeps neither the change nor the entry when the change fails', async () => {
    const id = nextId();
    await expect(
      audited(db, ann, { action: 'thing.create', resourceType: 'model', resourceId: id }, async (tx) => {
        await insert(tx, id);
        throw new Error('halfway');
      }),
    ).rejects.toThrow('halfway');
    expect(await things(id)).toBe(0);
    expect(await audits(id)).toEqual([]);
  });

  it('audited() keeps no change when its audit entry cannot be written', async () => {
    const id = nextId();
    // audit_log.action is NOT NULL: the entry fails after the change ran in the same transaction.
    await expect(
      audited(db, ann, { action: null as unknown as string, resourceType: 'model', resourceId: id }, (tx) => insert(tx, id)),
    ).rejects.toThrow();
    expect(await things(id)).toBe(0);
  });

  it('createOwned() commits the row, the owner grant and the audit entry, and publishes the event after the commit', async () => {
    const id = nextId();
    const seen: { event: TandemEvent; committed: Promise<number> }[] = [];
    const unsubscribe = events.subscribe((event) => {
      // Read outside the transaction: only a committed row is visible here.
      if (event.resourceId === id) seen.push({ event, committed: things(id) });
    });
    let publishedDuringCreate = -1;
    try {
      const created = await createOwned(
        { db, permissions, events },
        ann,
        {
          type: 'model',
          action: 'thing.create',
          details: (row) => ({ id: row.id }),
          event: (row) => ({ type: 'thing.created', resourceType: 'model', resourceId: row.id }),
        },
        async (tx) => {
          const row = await insert(tx, id);
          publishedDuringCreate = seen.length;
          return row;
        },
      );
      expect(created).toEqual({ id });
    } finally {
      unsubscribe();
    }
    expect(publishedDuringCreate).toBe(0);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.event).toMatchObject({ type: 'thing.created', resourceType: 'model', resourceId: id });
    expect(await seen[0]!.committed).toBe(1);
    expect(await permissions.list('model', id)).toEqual([{ principal: { type: 'user', id: 'ann-id' }, role: 'owner' }]);
    expect(await audits(id)).toEqual([{ actor_id: 'ann-id', action: 'thing.create', resource_type: 'model', details: { id } }]);
  });

  it('createOwned() leaves no row, grant, entry or event when creating fails', async () => {
    const id = nextId();
    const seen: TandemEvent[] = [];
    const unsubscribe = events.subscribe((event) => seen.push(event));
    try {
      await expect(
        createOwned(
          { db, permissions, events },
          ann,
          { type: 'model', action: 'thing.create', event: (row) => ({ type: 'thing.created', resourceType: 'model', resourceId: row.id }) },
          async (tx) => {
            await insert(tx, id);
            // A second row with the same id: the unique violation fails the transaction.
            return insert(tx, id);
          },
        ),
      ).rejects.toThrow();
    } finally {
      unsubscribe();
    }
    expect(seen).toEqual([]);
    expect(await things(id)).toBe(0);
    expect(await permissions.list('model', id)).toEqual([]);
    expect(await audits(id)).toEqual([]);
  });
});
