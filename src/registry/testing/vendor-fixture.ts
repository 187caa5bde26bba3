// SPDX-License-Identifier: Apache-2.0
/**
 * A vendor registry over a real in-memory SQLite store and the real audit writer, with a clock
 * the test moves, for the vendor service and expiry tests.
 */
import { tmpdir } from 'node:os';
import type { Kysely } from 'kysely';
import { createAccessPolicy } from '../../access/rbac.js';
import type { AuditWriter } from '../../audit/writer.js';
import { createAuditWriter } from '../../audit/writer.js';
import { createSqlAuditSink } from '../../audit/sql-sink.js';
import type { EndpointConfig } from '../../config/schema.js';
import type { Clock } from '../../kernel/clock.js';
import { createDb } from '../../store/db.js';
import { migrateToLatest } from '../../store/migrate.js';
import { createVendorRepo, type VendorRepo } from '../../store/repos/vendor-repo.js';
import type { Database } from '../../store/schema.js';
import { createVendorService, type VendorRequest, type VendorService } from '../vendors.js';

export interface VendorFixture {
  readonly db: Kysely<Database>;
  readonly repo: VendorRepo;
  readonly audit: AuditWriter;
  readonly clock: Clock & { set(iso: string): void; advance(ms: number): void };
  readonly vendors: VendorService;
  /** A request as an administrator (role `admin`). */
  readonly admin: VendorRequest;
  /** A request by a user with the given roles. */
  as(...roles: string[]): VendorRequest;
  /** Audit events written so far, oldest first (the parsed bodies). */
  events(): Promise<readonly Record<string, unknown>[]>;
  close(): Promise<void>;
}

export async function createVendorFixture(options: { readonly now?: string; readonly endpoints?: readonly EndpointConfig[] } = {}): Promise<VendorFixture> {
  const db = createDb('sqlite::memory:', { baseDir: tmpdir() });
  await migrateToLatest(db);
  let now = Date.parse(options.now ?? '2026-03-01T12:00:00Z');
  const clock = {
    now: () => now,
    set(iso: string) {
      now = Date.parse(iso);
    },
    advance(ms: number) {
      now += ms;
    },
  };
  const repo = createVendorRepo(db, { now: clock.now });
  const audit = await createAuditWriter({ sink: createSqlAuditSink(db), writeTimeoutMs: 5000 });
  const vendors = createVendorService({ repo, audit, clock, instanceId: 'test', policy: createAccessPolicy(), endpoints: options.endpoints ?? [] });
  const as = (...roles: string[]): VendorRequest => ({ actor: { userId: `u-${roles.join('-') || 'none'}`, kind: 'user', roles, authMethod: 'api_key' }, requestId: `req-${roles.join('-')}` });
  return {
    db,
    repo,
    audit,
    clock,
    vendors,
    admin: as('admin'),
    as,
    async events() {
      await audit.drain();
      const rows = await db.selectFrom('audit_events').select('body').orderBy('seq').execute();
      return rows.map((row) => JSON.parse(row.body) as Record<string, unknown>);
    },
    async close() {
      await audit.drain();
      await db.destroy();
    },
  };
}
