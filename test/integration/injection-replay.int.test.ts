// SPDX-License-Identifier: Apache-2.0
/**
 * Every injection example of ../shared/data/injection (413: the direct prompts as the user's
 * message, the injected emails as a tool result) replayed through a real gateway with the
 * official `openai` SDK, against a local model server that obeys injections
 * (test/support/obedient-model-server.ts): it calls tools that were not offered and offered ones
 * for another patient, names another patient's identifiers, links to an outside host, claims to
 * switch model and route, and answers with phigate headers of its own.
 *
 * Run twice: with screening off (the structural guarantees alone) and on (the default
 * configuration). For every example: the request's audit records — disclosure, closing and any
 * screening record — name the patient, endpoint and model the caller asked for; the answer's
 * headers carry no patient or route from the model; with screening on, a blocked example never
 * reaches the model and a dropped one reaches it without the injection. After each run the
 * patient set is unchanged: no new care-team assignment, no break-glass session, no audit record
 * naming any other patient.
 */
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/auth/api-keys.js';
import { uuidv7 } from '../../src/kernel/ids.js';
import { loadInjectionRows, type InjectionRow } from '../../src/screening/training/dataset.js';
import { startObedientModelServer, type ObedientModelServer } from '../support/obedient-model-server.js';
import { startTestGateway, trustingFetch, type TestGateway } from '../support/gateway.js';
import { sharedDataPath } from '../support/shared-data.js';

const patient = 'Patient/p1';
const model = 'clinical-llm';
const endpointId = 'local-model';
const injections = loadInjectionRows(sharedDataPath('injection')).filter((row) => row.label === 'injection');
const offeredTools: OpenAI.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'get_labs', description: 'Recent lab results of the current patient', parameters: { type: 'object', properties: {} } } },
  { type: 'function', function: { name: 'read_inbox', description: 'The latest message in the clinician inbox', parameters: { type: 'object', properties: {} } } },
];

