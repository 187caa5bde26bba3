// SPDX-License-Identifier: Apache-2.0
// The FHIR client against an injected fetch that answers like a FHIR server would (and like a
// broken one): paging, malformed bodies and entries, retries, size limits, time limits.
import { describe, expect, it } from 'vitest';
import { rejection } from '../kernel/testing/rejection.js';
import { createFhirClient, type FhirCall } from './client.js';
import type { FetchLike, HttpOptions } from './http.js';
import type { SmartBackendAuth } from './smart-backend.js';

const base = 'https://ehr.example.org/fhir/R4';

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/fhir+json', ...headers } });
}

function observations(n: number, from = 0): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({ resourceType: 'Observation', id: `o${from + i}`, subject: { reference: 'Patient/p1' } }));
}

/** A search endpoint over `total` Observations honouring `_count` and `_offset`, with next links. */
function pagingServer(total: number, calls: URL[]): FetchLike {
  return async (input) => {
    const url = new URL(input);
    calls.push(url);
    const count = Number(url.searchParams.get('_count') ?? 10);
    const offset = Number(url.searchParams.get('_offset') ?? 0);
    const entries = observations(Math.max(0, Math.min(count, total - offset)), offset).map((resource) => ({ resource, search: { mode: 'match' } }));
    const next = new URL(url.href);
    next.searchParams.set('_offset', String(offset + count));
    return json({ resourceType: 'Bundle', type: 'searchset', total, entry: entries, link: offset + count < total ? [{ relation: 'next', url: next.href }] : [] });
  };
}

function testAuth(): SmartBackendAuth & { invalidated: number; scopesSeen: string[][] } {
  const state = {
    invalidated: 0,
    scopesSeen: [] as string[][],
    accessToken(scopes: readonly string[]) {
      state.scopesSeen.push([...scopes]);
      return Promise.resolve('test-token');
    },
    invalidate() {
      state.invalidated += 1;
    },
  };
  return state;
}

function client(fetchImpl: FetchLike, overrides: Partial<HttpOptions> = {}, auth = testAuth()) {
  const http: HttpOptions = { fetch: fetchImpl, clock: { now: () => Date.now() }, timeoutMs: 2_000, maxRetries: 2, maxResponseBytes: 64 * 1024, sleep: () => Promise.resolve(), ...overrides };
  return createFhirClient({ baseUrl: base, auth, http, pageSize: 3 });
}

const call = (overrides: Partial<FhirCall> = {}): FhirCall => ({ signal: new AbortController().signal, deadline: Date.now() + 10_000, scopes: ['system/Observation.rs', 'system/Patient.rs'], ...overrides });

describe('FhirClient.read', () => {
  it('reads a resource with the bearer token and FHIR accept header', async () => {
    let seen: RequestInit | undefined;
    let url = '';
    const c = client((input, init) => {
      url = input;
      seen = init;
      return Promise.resolve(json({ resourceType: 'Patient', id: 'p1', birthDate: '1970-01-01' }));
    });
    expect(await c.read('Patient', 'p1', call())).toEqual({ resourceType: 'Patient', id: 'p1', birthDate: '1970-01-01' });
    expect(url).toBe(`${base}/Patient/p1`);
    expect(new Headers(seen?.headers).get('authorization')).toBe('Bearer test-token');
    expect(new Headers(seen?.headers).get('accept')).toBe('application/fhir+json');
    expect(seen?.redirect).toBe('manual');
  });

  it('returns undefined for 404 and 410', async () => {
    expect(await client(() => Promise.resolve(json({ resourceType: 'OperationOutcome' }, 404))).read('Patient', 'p1', call())).toBeUndefined();
    expect(await client(() => Promise.resolve(json({ resourceType: 'OperationOutcome' }, 410))).read('Patient', 'p1', call())).toBeUndefined();
  });

  it.each([
    ['another resource type', () => json({ resourceType: 'Observation', id: 'p1' }), 'fhir_bad_response', 'wrong_resource_type'],
    ['another id', () => json({ resourceType: 'Patient', id: 'p2' }), 'fhir_bad_response', 'wrong_id'],
    ['a JSON array', () => json([1, 2]), 'fhir_bad_response', 'not_an_object'],
    ['invalid JSON', () => new Response('{"resourceType": "Pat', { headers: { 'content-type': 'application/fhir+json' } }), 'fhir_bad_response', 'invalid_json'],
    ['HTML', () => new Response('<html></html>', { headers: { 'content-type': 'text/html' } }), 'fhir_bad_response', 'content_type'],
    ['a redirect', () => new Response(null, { status: 302, headers: { location: 'https://evil.example/' } }), 'fhir_bad_response', 'redirect'],
    ['a server error', () => json({ resourceType: 'OperationOutcome' }, 500), 'fhir_unavailable', 'status'],
    ['forbidden', () => json({ resourceType: 'OperationOutcome' }, 403), 'fhir_unavailable', 'forbidden'],
  ] as const)('refuses %s with a typed error', async (_name, answer, code, reason) => {
    const err = await rejection(client(() => Promise.resolve(answer())).read('Patient', 'p1', call()));
    expect(err.code).toBe(code);
    expect(err.detail).toMatchObject({ stage: 'read', resourceType: 'Patient', reason });
  });

  it('forgets the token after a 401', async () => {
    const auth = testAuth();
    const err = await rejection(client(() => Promise.resolve(json({}, 401)), {}, auth).read('Patient', 'p1', call()));
    expect(err.code).toBe('fhir_unavailable');
    expect(auth.invalidated).toBe(1);
  });

  it('maps a network failure to fhir_unavailable', async () => {
    const err = await rejection(client(() => Promise.reject(new TypeError('fetch failed'))).read('Patient', 'p1', call()));
    expect(err.code).toBe('fhir_unavailable');
    expect(err.detail).toMatchObject({ reason: 'unreachable' });
  });
});

