// SPDX-License-Identifier: Apache-2.0
/**
 * Every byte that leaves for a vendor, seen from outside the gateway. A loopback forward proxy
 * (the stand-in for a hospital's egress proxy) sits in front of local wire-format vendor servers;
 * the gateway (`egress.proxyUrl`) has endpoints of several vendors — BAA signed and covering,
 * signed but not covering the service, expired, not signed, a consumer app, self-hosted — and
 * live use cases of every deployment pattern. A battery of requests with planted identifiers and
 * sensitivity labels goes through the official `openai` SDK; the proxy's record then shows that
 * each request reached only the endpoint allowed for it, that what reached an endpoint not
 * cleared for PHI carried none of the planted identifiers, that sensitive payloads reached only
 * the self-hosted endpoint, and that a BAA terminated through the admin API stops the very next
 * request with no traffic to that vendor.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropicServer } from '../../src/providers/testing/fake-anthropic-server.js';
import { fakeAwsCredentials, startFakeBedrockServer } from '../../src/providers/testing/fake-bedrock-server.js';
import { startFakeOpenAiServer } from '../../src/providers/testing/fake-openai-server.js';
import type { FakeVendorServer } from '../../src/providers/testing/fake-server.js';
import { startFakeVertexServer } from '../../src/providers/testing/fake-vertex-server.js';
import { createVendorRepo } from '../../src/store/repos/vendor-repo.js';
import { startEgressProxy, type EgressProxy, type ProxyRecord } from '../support/egress-proxy.js';
import { startTestGateway, trustingFetch, type TestGateway } from '../support/gateway.js';
import { createRegistryAdmin, dayFromNow, type RegistryAdmin } from '../support/registry-admin.js';
import { generateApiKey } from '../../src/auth/api-keys.js';
import { uuidv7 } from '../../src/kernel/ids.js';

/** Identifiers planted in every prompt; none may reach an endpoint not cleared for PHI. */
const planted = ['Maria Gonzalez', 'Gonzalez', '84736251', '03/04/1961', '617-555-0123', 'maria.gonzalez@example.org', '123-45-6789'];
const note =
  'Summarise for the chart: Maria Gonzalez (MRN 84736251, DOB 03/04/1961), phone 617-555-0123, email maria.gonzalez@example.org, SSN 123-45-6789. BP 142/90 on two visits; started lisinopril 10 mg.';

interface EndpointCase {
  readonly id: string;
  readonly model: string;
  /** May receive raw PHI (self-hosted, or BAA-covered now within residency). */
  readonly cleared: boolean;
  readonly selfHosted: boolean;
  /** A BAA was signed and has lapsed. */
  readonly lapsed: boolean;
  server: FakeVendorServer;
}

const servers: FakeVendorServer[] = [];
let proxy: EgressProxy;
let gw: TestGateway;
let admin: RegistryAdmin;
let client: OpenAI;
const cases: Record<string, EndpointCase> = {};

const allModels = ['gpt-4o', 'chatgpt', 'gemini', 'claude-bedrock', 'claude', 'llama-local'].map((name) => ({ name }));
const spec = (pattern: string, extra: Record<string, unknown> = {}) => ({
  name: `Routing test (${pattern})`,
  owner: 'u-owner',
  description: 'Summaries for the routing test.',
  classification: 'administrative',
  deploymentPattern: pattern,
  purposes: ['TREAT'],
  roles: ['physician'],
  vendors: ['openai', 'google', 'amazon', 'anthropic'],
  models: allModels,
  ...extra,
});

