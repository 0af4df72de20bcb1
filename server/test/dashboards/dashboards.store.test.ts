import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Db } from '../../src/db/db.js';
import { Permissions } from '../../src/auth/permissions.js';
import { DashboardsStore } from '../../src/dashboards/dashboards.store.js';
import { describeEachDb } from '../support/backends.js';

describeEachDb('DashboardsStore', (backend) => {
  let db: Db & { drop(): Promise<void> };
  let store: DashboardsStore;
  beforeAll(async () => {
    db = await backend.open();
    store = new DashboardsStore(db, new Permissions(db));
  });
  afterAll(() => db.drop());

  const content = { blocks: [] };

  it('addVersion() gives concurrent publishes distinct, gapless version numbers', async () => {
    const d = await store.transaction((tx) => store.create(tx, { slug: 'busy', title: 'Busy', description: '', createdBy: 'u1' }));
    const numbers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        store.transaction((tx) =>
          store.addVersion(tx, d.id, { title: `t${i}`, description: '', content, origin: 'publish', createdBy: 'u1' }),
        ),
      ),
    );
    expect([...numbers].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect((await store.find('busy'))!.currentVersion).toBe(Math.max(...numbers));
  });

  it('claimDue() hands a due refresh to exactly one of several concurrent claimers and moves its next run', async () => {
    const d = await store.transaction((tx) => store.create(tx, { slug: 'due', title: 'Due', description: '', createdBy: 'u1' }));
    const now = new Date('2026-11-23T06:00:30Z');
    await store.transaction((tx) =>
      store.setSchedule(tx, d.id, {
        cron: '0 7 * * *',
        timezone: 'Europe/Berlin',
        nextRunAt: new Date('2026-11-23T06:00:00Z'),
        sourceKey: 'k',
        selection: null,
        setBy: 'u1',
      }),
    );
    const asked: unknown[] = [];
    const next = (schedule: unknown) => (asked.push(schedule), new Date('2026-11-24T06:00:00Z'));
    const claims = await Promise.all(Array.from({ length: 4 }, () => store.claimDue(now, next)));
    expect(claims.flat().map((r) => r.slug)).toEqual(['due']);
    expect(asked).toEqual([{ cron: '0 7 * * *', timezone: 'Europe/Berlin', nextRunAt: new Date('2026-11-23T06:00:00Z') }]);
    const row = (await store.find('due'))!;
    expect(row.schedule!.nextRunAt!.toISOString()).toBe('2026-11-24T06:00:00.000Z');
    expect(row.lastRun).toMatchObject({ status: 'running' });
    expect(await store.claimDue(now, next)).toEqual([]);
  });
});
