// SPDX-License-Identifier: Apache-2.0
/**
 * An in-memory {@link RegistryView} for other modules' tests. Behaves like the store-backed view:
 * every change bumps the revision, and a snapshot taken before a change keeps answering as it
 * was (snapshots are immutable), so a test can check that the next request sees the change.
 *
 * ```ts
 * const registry = createMemoryRegistry({ vendors: [openai], useCases: [{ id: 'triage', spec }] });
 * registry.setVendor({ ...openai, baa: { ...openai.baa, status: 'terminated' } });
 * (await registry.snapshot()).vendor('openai')?.baa.status; // 'terminated'
 * ```
 */
import type { LiveUseCase, RegistrySnapshot, RegistryView, UseCaseState } from '../registry-view.js';
import { useCaseSpecSchema, type UseCaseSpec } from '../use-case-spec.js';
import { vendorSchema, type Vendor } from '../vendor-spec.js';

/** A use case as the fake holds it; `state` defaults to `live`, `version` to 1. */
export interface MemoryUseCase {
  readonly id: string;
  /** A spec as written (zod input); defaults are applied. */
  readonly spec: unknown;
  readonly state?: UseCaseState;
  readonly version?: number;
}

export interface MemoryRegistryOptions {
  /** Vendors as written (zod input); defaults are applied. */
  readonly vendors?: readonly unknown[];
  readonly useCases?: readonly MemoryUseCase[];
}

export interface MemoryRegistry extends RegistryView {
  /** Adds or replaces a vendor (parsed with the vendor schema). */
  setVendor(vendor: unknown): void;
  removeVendor(id: string): void;
  /** Adds or replaces a use case (parsed with the use-case schema). */
  setUseCase(useCase: MemoryUseCase): void;
  /** Changes only the state (e.g. `suspended`); unknown ids throw. */
  setUseCaseState(id: string, state: UseCaseState): void;
  removeUseCase(id: string): void;
  /** The current revision (what the next snapshot reports). */
  readonly revision: number;
  /** How many snapshots were taken. */
  readonly snapshots: number;
}

interface HeldUseCase {
  readonly id: string;
  readonly spec: UseCaseSpec;
  readonly state: UseCaseState;
  readonly version: number;
}

function toHeld(useCase: MemoryUseCase): HeldUseCase {
  return Object.freeze({
    id: useCase.id,
    spec: Object.freeze(useCaseSpecSchema.parse(useCase.spec)),
    state: useCase.state ?? 'live',
    version: useCase.version ?? 1,
  });
}

/** Creates the fake registry; the first snapshot has revision 1. */
export function createMemoryRegistry(options: MemoryRegistryOptions = {}): MemoryRegistry {
  const vendors = new Map<string, Vendor>();
  const useCases = new Map<string, HeldUseCase>();
  for (const v of options.vendors ?? []) {
    const vendor = Object.freeze(vendorSchema.parse(v));
    vendors.set(vendor.id, vendor);
  }
  for (const u of options.useCases ?? []) useCases.set(u.id, toHeld(u));
  let revision = 1;
  let snapshots = 0;
  let cached: RegistrySnapshot | undefined;

  function changed(): void {
    revision += 1;
    cached = undefined;
  }

  function build(): RegistrySnapshot {
    const vendorMap = new Map(vendors);
    const vendorList = Object.freeze([...vendorMap.values()]);
    const useCaseMap = new Map(useCases);
    const live = new Map<string, LiveUseCase>();
    for (const u of useCaseMap.values()) {
      if (u.state === 'live') live.set(u.id, Object.freeze({ id: u.id, version: u.version, spec: u.spec }));
    }
    const rev = revision;
    return Object.freeze({
      revision: rev,
      vendor: (id: string) => vendorMap.get(id),
      vendors: () => vendorList,
      useCaseState: (id: string) => useCaseMap.get(id)?.state,
      liveUseCase: (id: string) => live.get(id),
    });
  }

  return {
    snapshot() {
      snapshots += 1;
      cached ??= build();
      return Promise.resolve(cached);
    },
    setVendor(v) {
      const vendor = Object.freeze(vendorSchema.parse(v));
      vendors.set(vendor.id, vendor);
      changed();
    },
    removeVendor(id) {
      vendors.delete(id);
      changed();
    },
    setUseCase(useCase) {
      useCases.set(useCase.id, toHeld(useCase));
      changed();
    },
    setUseCaseState(id, state) {
      const held = useCases.get(id);
      if (!held) throw new Error(`no use case ${id} in the memory registry`);
      useCases.set(id, Object.freeze({ ...held, state }));
      changed();
    },
    removeUseCase(id) {
      useCases.delete(id);
      changed();
    },
    get revision() {
      return revision;
    },
    get snapshots() {
      return snapshots;
    },
  };
}
