// SPDX-License-Identifier: Apache-2.0
/**
 * The configured endpoints and the models they serve, and each endpoint's PHI clearance.
 *
 * Clearance comes only from the registry: an endpoint may receive raw or pseudonymised PHI when
 * it is self-hosted, or when its vendor's BAA covers its service at this moment (`baaCoverage`)
 * and its region lies within the BAA's data residency (when the BAA restricts it). An endpoint
 * that names no vendor and service receives only de-identified payloads. Clearance is computed
 * per request from a registry snapshot, so a revoked BAA takes effect on the next request.
 */
import type { EndpointConfig } from '../config/schema.js';
import type { Provider } from '../providers/provider.js';
import { baaCoverage, type Coverage, type CoverageReason } from './baa.js';
import type { RegistrySnapshot } from './registry-view.js';

export type Capability = 'chat' | 'embeddings';

export interface EndpointRoute {
  readonly endpoint: EndpointConfig;
  readonly provider: Provider;
  readonly upstreamModel: string;
}

export interface EndpointDirectory {
  /**
   * The primary endpoint for a model (the first configured endpoint serving it), then its
   * declared fallbacks that serve it; empty when no endpoint serves it. Whether each may take a
   * given payload depends on the registry at that moment: the egress check decides, per call.
   */
  routesFor(model: string, capability: Capability): readonly EndpointRoute[];
  /**
   * Every endpoint serving a model, in preference order: `routesFor`, then the other endpoints
   * serving it in configuration order. The routing decision (policy/routing.ts) chooses among
   * them, so a use case restricted to one vendor can be served by a later endpoint.
   */
  candidatesFor(model: string, capability: Capability): readonly EndpointRoute[];
  /** Every model name with the capabilities configured for it. */
  models(): readonly { readonly name: string; readonly endpointId: string; readonly capabilities: readonly Capability[] }[];
  providers(): readonly Provider[];
}

/** Why an endpoint is, or is not, cleared for PHI. */
export type ClearanceReason =
  | 'self_hosted'
  | 'covered'
  /** The endpoint names no vendor or no service, so no BAA can cover it. */
  | 'no_vendor'
  /** The BAA covers the service but restricts data residency, and the endpoint's region is outside it (or unknown). */
  | 'region_outside_residency'
  | Exclude<CoverageReason, 'covered'>;

export interface Clearance {
  /** True when raw or pseudonymised PHI may go to the endpoint. */
  readonly cleared: boolean;
  readonly reason: ClearanceReason;
}

/**
 * Whether `region` lies within a BAA's data residency list: an empty list does not restrict; an
 * entry matches the region itself or any region it prefixes at a `-` boundary (`us` covers
 * `us-east-1`). Region names are the vendor's own, compared exactly; an unknown region never
 * matches a restricting list.
 */
export function regionWithin(region: string | undefined, residency: readonly string[]): boolean {
  if (residency.length === 0) return true;
  if (region === undefined) return false;
  return residency.some((entry) => region === entry || region.startsWith(`${entry}-`));
}

/** Where an endpoint processes data: its `region`, or a Vertex endpoint's location. */
export function endpointRegionOf(endpoint: EndpointConfig): string | undefined {
  return endpoint.region ?? (endpoint.kind === 'vertex' ? endpoint.location : undefined);
}

/**
 * Clearance from the facts: self-hosted first; otherwise the BAA coverage (undefined when the
 * endpoint names no vendor/service), then the residency check.
 */
export function clearanceFrom(selfHosted: boolean, coverage: Coverage | undefined, region: string | undefined, residency: readonly string[]): Clearance {
  if (selfHosted) return { cleared: true, reason: 'self_hosted' };
  if (coverage === undefined) return { cleared: false, reason: 'no_vendor' };
  if (!coverage.covered) return { cleared: false, reason: coverage.reason as Exclude<CoverageReason, 'covered'> };
  if (!regionWithin(region, residency)) return { cleared: false, reason: 'region_outside_residency' };
  return { cleared: true, reason: 'covered' };
}