describe('FhirClient.search', () => {
  it('pages with _count up to the limit and stops there', async () => {
    const calls: URL[] = [];
    const found = await client(pagingServer(20, calls)).search('Observation', { category: 'laboratory', patient: 'Patient/p1' }, 7, call());
    expect(found.map((r) => r.id)).toEqual(['o0', 'o1', 'o2', 'o3', 'o4', 'o5', 'o6']);
    expect(calls).toHaveLength(3);
    expect(calls[0]?.searchParams.get('_count')).toBe('3');
    expect(calls[0]?.searchParams.get('category')).toBe('laboratory');
    expect(calls[0]?.searchParams.get('patient')).toBe('Patient/p1');
  });

  it('asks for no more than the limit when it is below the page size', async () => {
    const calls: URL[] = [];
    expect(await client(pagingServer(20, calls)).search('Observation', {}, 2, call())).toHaveLength(2);
    expect(calls.map((u) => u.searchParams.get('_count'))).toEqual(['2']);
  });

  it('ends at the last page', async () => {
    const calls: URL[] = [];
    expect(await client(pagingServer(4, calls)).search('Observation', {}, 50, call())).toHaveLength(4);
    expect(calls).toHaveLength(2);
  });

  it('skips include and outcome entries and accepts an empty searchset', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [
        { resource: observations(1)[0], search: { mode: 'match' } },
        { resource: { resourceType: 'Practitioner', id: 'dr1' }, search: { mode: 'include' } },
        { resource: { resourceType: 'OperationOutcome', issue: [] }, search: { mode: 'outcome' } },
        { resource: observations(1, 1)[0] },
      ],
    };
    expect((await client(() => Promise.resolve(json(bundle))).search('Observation', {}, 10, call())).map((r) => r.id)).toEqual(['o0', 'o1']);
    expect(await client(() => Promise.resolve(json({ resourceType: 'Bundle', type: 'searchset' }))).search('Observation', {}, 10, call())).toEqual([]);
  });

  it.each([
    ['an entry that is not an object', ['nope'], 'malformed_entry'],
    ['a resource of another type', [{ resource: { resourceType: 'Condition', id: 'c1' } }], 'malformed_entry'],
    ['a resource without an id', [{ resource: { resourceType: 'Observation' } }], 'malformed_entry'],
    ['a resource with an invalid id', [{ resource: { resourceType: 'Observation', id: 'has spaces' } }], 'malformed_entry'],
    ['an unknown search mode', [{ resource: observations(1)[0], search: { mode: 'other' } }], 'malformed_entry'],
  ])('fails the whole search for %s, even after good entries', async (_name, bad, reason) => {
    const bundle = { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: observations(1)[0] }, ...bad] };
    const err = await rejection(client(() => Promise.resolve(json(bundle))).search('Observation', {}, 10, call()));
    expect(err.code).toBe('fhir_bad_response');
    expect(err.detail).toMatchObject({ stage: 'search', resourceType: 'Observation', reason });
  });

  it('refuses a body that is not a searchset Bundle', async () => {
    expect((await rejection(client(() => Promise.resolve(json({ resourceType: 'OperationOutcome' }))).search('Observation', {}, 10, call()))).detail).toMatchObject({ reason: 'not_a_bundle' });
    expect((await rejection(client(() => Promise.resolve(json({ resourceType: 'Bundle', type: 'transaction' }))).search('Observation', {}, 10, call()))).detail).toMatchObject({ reason: 'not_a_searchset' });
  });

  it('never follows a next link to another server', async () => {
    const bundle = { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: observations(1)[0] }], link: [{ relation: 'next', url: 'https://elsewhere.example/fhir/R4/Observation?page=2' }] };
    const urls: string[] = [];
    const err = await rejection(
      client((input) => {
        urls.push(input);
        return Promise.resolve(json(bundle));
      }).search('Observation', {}, 10, call()),
    );
    expect(err.detail).toMatchObject({ reason: 'foreign_next_link' });
    expect(urls).toHaveLength(1);
  });
});

