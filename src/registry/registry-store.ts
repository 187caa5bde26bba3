// SPDX-License-Identifier: Apache-2.0
/**
 * The store-backed {@link RegistryView}. Every `snapshot()` reads the registry revision (one
 * indexed single-row query) and reloads vendors and use cases only when it moved, so a revoked
 * BAA, a suspended use case or a new live version takes effect on the next request, on every
 * gateway instance, with no cache to invalidate and no message bus.
 *
 * Concurrent callers share one reload. The revision is read before the data, so a snapshot
 * never reports a revision newer than what it holds; when a write lands between the two reads,
 * the snapshot holds the newer data under the older number and the next call reloads again.
 *
 * ```ts
 * const registry = createRegistryView(store.db);
 * const snapshot = await registry.snapshot();
 * snapshot.liveUseCase('triage')?.spec.vendors;
 * ```
 */
import type { Kysely } from 'kysely';
import { createUseCaseRepo } from '../store/repos/use-case-repo.js';
import { createVendorRepo, readRegistryRevision } from '../store/repos/vendor-repo.js';
import type { Database } from '../store/schema.js';
import type { LiveUseCase, RegistrySnapshot, RegistryView, UseCaseState } from './registry-view.js';
import type { Vendor } from './vendor-spec.js';

export interface StoreRegistryView extends RegistryView {
  /** How many times the registry was loaded from the store (for tests and metrics). */
  readonly loads: number;
}

function freezeDeep<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const key of Object.keys(value)) freezeDeep((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}

/** Creates the view over a migrated store. */
export function createRegistryView(db: Kysely<Database>): StoreRegistryView {
  const vendorRepo = createVendorRepo(db);
  const useCaseRepo = createUseCaseRepo(db);
  let current: RegistrySnapshot | undefined;
  let pending: Promise<RegistrySnapshot> | undefined;
  let pendingRevision: number | undefined;
  let loads = 0;

  async function load(revision: number): Promise<RegistrySnapshot> {
    loads += 1;
    const [vendorRecords, serving] = await Promise.all([vendorRepo.list(), useCaseRepo.serving()]);
    const vendors = new Map<string, Vendor>();
    for (const record of vendorRecords) vendors.set(record.vendor.id, freezeDeep(record.vendor));
    const vendorList = Object.freeze([...vendors.values()]);
    const states = new Map<string, UseCaseState>();
    const live = new Map<string, LiveUseCase>();
    for (const u of serving) {
      states.set(u.id, u.state);
      if (u.state === 'live' && u.spec !== undefined && u.liveVersion !== null) live.set(u.id, freezeDeep({ id: u.id, version: u.liveVersion, spec: u.spec }));
    }
    return Object.freeze({
      revision,
      vendor: (id: string) => vendors.get(id),
      vendors: () => vendorList,
      useCaseState: (id: string) => states.get(id),
      liveUseCase: (id: string) => live.get(id),
    });
  }

  return {
    async snapshot() {
      const revision = await readRegistryRevision(db);
      if (current !== undefined && current.revision === revision) return current;
      if (pending !== undefined && pendingRevision === revision) return pending;
      const loading = load(revision);
      pending = loading;
      pendingRevision = revision;
      try {
        const snapshot = await loading;
        // A slower load of an older revision never replaces a newer snapshot.
        if (current === undefined || current.revision <= snapshot.revision) current = snapshot;
        return snapshot;
      } finally {
        if (pending === loading) {
          pending = undefined;
          pendingRevision = undefined;
        }
      }
    },
    get loads() {
      return loads;
    },
  };
}