beforeAll(async () => {
  proxy = await startEgressProxy();
  const [covered, consumer, vertex, bedrock, anthropic, local] = await Promise.all([
    startFakeOpenAiServer({ apiKey: 'k' }),
    startFakeOpenAiServer({ apiKey: 'k' }),
    startFakeVertexServer(),
    startFakeBedrockServer(),
    startFakeAnthropicServer({ apiKey: 'k' }),
    startFakeOpenAiServer({ apiKey: 'k' }),
  ]);
  servers.push(covered, consumer, vertex, bedrock, anthropic, local);
  gw = await startTestGateway({
    egressProxyUrl: proxy.url,
    env: { KEY: 'k', SA: vertex.serviceAccountKey, AWS_ID: fakeAwsCredentials.accessKeyId, AWS_SECRET: fakeAwsCredentials.secretAccessKey },
    config: {
      endpoints: [
        { id: 'openai-covered', kind: 'openai', baseUrl: `${covered.url}/v1`, apiKey: 'env:KEY', vendor: 'openai', service: 'api-enterprise', region: 'us-east-1', maxRetries: 0, models: [{ name: 'gpt-4o' }] },
        { id: 'openai-consumer', kind: 'openai', baseUrl: `${consumer.url}/v1`, apiKey: 'env:KEY', vendor: 'openai', service: 'chatgpt-consumer', region: 'us-east-1', maxRetries: 0, models: [{ name: 'chatgpt' }] },
        { id: 'vertex-not-covered', kind: 'vertex', project: 'p1', location: 'us-central1', baseUrl: vertex.url, tokenUrl: vertex.tokenUrl, serviceAccountKey: 'env:SA', vendor: 'google', service: 'vertex-ai', maxRetries: 0, models: [{ name: 'gemini', upstream: 'gemini-1.5-pro-002' }] },
        { id: 'bedrock-expired', kind: 'bedrock', region: 'us-east-1', baseUrl: bedrock.url, accessKeyId: 'env:AWS_ID', secretAccessKey: 'env:AWS_SECRET', vendor: 'amazon', service: 'bedrock', maxRetries: 0, models: [{ name: 'claude-bedrock', upstream: 'anthropic.claude-3-5-sonnet-20240620-v1:0' }] },
        { id: 'anthropic-unsigned', kind: 'anthropic', baseUrl: anthropic.url, apiKey: 'env:KEY', vendor: 'anthropic', service: 'api-enterprise', region: 'us', maxRetries: 0, models: [{ name: 'claude', upstream: 'claude-sonnet-4-5' }] },
        { id: 'vllm-local', kind: 'openai-compatible', baseUrl: `${local.url}/v1`, apiKey: 'env:KEY', selfHosted: true, maxRetries: 0, models: [{ name: 'llama-local', upstream: 'meta-llama/Llama-3.1-8B-Instruct' }] },
      ],
    },
  });
  const add = (id: string, model: string, server: FakeVendorServer, cleared: boolean, selfHosted = false, lapsed = false): void => {
    cases[id] = { id, model, server, cleared, selfHosted, lapsed };
  };
  add('openai-covered', 'gpt-4o', covered, true);
  add('openai-consumer', 'chatgpt', consumer, false);
  add('vertex-not-covered', 'gemini', vertex, false);
  add('bedrock-expired', 'claude-bedrock', bedrock, false, false, true);
  add('anthropic-unsigned', 'claude', anthropic, false);
  add('vllm-local', 'llama-local', local, true, true);

  admin = await createRegistryAdmin(gw);
  const signature = { effectiveDate: '2026-01-01', expiryDate: dayFromNow(400), documentRef: 'contracts://baa', documentSha256: 'ab'.repeat(32), zeroDataRetention: true, noTrainingOnCustomerData: true };
  await admin.signBaa('openai', { ...signature, coveredServices: ['api-enterprise'], dataResidency: ['us'] });
  await admin.signBaa('google', { ...signature, coveredServices: ['cloud-healthcare-api'] });
  // A BAA that ran out last year: the admin API refuses to record a past expiry, so the record is written as it stood.
  const repo = createVendorRepo(gw.gateway.store.db);
  const amazon = await repo.get('amazon');
  if (!amazon) throw new Error('catalogue vendor amazon missing');
  await repo.upsert({ ...amazon.vendor, baa: { ...amazon.vendor.baa, status: 'signed', effectiveDate: '2023-01-01', expiryDate: '2025-12-31', coveredServices: ['bedrock'] } }, amazon.version);

  await admin.liveUseCase('uc-phi-free', spec('phi_free'));
  await admin.liveUseCase('uc-baa', spec('baa_covered'));
  await admin.liveUseCase('uc-private', spec('private', { vendors: [], sensitiveCategories: ['substance_use_part2', 'psychotherapy_notes', 'genetic', 'hiv'] }));
  await admin.liveUseCase('uc-sensitive', spec('baa_covered', { sensitiveCategories: ['substance_use_part2', 'psychotherapy_notes', 'genetic', 'hiv'] }));

  const store = gw.gateway.store;
  const userId = uuidv7();
  await store.users.create({ id: userId, name: 'dr-routing', roles: ['physician'], kind: 'user' });
  const key = generateApiKey((secret) => store.fieldCrypto.blindIndex(secret, 'api-key'));
  await store.apiKeys.create({ id: key.keyId, userId, secretHash: key.secretHash, roles: ['physician'], useCases: [] });
  client = new OpenAI({ baseURL: gw.baseUrl, apiKey: key.key, fetch: trustingFetch(gw.dispatcher), maxRetries: 0 });
}, 120_000);

afterAll(async () => {
  await gw?.close();
  await proxy?.close();
  await Promise.all(servers.map((server) => server.close()));
});