describe('FhirClient retries, limits and time', () => {
  it('retries 503 and 429 answers, honouring Retry-After, up to maxRetries', async () => {
    const answers = [json({}, 503), json({}, 429, { 'retry-after': '0' }), json({ resourceType: 'Patient', id: 'p1' })];
    const waits: number[] = [];
    const c = client(() => Promise.resolve(answers.shift() as Response), {
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
    });
    expect(await c.read('Patient', 'p1', call())).toMatchObject({ id: 'p1' });
    expect(waits).toEqual([100, 0]);
  });

  it('gives up after maxRetries, and never retries other failures', async () => {
    let calls = 0;
    const overloaded = client(() => {
      calls += 1;
      return Promise.resolve(json({}, 503));
    });
    const err = await rejection(overloaded.read('Patient', 'p1', call()));
    expect(err.code).toBe('fhir_unavailable');
    expect(err.detail).toMatchObject({ reason: 'overloaded', status: 503, attempts: 3 });
    expect(calls).toBe(3);
    calls = 0;
    await rejection(
      client(() => {
        calls += 1;
        return Promise.resolve(json({}, 500));
      }).read('Patient', 'p1', call()),
    );
    expect(calls).toBe(1);
  });

  it('does not wait for a Retry-After longer than it allows', async () => {
    let calls = 0;
    const err = await rejection(
      client(() => {
        calls += 1;
        return Promise.resolve(json({}, 429, { 'retry-after': '120' }));
      }).read('Patient', 'p1', call()),
    );
    expect(err.code).toBe('fhir_unavailable');
    expect(calls).toBe(1);
  });

  it('refuses a body larger than the limit, declared or streamed', async () => {
    const big = JSON.stringify({ resourceType: 'Patient', id: 'p1', padding: 'x'.repeat(100_000) });
    const declared = await rejection(client(() => Promise.resolve(new Response(big, { headers: { 'content-type': 'application/fhir+json', 'content-length': String(big.length) } }))).read('Patient', 'p1', call()));
    expect(declared.code).toBe('context_too_large');
    expect(declared.detail).toMatchObject({ source: 'fhir', limitBytes: 64 * 1024 });
    let cancelled = false;
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        controller.enqueue(new TextEncoder().encode('x'.repeat(16 * 1024)));
      },
      cancel() {
        cancelled = true;
      },
    });
    const streamed = await rejection(client(() => Promise.resolve(new Response(stream, { headers: { 'content-type': 'application/fhir+json' } }))).read('Patient', 'p1', call()));
    expect(streamed.code).toBe('context_too_large');
    expect(cancelled).toBe(true);
    expect(pulled).toBeLessThan(10);
  });

  const hanging: FetchLike = (_input, init) => new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));

  it('times out one call after timeoutMs and the whole request at the deadline', async () => {
    const started = Date.now();
    const perCall = await rejection(client(hanging, { timeoutMs: 100 }).read('Patient', 'p1', call()));
    expect(perCall.code).toBe('fhir_timeout');
    expect(perCall.detail).toMatchObject({ limit: 'call' });
    const past = await rejection(client(hanging).read('Patient', 'p1', call({ deadline: Date.now() - 1 })));
    expect(past.code).toBe('fhir_timeout');
    expect(past.detail).toMatchObject({ limit: 'deadline' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('stops when the caller aborts', async () => {
    const controller = new AbortController();
    const pending = client(hanging, { timeoutMs: 60_000 }).read('Patient', 'p1', call({ signal: controller.signal }));
    setTimeout(() => controller.abort(), 20);
    expect((await rejection(pending)).code).toBe('client_disconnected');
  });
});