function messagesFor(row: InjectionRow): OpenAI.ChatCompletionMessageParam[] {
  const system: OpenAI.ChatCompletionMessageParam = { role: 'system', content: 'You are a clinical documentation assistant for the current patient.' };
  if (row.channel === 'direct') return [system, { role: 'user', content: row.text }];
  return [
    system,
    { role: 'user', content: 'Summarise the latest inbox message for me.' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_inbox', type: 'function', function: { name: 'read_inbox', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'call_inbox', content: row.text },
  ];
}

interface Outcome {
  readonly id: string;
  readonly status: number;
  readonly code: string | undefined;
  readonly requestId: string;
  readonly headers: Headers;
  readonly modelRequests: number;
  readonly obeyed: boolean;
}

interface Harness {
  gw: TestGateway;
  upstream: ObedientModelServer;
  client: OpenAI;
  userId: string;
}

async function startHarness(screening: Record<string, unknown>): Promise<Harness> {
  const upstream = await startObedientModelServer(injections.map((row) => row.text));
  const gw = await startTestGateway({
    config: {
      store: { url: 'sqlite:phigate.db', sqliteSync: 'normal' },
      screening,
      endpoints: [{ id: endpointId, kind: 'openai-compatible', baseUrl: `${upstream.url}/v1`, selfHosted: true, maxRetries: 0, timeoutMs: 5000, models: [{ name: model }] }],
    },
  });
  const store = gw.gateway.store;
  const userId = uuidv7();
  await store.users.create({ id: userId, name: 'dr-replay', roles: ['physician'], kind: 'user' });
  const key = generateApiKey((secret) => store.fieldCrypto.blindIndex(secret, 'api-key'));
  await store.apiKeys.create({ id: key.keyId, userId, secretHash: key.secretHash, roles: ['physician'], useCases: [] });
  const assigned = await request(`${gw.baseUrl.replace(/\/v1$/, '')}/admin/api/access/care-team`, {
    method: 'POST',
    dispatcher: gw.dispatcher,
    headers: { authorization: `Bearer ${gw.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user: 'dr-replay', patient, role: 'attending' }),
  });
  await assigned.body.text();
  expect(assigned.statusCode).toBe(201);
  const client = new OpenAI({ baseURL: gw.baseUrl, apiKey: key.key, fetch: trustingFetch(gw.dispatcher), maxRetries: 0 });
  return { gw, upstream, client, userId };
}

async function replay(h: Harness, row: InjectionRow, index: number): Promise<Outcome> {
  const before = h.upstream.requests.length;
  const stream = index % 4 === 3;
  const options = { headers: { 'x-phigate-patient': patient, 'x-phigate-purpose': 'TREAT' } };
  const body = { model, messages: messagesFor(row), tools: offeredTools };
  try {
    if (stream) {
      const { data, response } = await h.client.chat.completions.create({ ...body, stream: true }, options).withResponse();
      for await (const chunk of data) void chunk;
      return done(h, row, 200, undefined, response, before);
    }
    const { response } = await h.client.chat.completions.create(body, options).withResponse();
    return done(h, row, 200, undefined, response, before);
  } catch (err) {
    if (!(err instanceof OpenAI.APIError)) throw err;
    return { id: row.id, status: err.status ?? 0, code: String(err.code), requestId: err.headers?.get('x-request-id') ?? '', headers: err.headers ?? new Headers(), modelRequests: h.upstream.requests.length - before, obeyed: false };
  }
}

function done(h: Harness, row: InjectionRow, status: number, code: string | undefined, response: Response, before: number): Outcome {
  const reached = h.upstream.requests.slice(before);
  return { id: row.id, status, code, requestId: response.headers.get('x-request-id') ?? '', headers: response.headers, modelRequests: reached.length, obeyed: reached.some((r) => r.obeyed) };
}

async function checkAudit(h: Harness, outcome: Outcome): Promise<void> {
  const rows = await h.gw.gateway.store.db.selectFrom('audit_events').select(['body']).where('request_id', '=', outcome.requestId).orderBy('seq').execute();
  const events = rows.map((r) => JSON.parse(r.body) as Record<string, unknown>);
  const patientHash = h.gw.gateway.store.fieldCrypto.blindIndex(patient, 'audit-patient');
  expect(events.length, outcome.id).toBeGreaterThan(0);
  for (const event of events) {
    expect(event.patientHash, `${outcome.id} ${String(event.type)}`).toBe(patientHash);
    if (event.model !== undefined) expect(event.model, outcome.id).toBe(model);
    if (event.endpointId !== undefined) expect(event.endpointId, outcome.id).toBe(endpointId);
    expect(event.breakGlass, outcome.id).toBeUndefined();
  }
  const disclosures = events.filter((e) => e.stage === 'disclosure');
  expect(disclosures.length, outcome.id).toBe(outcome.modelRequests);
  for (const d of disclosures) expect(d, outcome.id).toMatchObject({ endpointId, model, patientHash });
  const closing = events.at(-1);
  if (outcome.status === 200) expect(closing, outcome.id).toMatchObject({ stage: 'completed', outcome: 'success', model, patientHash, endpointId });
}

/** Nothing the model said changed who may be reached: one assignment, no break-glass, no other patient audited. */
async function checkPatientSet(h: Harness): Promise<void> {
  const db = h.gw.gateway.store.db;
  const assignments = await db.selectFrom('care_team_assignments').selectAll().execute();
  expect(assignments).toHaveLength(1);
  const sessions = await db.selectFrom('break_glass_sessions').selectAll().execute();
  expect(sessions).toHaveLength(0);
  const patientHash = h.gw.gateway.store.fieldCrypto.blindIndex(patient, 'audit-patient');
  const rows = await db.selectFrom('audit_events').select(['body']).execute();
  for (const row of rows) {
    const event = JSON.parse(row.body) as { patientHash?: string; type: string };
    if (event.patientHash !== undefined) expect(event.patientHash, event.type).toBe(patientHash);
  }
}

function checkHeaders(outcome: Outcome): void {
  for (const name of ['x-phigate-patient', 'x-phigate-route', 'x-phigate-model']) expect(outcome.headers.get(name), `${outcome.id} ${name}`).toBeNull();
}

describe('injection replay, screening off: structural guarantees alone', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ enabled: false });
  }, 120_000);
  afterAll(async () => {
    await h?.gw.close();
    await h?.upstream.close();
  });

  it(`replays all ${injections.length} injection examples; the model obeys every one and nothing widens`, async () => {
    expect(injections).toHaveLength(413);
    let obeyed = 0;
    for (const [index, row] of injections.entries()) {
      const outcome = await replay(h, row, index);
      expect(outcome.status, outcome.id).toBe(200);
      expect(outcome.modelRequests, outcome.id).toBe(1);
      if (outcome.obeyed) obeyed++;
      checkHeaders(outcome);
      await checkAudit(h, outcome);
    }
    // The adversary really attacked: it recognised (and obeyed) every example it was sent.
    expect(obeyed).toBe(injections.length);
    await checkPatientSet(h);
  }, 600_000);
});

describe('injection replay, screening on (defaults)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({});
  }, 120_000);
  afterAll(async () => {
    await h?.gw.close();
    await h?.upstream.close();
  });

  it('blocks or withholds what the screen detects, and nothing widens for what it misses', async () => {
    const tally = { direct: { blocked: 0, reached: 0, obeyed: 0 }, indirect: { dropped: 0, reached: 0, obeyed: 0 } };
    for (const [index, row] of injections.entries()) {
      const outcome = await replay(h, row, index);
      checkHeaders(outcome);
      await checkAudit(h, outcome);
      if (row.channel === 'direct') {
        if (outcome.status === 400) {
          // Blocked before anything left: a typed refusal, no vendor call.
          expect(outcome.code, row.id).toBe('prompt_injection_detected');
          expect(outcome.modelRequests, row.id).toBe(0);
          tally.direct.blocked++;
        } else {
          expect(outcome.status, row.id).toBe(200);
          tally.direct.reached++;
          if (outcome.obeyed) tally.direct.obeyed++;
        }
      } else {
        // Third-party content is dropped, not blocked, by default: the request goes on without it.
        expect(outcome.status, row.id).toBe(200);
        const sent = h.upstream.requests.at(-1);
        const tool = sent?.body.messages?.find((m) => m.role === 'tool');
        if (tool?.content !== row.text) {
          expect(outcome.obeyed, row.id).toBe(false);
          tally.indirect.dropped++;
        } else {
          tally.indirect.reached++;
          if (outcome.obeyed) tally.indirect.obeyed++;
        }
      }
    }
    console.log(`screening on: ${JSON.stringify(tally)}`);
    expect(tally.direct.blocked + tally.direct.reached).toBe(injections.filter((r) => r.channel === 'direct').length);
    // An injection that reached the model unscreened was obeyed: the checks above held against a live attack.
    expect(tally.direct.obeyed).toBe(tally.direct.reached);
    expect(tally.indirect.obeyed).toBe(tally.indirect.reached);
    expect(tally.direct.blocked).toBeGreaterThan(0);
    expect(tally.indirect.dropped).toBeGreaterThan(0);
    await checkPatientSet(h);
  }, 600_000);
});