/** An endpoint's clearance with the registry facts behind it, for routing and the audit record. */
export interface EndpointClearance extends Clearance {
  /** BAA coverage of the endpoint's service; undefined when it names no vendor or service. */
  readonly coverage: Coverage | undefined;
  /** The BAA's data residency list (empty: unrestricted, or no vendor). */
  readonly residency: readonly string[];
  readonly vendorId: string | undefined;
  /** The BAA's expiry day (YYYY-MM-DD), when the vendor's record has one. */
  readonly baaExpiry: string | undefined;
}

/**
 * A registry that knows nothing: no vendor, no use case. Read in its place when nothing depends
 * on the registry (only self-hosted endpoints, no use case named), it can only ever deny, so it
 * saves the store a query on the self-hosted hot path without granting anything.
 */
export const unreadRegistry: RegistrySnapshot = Object.freeze({
  revision: 0,
  vendor: () => undefined,
  vendors: () => [],
  useCaseState: () => undefined,
  liveUseCase: () => undefined,
});

/** Whether an endpoint's clearance depends on the registry at all (self-hosted ones do not). */
export function needsRegistry(endpoint: EndpointConfig): boolean {
  return !endpoint.selfHosted;
}

/** The endpoint's clearance under `snapshot` at `now` (epoch ms). */
export function endpointClearance(endpoint: EndpointConfig, snapshot: RegistrySnapshot, now: number): EndpointClearance {
  const vendor = endpoint.vendor === undefined ? undefined : snapshot.vendor(endpoint.vendor);
  const coverage = endpoint.vendor === undefined || endpoint.service === undefined ? undefined : baaCoverage(vendor, endpoint.service, now);
  const residency = vendor?.baa.dataResidency ?? [];
  return {
    ...clearanceFrom(endpoint.selfHosted, coverage, endpointRegionOf(endpoint), residency),
    coverage,
    residency,
    vendorId: endpoint.vendor,
    baaExpiry: vendor?.baa.expiryDate,
  };
}

export function createEndpointDirectory(endpoints: readonly EndpointConfig[], providers: ReadonlyMap<string, Provider>): EndpointDirectory {
  const byId = new Map(endpoints.map((endpoint) => [endpoint.id, endpoint]));
  const cache = new Map<string, readonly EndpointRoute[]>();

  function routeOn(endpoint: EndpointConfig, model: string, capability: Capability): EndpointRoute | undefined {
    const entry = endpoint.models.find((m) => m.name === model && m.capabilities.includes(capability));
    const provider = providers.get(endpoint.id);
    if (!entry || !provider) return undefined;
    return { endpoint, provider, upstreamModel: entry.upstream ?? entry.name };
  }

  /** The primary and its fallbacks (`all` false), or every endpoint serving the model after them (`all` true). */
  function compute(model: string, capability: Capability, all: boolean): readonly EndpointRoute[] {
    const routes: EndpointRoute[] = [];
    const seen = new Set<string>();
    const add = (endpoint: EndpointConfig | undefined): void => {
      if (!endpoint || seen.has(endpoint.id)) return;
      const route = routeOn(endpoint, model, capability);
      if (!route) return;
      seen.add(endpoint.id);
      routes.push(route);
    };
    const primary = endpoints.find((endpoint) => routeOn(endpoint, model, capability) !== undefined);
    if (!primary) return [];
    add(primary);
    for (const fallbackId of primary.fallbacks) add(byId.get(fallbackId));
    if (all) for (const endpoint of endpoints) add(endpoint);
    return Object.freeze(routes);
  }

  function cached(model: string, capability: Capability, all: boolean): readonly EndpointRoute[] {
    const key = `${all ? 'all' : 'chain'}\u0000${capability}\u0000${model}`;
    let routes = cache.get(key);
    if (!routes) {
      routes = compute(model, capability, all);
      // Only cache names that exist, so unknown names sent by callers cannot grow the map.
      if (routes.length > 0) cache.set(key, routes);
    }
    return routes;
  }

  const modelList = endpoints.flatMap((endpoint) =>
    endpoint.models.map((m) => ({ name: m.name, endpointId: endpoint.id, capabilities: m.capabilities })),
  );

  return {
    routesFor: (model, capability) => cached(model, capability, false),
    candidatesFor: (model, capability) => cached(model, capability, true),
    models: () => modelList,
    providers: () => [...providers.values()],
  };
}
