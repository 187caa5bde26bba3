// SPDX-License-Identifier: Apache-2.0
/**
 * Contract for the vendor repository and the registry revision, run on SQLite and PGlite
 * (`vendor-repo.test.ts`) and on the real PostgreSQL server (`vendor-repo.int.test.ts`).
 */
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isGatewayError } from '../../kernel/errors.js';
import { vendorSchema, type Vendor } from '../../registry/vendor-spec.js';
import { migrateToLatest } from '../migrate.js';
import type { Database } from '../schema.js';
import { bumpRegistryRevision, createVendorRepo, readRegistryRevision, type VendorRepo } from './vendor-repo.js';

export interface VendorDbUnderTest {
  readonly db: Kysely<Database>;
  readonly cleanup?: () => Promise<void>;
}

const acme = (legalName = 'Acme Inference LLC'): Vendor =>
  vendorSchema.parse({ id: 'acme', legalName, services: [{ id: 'llm', name: 'Acme LLM', category: 'llm', eligibility: 'baa_available' }] });

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return isGatewayError(err) ? err.code : `other:${String(err)}`;
  }
  return 'resolved';
}

export function describeVendorRepoContract(name: string, open: () => Promise<VendorDbUnderTest>): void {
  describe(`vendor repository: ${name}`, () => {
    let under: VendorDbUnderTest;
    let repo: VendorRepo;
    let clock: number;

    beforeEach(async () => {
      clock = 1_800_000_000_000;
      under = await open();
      await migrateToLatest(under.db);
      repo = createVendorRepo(under.db, { now: () => clock });
    });

    afterEach(async () => {
      await under.db.destroy();
      await under.cleanup?.();
    });

    it('starts empty at revision 0', async () => {
      expect(await repo.list()).toEqual([]);
      expect(await repo.get('acme')).toBeUndefined();
      expect(await repo.revision()).toBe(0);
    });

    it('inserts at version 1, replaces at the expected version, and bumps the revision each time', async () => {
      const first = await repo.upsert(acme(), 0);
      expect(first).toEqual({ record: { vendor: acme(), version: 1, createdAt: clock, updatedAt: clock }, revision: 1 });
      clock += 1000;
      const second = await repo.upsert(acme('Acme Inference Inc.'), 1);
      expect(second.record.version).toBe(2);
      expect(second.record.createdAt).toBe(clock - 1000);
      expect(second.record.updatedAt).toBe(clock);
      expect(second.revision).toBe(2);
      expect(await repo.get('acme')).toEqual(second.record);
      expect(await repo.revision()).toBe(2);
    });

    it('refuses a stale version, a taken id and a missing row with typed errors, changing nothing', async () => {
      await repo.upsert(acme(), 0);
      await repo.upsert(acme('Second'), 1);
      expect(await codeOf(repo.upsert(acme('Stale'), 1))).toBe('vendor_version_conflict');
      expect(await codeOf(repo.upsert(acme('Again'), 0))).toBe('vendor_exists');
      expect(await codeOf(repo.upsert({ ...acme(), id: 'ghost' }, 3))).toBe('vendor_not_found');
      expect((await repo.get('acme'))?.vendor.legalName).toBe('Second');
      expect(await repo.revision()).toBe(2);
    });

    it('lets exactly one of two writers at the same version win', async () => {
      await repo.upsert(acme(), 0);
      const results = await Promise.allSettled([repo.upsert(acme('A'), 1), repo.upsert(acme('B'), 1)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((r) => r.status === 'rejected');
      expect(rejected !== undefined && isGatewayError(rejected.reason, 'vendor_version_conflict')).toBe(true);
      expect((await repo.get('acme'))?.version).toBe(2);
    });

    it('validates before writing and refuses corrupt rows on read', async () => {
      await expect(repo.upsert({ ...acme(), services: [] } as Vendor, 0)).rejects.toThrow();
      expect(await repo.list()).toEqual([]);
      await under.db.insertInto('vendors').values({ id: 'bad', spec: '{"id":"bad"}', version: 1, created_at: 0, updated_at: 0 }).execute();
      await expect(repo.get('bad')).rejects.toThrow('valid vendor record');
    });

    it('inserts catalogue entries only when missing', async () => {
      expect(await repo.insertIfMissing(acme())).toBe(true);
      await repo.upsert(acme('Deployer edit'), 1);
      expect(await repo.insertIfMissing(acme())).toBe(false);
      expect((await repo.get('acme'))?.vendor.legalName).toBe('Deployer edit');
      expect(await repo.revision()).toBe(2);
    });

    it('bumps the revision inside a caller transaction and rolls it back with it', async () => {
      await under.db.transaction().execute(async (trx) => {
        expect(await bumpRegistryRevision(trx, clock)).toBe(1);
      });
      await expect(
        under.db.transaction().execute(async (trx) => {
          await bumpRegistryRevision(trx, clock);
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await readRegistryRevision(under.db)).toBe(1);
    });

    it('marks each expiry warning once per vendor, expiry day and threshold', async () => {
      expect(await repo.markWarningSent('acme', '2027-01-31', 30)).toBe(true);
      expect(await repo.markWarningSent('acme', '2027-01-31', 30)).toBe(false);
      clock += 1;
      expect(await repo.markWarningSent('acme', '2027-01-31', 7)).toBe(true);
      expect(await repo.markWarningSent('acme', '2028-01-31', 30)).toBe(true);
      expect(await repo.warningsSent('acme')).toEqual([
        { expiryDate: '2027-01-31', thresholdDays: 30, sentAt: clock - 1 },
        { expiryDate: '2027-01-31', thresholdDays: 7, sentAt: clock },
        { expiryDate: '2028-01-31', thresholdDays: 30, sentAt: clock },
      ]);
      expect(await repo.warningsSent('other')).toEqual([]);
    });
  });
}