type Outcome = { readonly kind: 'raw' } | { readonly kind: 'deidentified' } | { readonly kind: 'refused'; readonly code: string };

/** What the rules say should happen, for one endpoint per model (the endpoints name no fallbacks). */
function expected(useCase: string | undefined, endpoint: EndpointCase, sensitive: boolean): Outcome {
  const refused = (code: string): Outcome => ({ kind: 'refused', code });
  if (sensitive) {
    if (useCase !== 'uc-private' && useCase !== 'uc-sensitive') return refused('sensitive_category_not_allowed');
    if (useCase === 'uc-private' && !endpoint.selfHosted) return refused('vendor_not_allowed_for_use_case');
    return endpoint.selfHosted ? { kind: 'raw' } : refused('sensitive_data_requires_self_hosted');
  }
  switch (useCase) {
    case undefined:
      return endpoint.cleared ? { kind: 'raw' } : { kind: 'deidentified' };
    case 'uc-phi-free':
      return { kind: 'deidentified' };
    case 'uc-private':
      return endpoint.selfHosted ? { kind: 'raw' } : refused('vendor_not_allowed_for_use_case');
    default:
      return endpoint.cleared ? { kind: 'raw' } : refused(endpoint.lapsed ? 'baa_not_in_force' : 'no_baa_covered_endpoint');
  }
}

interface Sent {
  readonly status: number;
  readonly code: string | undefined;
  readonly requestId: string;
  readonly records: ProxyRecord[];
}

async function send(model: string, headers: Record<string, string>, stream: boolean): Promise<Sent> {
  const from = proxy.records.length;
  try {
    if (stream) {
      const { data, response } = await client.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: note }] }, { headers }).withResponse();
      for await (const _chunk of data) {
        // drain
      }
      return { status: response.status, code: undefined, requestId: response.headers.get('x-request-id') ?? '', records: proxy.records.slice(from) };
    }
    const { response } = await client.chat.completions.create({ model, messages: [{ role: 'user', content: note }] }, { headers }).withResponse();
    return { status: response.status, code: undefined, requestId: response.headers.get('x-request-id') ?? '', records: proxy.records.slice(from) };
  } catch (err) {
    if (!(err instanceof OpenAI.APIError)) throw err;
    const code = (err.error as { code?: string } | undefined)?.code ?? (err as { code?: string }).code ?? undefined;
    return { status: err.status ?? 0, code: code ?? undefined, requestId: err.headers?.get('x-request-id') ?? '', records: proxy.records.slice(from) };
  }
}

const destinationOf = (server: FakeVendorServer): string => new URL(server.url).host;
const containsPlanted = (body: string): string[] => planted.filter((value) => body.includes(value));

