// SPDX-License-Identifier: Apache-2.0
// The review queue contract on the real PostgreSQL server (127.0.0.1:5432, database `test`),
// and claims raced for real: two gateway instances (two connection pools) on one PostgreSQL
// schema, and four processes on one SQLite file.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb } from '../store/db.js';
import { codeOf, createQueueFixture, describeReviewQueueContract, people, reviewAudit, treatmentUseCase } from './queue.contract.js';

const url = process.env.PHIGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Pool({ connectionString: url, max: 2 });
afterAll(() => admin.end());

async function freshSchema(): Promise<{ schema: string; drop: () => Promise<void> }> {
  const schema = `phigate_review_${randomBytes(6).toString('hex')}`;
  await admin.query(`create schema ${schema}`);
  return { schema, drop: async () => void (await admin.query(`drop schema if exists ${schema} cascade`)) };
}

describeReviewQueueContract('PostgreSQL server', async () => {
  const { schema, drop } = await freshSchema();
  return { db: createDb(url, { baseDir: tmpdir(), schema, maxConnections: 4 }), cleanup: drop };
});

const as = (actor: (typeof people)[keyof typeof people], requestId: string) => ({ actor, requestId });

describe('claim races on PostgreSQL: two instances, separate pools', () => {
  it('each item is claimed once, whether reviewers race for one item or for the next free one', async () => {
    const { schema, drop } = await freshSchema();
    const dbA = createDb(url, { baseDir: tmpdir(), schema, maxConnections: 6 });
    const dbB = createDb(url, { baseDir: tmpdir(), schema, maxConnections: 6 });
    try {
      const a = await createQueueFixture(dbA);
      const b = await createQueueFixture(dbB, { crypto: a.crypto });
      b.clock.t = a.clock.t;

      // Same item, two reviewers on two instances, twenty times.
      const single: string[] = [];
      for (let i = 0; i < 20; i++) single.push(await a.hold());
      const outcomes = await Promise.all(single.map(async (id) => (await Promise.all([codeOf(a.queue.claim(as(people.reviewer, `ra-${id}`), id)), codeOf(b.queue.claim(as(people.reviewer2, `rb-${id}`), id))])).sort()));
      expect(outcomes).toEqual(single.map(() => ['no error', 'review_not_claimable']));

      // The next free item: 40 items, eight concurrent loops across both instances.
      const many: string[] = [];
      for (let i = 0; i < 40; i++) many.push(await a.hold({ useCase: { ...treatmentUseCase, id: 'race-next' } }));
      const loop = async (fx: typeof a, reviewer: (typeof people)['reviewer'], n: number): Promise<string[]> => {
        const won: string[] = [];
        for (;;) {
          const claimed = await fx.queue.claimNext(as(reviewer, `loop-${n}-${won.length}`), { useCaseId: 'race-next' });
          if (claimed === undefined) return won;
          won.push(claimed.id);
        }
      };
      const results = await Promise.all(Array.from({ length: 8 }, (_, n) => loop(n % 2 === 0 ? a : b, n % 2 === 0 ? people.reviewer : people.reviewer2, n)));
      const claimed = results.flat();
      expect(claimed.length).toBe(40);
      expect(new Set(claimed).size).toBe(40);
      expect([...claimed].sort()).toEqual([...many].sort());
      // Both instances won some: the race was real.
      expect(results.filter((_, n) => n % 2 === 0).flat().length).toBeGreaterThan(0);
      expect(results.filter((_, n) => n % 2 === 1).flat().length).toBeGreaterThan(0);
      // One successful claim record per item.
      await Promise.all([a.audit.drain(), b.audit.drain()]);
      const { rows } = await reviewAudit(dbA);
      const claims = rows.filter((r) => r.type === 'review.claim' && r.outcome === 'success' && r.detail?.claimed === true).map((r) => r.detail?.reviewId);
      expect(claims.length).toBe(40);
      expect(new Set(claims).size).toBe(40);
      process.stdout.write(`review claim race (PostgreSQL, 2 pools): 20/20 single-item races with one winner; 40 items, 8 loops, ${claimed.length} claims, 0 duplicates\n`);
    } finally {
      await dbA.destroy();
      await dbB.destroy();
      await drop();
    }
  }, 120_000);
});

describe('claim races on SQLite: four processes on one file', () => {
  const child = fileURLToPath(new URL('./testing/claim-race-child.ts', import.meta.url));
  const run = promisify(execFile);

  it('each item is claimed once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'phigate-review-race-'));
    const file = join(dir, 'phigate.db');
    const db = createDb(`sqlite:${file}`, { baseDir: dir });
    try {
      const fx = await createQueueFixture(db);
      const ids: string[] = [];
      for (let i = 0; i < 60; i++) ids.push(await fx.hold({ patient: undefined }));
      const race = async (mode: 'next' | 'one', targets: readonly string[]): Promise<string[][]> => {
        const startAt = Date.now() + 5000;
        const outputs = await Promise.all(
          Array.from({ length: 4 }, (_, n) =>
            run(process.execPath, ['--import', 'tsx', child, JSON.stringify({ file, reviewer: `r-${n}`, ids: targets, mode, startAt, now: fx.clock.t })], { cwd: process.cwd(), timeout: 60_000 }),
          ),
        );
        return outputs.map((o) => JSON.parse(o.stdout) as string[]);
      };
      const one = await race('one', [ids[0] ?? '']);
      expect(one.flat()).toEqual([ids[0]]);
      const rest = ids.slice(1);
      const won = await race('next', rest);
      const all = won.flat();
      expect(all.length).toBe(rest.length);
      expect(new Set(all).size).toBe(rest.length);
      expect(won.filter((w) => w.length > 0).length).toBeGreaterThan(1);
      const rows = await db.selectFrom('review_items').select(['status', 'claimed_by', 'version']).execute();
      expect(rows.every((r) => r.status === 'claimed' && Number(r.version) === 2)).toBe(true);
      process.stdout.write(`review claim race (SQLite, 4 processes): single item 1 winner; ${rest.length} items, claims per process ${won.map((w) => w.length).join('/')}, 0 duplicates\n`);
    } finally {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
