// SPDX-License-Identifier: Apache-2.0
/**
 * A FHIR R4 client for the reads phigate makes: one resource by id, and searches paged up to a
 * limit. Parsing is strict where it matters and tolerant elsewhere: a body must be a JSON object
 * of the expected `resourceType`, each search match must be a resource of the searched type with
 * a valid id — one malformed entry fails the whole search (nothing is passed on partially) —
 * while unknown elements, `include` entries and `outcome` entries are simply not used. Paging
 * follows `next` links only under the configured base URL, so the bearer token never goes to
 * another server.
 */
import { GatewayError, type SafeDetail } from '../kernel/errors.js';
import { exchange, isJsonContentType, parseJsonObject, type CallBudget, type HttpAnswer, type HttpOptions } from './http.js';
import type { FhirResource } from './projection.js';
import type { SmartBackendAuth } from './smart-backend.js';

/** FHIR logical ids: `[A-Za-z0-9\-\.]{1,64}`. */
export const fhirIdPattern = /^[A-Za-z0-9.-]{1,64}$/;
const resourceTypePattern = /^[A-Z][A-Za-z]{1,63}$/;

export interface FhirCall extends CallBudget {
  /** The SMART scopes the token for this call must carry (the request's whole need, so one token serves it). */
  readonly scopes: readonly string[];
}

export interface FhirClientOptions {
  readonly baseUrl: string;
  readonly auth: SmartBackendAuth;
  readonly http: HttpOptions;
  /** `_count` per page. */
  readonly pageSize: number;
}

export interface FhirClient {
  /** The resource, or undefined when the server says it does not exist (404, 410). */
  read(resourceType: string, id: string, call: FhirCall): Promise<FhirResource | undefined>;
  /** Matches of a search, following `next` links until `limit` resources or the last page. */
  search(resourceType: string, params: Readonly<Record<string, string>>, limit: number, call: FhirCall): Promise<readonly FhirResource[]>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Whether `value` is a resource of `resourceType` with a valid id. */
export function isResourceOf(value: unknown, resourceType: string): value is FhirResource {
  return isObject(value) && value.resourceType === resourceType && typeof value.id === 'string' && fhirIdPattern.test(value.id);
}

export function createFhirClient(options: FhirClientOptions): FhirClient {
  const base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  const { http, auth } = options;

  /** Whether a server-given URL stays under our base URL (same origin and path prefix). */
  function isUnderBase(url: URL): boolean {
    return url.origin === base.origin && url.pathname.startsWith(base.pathname) && url.username === '' && url.password === '';
  }

  async function get(url: string, call: FhirCall, detail: SafeDetail): Promise<HttpAnswer> {
    const token = await auth.accessToken(call.scopes, call);
    const answer = await exchange(http, url, { method: 'GET', headers: { accept: 'application/fhir+json', authorization: `Bearer ${token}` } }, call, detail);
    if (answer.status === 401) {
      auth.invalidate(call.scopes);
      throw new GatewayError('fhir_unavailable', { detail: { ...detail, reason: 'unauthorized', status: 401 } });
    }
    if (answer.status === 403) throw new GatewayError('fhir_unavailable', { detail: { ...detail, reason: 'forbidden', status: 403 } });
    return answer;
  }

  function expectJson(answer: HttpAnswer, detail: SafeDetail): Record<string, unknown> {
    if (!isJsonContentType(answer.headers.get('content-type'))) throw new GatewayError('fhir_bad_response', { detail: { ...detail, reason: 'content_type' } });
    return parseJsonObject(answer, detail);
  }

  return {
    async read(resourceType, id, call) {
      if (!resourceTypePattern.test(resourceType) || !fhirIdPattern.test(id)) throw new GatewayError('internal_error');
      const detail = { stage: 'read', resourceType } as const;
      const answer = await get(new URL(`${resourceType}/${id}`, base).href, call, detail);
      if (answer.status === 404 || answer.status === 410) return undefined;
      if (answer.status !== 200) throw new GatewayError('fhir_unavailable', { detail: { ...detail, reason: 'status', status: answer.status } });
      const json = expectJson(answer, detail);
      if (json.resourceType !== resourceType) throw new GatewayError('fhir_bad_response', { detail: { ...detail, reason: 'wrong_resource_type' } });
      if (json.id !== id) throw new GatewayError('fhir_bad_response', { detail: { ...detail, reason: 'wrong_id' } });
      return json as FhirResource;
    },

    async search(resourceType, params, limit, call) {
      if (!resourceTypePattern.test(resourceType)) throw new GatewayError('internal_error');
      const detail = { stage: 'search', resourceType } as const;
      const first = new URL(resourceType, base);
      for (const [name, value] of Object.entries(params)) first.searchParams.append(name, value);
      first.searchParams.set('_count', String(Math.max(1, Math.min(limit, options.pageSize))));
      const out: FhirResource[] = [];
      let next: URL | undefined = first;
      // Every page must add at least one match, so `limit` pages is a hard bound.
      for (let page = 0; next !== undefined && out.length < limit && page < limit; page += 1) {
        const answer = await get(next.href, call, detail);
        if (answer.status !== 200) throw new GatewayError('fhir_unavailable', { detail: { ...detail, reason: 'status', status: answer.status } });
        const bundle = expectJson(answer, detail);
        if (bundle.resourceType !== 'Bundle') throw new GatewayError('fhir_bad_response', { detail: { ...detail, reason: 'not_a_bundle' } });
        if (bundle.type !== undefined && bundle.type !== 'searchset') throw new GatewayError('fhir_bad_response', { detail: { ...detail, reason: 'not_a_searchset' } });
        if (bundle.entry !== undefined && !Array.isArray(bundle.entry)) throw new GatewayError('fhir_bad_response', { detail: { ...detail, reason: 'malformed_entry' } });
        const entries: readonly unknown[] = bundle.entry ?? [];
        const matches: FhirResource[] = [];
        entries.forEach((entry, index) => {
          if (!isObject(entry)) throw new GatewayError('fhir_bad_response', { detail: { ...detail, reason: 'malformed_entry', entry: index } });
          const mode = isObject(entry.search) ? entry.search.mode : undefined;
          if (mode === 'include' || mode === 'outcome') return;
          if (mode !== undefined && mode !== 'match') throw new GatewayError('fhir_bad_response', { detail: { ...detail, reason: 'malformed_entry', entry: index } });
          if (!isResourceOf(entry.resource, resourceType)) throw new GatewayError('fhir_bad_response', { detail: { ...detail, reason: 'malformed_entry', entry: index } });
          matches.push(entry.resource);
        });
        for (const match of matches) if (out.length < limit) out.push(match);
        if (matches.length === 0) break;
        next = undefined;
        const links: readonly unknown[] = Array.isArray(bundle.link) ? bundle.link : [];
        const nextLink = links.find((l): l is Record<string, unknown> => isObject(l) && l.relation === 'next');
        if (nextLink !== undefined && out.length < limit) {
          let url: URL;
          try {
            url = new URL(String(nextLink.url), base);
          } catch {
            throw new GatewayError('fhir_bad_response', { detail: { ...detail, reason: 'malformed_next_link' } });
          }
          if (!isUnderBase(url)) throw new GatewayError('fhir_bad_response', { detail: { ...detail, reason: 'foreign_next_link' } });
          next = url;
        }
      }
      return out;
    },
  };
}
