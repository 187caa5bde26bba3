// SPDX-License-Identifier: Apache-2.0
/**
 * The configured endpoints and the models they serve: which endpoint answers a model name,
 * and which fallbacks may stand in for it. A fallback is used only when it has the same PHI
 * clearance as the primary, so a failure can never move a payload somewhere less protected.
 */
import type { EndpointConfig } from '../config/schema.js';
import type { Provider } from '../providers/provider.js';

export type Capability = 'chat' | 'embeddings';

export interface EndpointRoute {
  readonly endpoint: EndpointConfig;
  readonly provider: Provider;
  readonly upstreamModel: string;
}

export interface EndpointDirectory {
  /** The primary endpoint for a model, then its eligible fallbacks; empty when no endpoint serves it. */
  routesFor(model: string, capability: Capability): readonly EndpointRoute[];
  /** Every model name with the capabilities configured for it. */
  models(): readonly { readonly name: string; readonly endpointId: string; readonly capabilities: readonly Capability[] }[];
  providers(): readonly Provider[];
}

/** Whether raw PHI may go to this endpoint. */
export function phiClearance(endpoint: EndpointConfig): 'phi' | 'deidentified' {
  return endpoint.phiAllowed || endpoint.selfHosted ? 'phi' : 'deidentified';
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

  function compute(model: string, capability: Capability): readonly EndpointRoute[] {
    for (const endpoint of endpoints) {
      const primary = routeOn(endpoint, model, capability);
      if (!primary) continue;
      const routes = [primary];
      for (const fallbackId of endpoint.fallbacks) {
        const fallback = byId.get(fallbackId);
        if (!fallback || phiClearance(fallback) !== phiClearance(endpoint)) continue;
        const route = routeOn(fallback, model, capability);
        if (route) routes.push(route);
      }
      return Object.freeze(routes);
    }
    return [];
  }

  const modelList = endpoints.flatMap((endpoint) =>
    endpoint.models.map((m) => ({ name: m.name, endpointId: endpoint.id, capabilities: m.capabilities })),
  );

  return {
    routesFor(model, capability) {
      const key = `${capability}\u0000${model}`;
      let routes = cache.get(key);
      if (!routes) {
        routes = compute(model, capability);
        // Only cache names that exist, so unknown names sent by callers cannot grow the map.
        if (routes.length > 0) cache.set(key, routes);
      }
      return routes;
    },
    models: () => modelList,
    providers: () => [...providers.values()],
  };
}
