// SPDX-License-Identifier: Apache-2.0
/**
 * What the request road reads from the registry: one consistent snapshot of vendors and live
 * use-case versions per request. The implementation (registry/registry-store.ts) re-reads the
 * store's revision counter on every `snapshot()` call, so a revoked BAA or a suspended use case
 * takes effect on the next request, on every gateway instance.
 */
import type { UseCaseSpec } from './use-case-spec.js';
import type { Vendor } from './vendor-spec.js';

/** Lifecycle of a use case (registry/governance.ts holds the transition table). */
export const useCaseStates = ['draft', 'submitted', 'approved', 'live', 'suspended', 'retired'] as const;
export type UseCaseState = (typeof useCaseStates)[number];

/** Lifecycle of one version. */
export const versionStates = ['draft', 'submitted', 'approved', 'rejected', 'superseded'] as const;
export type VersionState = (typeof versionStates)[number];

/** The version of a use case that serves traffic. */
export interface LiveUseCase {
  readonly id: string;
  readonly version: number;
  readonly spec: UseCaseSpec;
}

export interface RegistrySnapshot {
  /** Increases with every committed registry change. */
  readonly revision: number;
  vendor(id: string): Vendor | undefined;
  vendors(): readonly Vendor[];
  /** The state of a use case, or undefined when no such use case exists. */
  useCaseState(id: string): UseCaseState | undefined;
  /** The serving version; undefined unless the use case is `live`. */
  liveUseCase(id: string): LiveUseCase | undefined;
}

export interface RegistryView {
  /** The current snapshot; re-reads the store when its revision moved. */
  snapshot(): Promise<RegistrySnapshot>;
}