describe('egress through a recording proxy', () => {
  const tally = { requests: 0, allowed: 0, refused: 0, destinationsChecked: 0, bodiesChecked: 0 };

  it('sends every request only where it may go, in the form it may take', async () => {
    const useCases = [undefined, 'uc-phi-free', 'uc-baa', 'uc-private', 'uc-sensitive'];
    const sensitivities: (string | undefined)[] = [undefined, 'PSYTHPN', 'ETH, GDIS'];
    const problems: string[] = [];
    for (const useCase of useCases) {
      for (const endpoint of Object.values(cases)) {
        for (const sensitivity of sensitivities) {
          for (const stream of [false, true]) {
            const headers: Record<string, string> = {};
            if (useCase) headers['x-phigate-use-case'] = useCase;
            if (sensitivity) headers['x-phigate-sensitivity'] = sensitivity;
            const want = expected(useCase, endpoint, sensitivity !== undefined);
            const got = await send(endpoint.model, headers, stream);
            const label = `${useCase ?? 'no use case'} → ${endpoint.id}${sensitivity ? ` [${sensitivity}]` : ''}${stream ? ' (stream)' : ''}`;
            tally.requests++;
            if (want.kind === 'refused') {
              tally.refused++;
              if (got.code !== want.code) problems.push(`${label}: expected ${want.code}, got ${got.status} ${got.code}`);
              // Refused before any network I/O: not one connection.
              if (got.records.length !== 0) problems.push(`${label}: refused but ${got.records.length} request(s) left`);
              continue;
            }
            tally.allowed++;
            if (got.status !== 200) problems.push(`${label}: expected 200, got ${got.status} ${got.code}`);
            if (got.records.length === 0) problems.push(`${label}: nothing reached the vendor`);
            for (const record of got.records) {
              tally.destinationsChecked++;
              if (record.destination !== destinationOf(endpoint.server)) problems.push(`${label}: reached ${record.destination}, allowed only ${destinationOf(endpoint.server)}`);
              if (record.tunnel) continue;
              // Token exchanges (Vertex) carry a signed assertion, not the payload.
              if (record.path.endsWith('/token')) continue;
              tally.bodiesChecked++;
              const leaked = containsPlanted(record.body);
              if (want.kind === 'deidentified' && leaked.length > 0) problems.push(`${label}: de-identified payload carried ${leaked.length} planted identifier(s)`);
              if (want.kind === 'raw' && !record.body.includes('Maria Gonzalez')) problems.push(`${label}: a raw route did not carry the payload as sent`);
              if (sensitivity !== undefined && !endpoint.selfHosted) problems.push(`${label}: sensitive payload reached a vendor endpoint`);
            }
          }
        }
      }
    }
    console.log(`egress proxy battery: ${JSON.stringify(tally)}`);
    expect(problems).toEqual([]);
    expect(tally.requests).toBe(5 * 6 * 3 * 2);
    expect(tally.allowed).toBeGreaterThan(40);
    expect(proxy.rejected).toBe(0);
  }, 120_000);

  it('saw every vendor request: nothing reached a vendor server around the proxy', () => {
    const viaProxy = proxy.records.filter((r) => !r.tunnel && !r.path.endsWith('/token')).length;
    const atVendors = servers.reduce((sum, server) => sum + server.requests.length, 0);
    expect(atVendors).toBe(viaProxy);
    expect(atVendors).toBeGreaterThan(0);
  });

  it('names the BAA it approved on in the disclosure record', async () => {
    const got = await send('gpt-4o', { 'x-phigate-use-case': 'uc-baa' }, false);
    expect(got.status).toBe(200);
    const rows = await gw.gateway.store.db.selectFrom('audit_events').select(['stage', 'body']).where('request_id', '=', got.requestId).orderBy('seq').execute();
    const disclosure = JSON.parse(rows.find((row) => row.stage === 'disclosure')?.body ?? '{}') as { detail?: Record<string, unknown>; form?: string; vendor?: string };
    expect(disclosure).toMatchObject({ form: 'raw', vendor: 'openai', detail: { clearance: 'covered', baaCoverage: 'covered', vendorId: 'openai', baaExpiry: dayFromNow(400), phiCleared: true } });
  });

  it('names the sensitive categories that left, for the self-hosted endpoint that took them', async () => {
    const got = await send('llama-local', { 'x-phigate-use-case': 'uc-private', 'x-phigate-sensitivity': 'PSYTHPN,ETH' }, false);
    expect(got.status).toBe(200);
    const rows = await gw.gateway.store.db.selectFrom('audit_events').select(['stage', 'body']).where('request_id', '=', got.requestId).orderBy('seq').execute();
    const disclosure = JSON.parse(rows.find((row) => row.stage === 'disclosure')?.body ?? '{}') as { detail?: Record<string, unknown>; endpointId?: string };
    expect(disclosure).toMatchObject({ endpointId: 'vllm-local', detail: { clearance: 'self_hosted', phiCleared: true, sensitiveCategories: 'psychotherapy_notes,substance_use_part2' } });
  });

  it('stops the very next request after a BAA is terminated through the admin API, with no traffic to that vendor', async () => {
    const covered = cases['openai-covered'] as EndpointCase;
    const before = await send('gpt-4o', { 'x-phigate-use-case': 'uc-baa' }, false);
    expect(before.status).toBe(200);
    expect(before.records.map((r) => r.destination)).toEqual([destinationOf(covered.server)]);

    await admin.terminateBaa('openai', 'contract_ended');
    const atVendor = covered.server.requests.length;
    const after = await send('gpt-4o', { 'x-phigate-use-case': 'uc-baa' }, false);
    expect([after.status, after.code]).toEqual([403, 'baa_not_in_force']);
    expect(after.records).toEqual([]);
    expect(covered.server.requests.length).toBe(atVendor);

    // Without a use case the same vendor now gets only de-identified text.
    const ungoverned = await send('gpt-4o', {}, false);
    expect(ungoverned.status).toBe(200);
    expect(ungoverned.records).toHaveLength(1);
    expect(containsPlanted(ungoverned.records[0]?.body ?? '')).toEqual([]);
    expect(ungoverned.records[0]?.body).toContain('[NAME_1]');
    const rows = await gw.gateway.store.db.selectFrom('audit_events').select(['stage', 'body']).where('request_id', '=', after.requestId).orderBy('seq').execute();
    expect(rows.map((r) => r.stage)).toEqual(['refused']);
    expect(JSON.parse(rows[0]?.body ?? '{}')).toMatchObject({ errorCode: 'baa_not_in_force', outcome: 'denied', useCase: 'uc-baa' });
  });
});
