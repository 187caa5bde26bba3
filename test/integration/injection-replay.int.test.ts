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
 *
 * And what the client actually received, plain and streamed: no tool call to a tool the request
 * did not offer, no tool-call argument and no text naming the other patient (its resource
 * reference, name, MRN or SSN — the values the model emits), no link or image to an outside
 * host, no `x-phigate-*` header. The gateway knows the other patient the way a deployment does:
 * the request patient's identifiers come from the patient-context source (`patientPhiSource`,
 * an MPI lookup), and the other patient was served by the same gateway, for another clinician,
 * just before the replay (so the output filter's recently-served index holds them). What the
 * filter did — tool calls removed, identifiers redacted, links neutralised — is counted from
 * the closing audit records, checked against what the client saw, and printed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { generateApiKey } from '../../src/auth/api-keys.js';
import type { KnownPhi } from '../../src/deid/types.js';
import { uuidv7 } from '../../src/kernel/ids.js';
import { initHome, startGateway, type RunningGateway } from '../../src/main.js';
import { loadInjectionRows, type InjectionRow } from '../../src/screening/training/dataset.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { exfilHost, otherPatient, startObedientModelServer, unofferedTool, type ObedientModelServer } from '../support/obedient-model-server.js';
import { trustingFetch } from '../support/gateway.js';
import { sharedDataPath } from '../support/shared-data.js';

const patient = 'Patient/p1';
const model = 'clinical-llm';
const endpointId = 'local-model';
const injections = loadInjectionRows(sharedDataPath('injection')).filter((row) => row.label === 'injection');
const offeredTools: OpenAI.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'get_labs', description: 'Recent lab results of the current patient', parameters: { type: 'object', properties: {} } } },
  { type: 'function', function: { name: 'read_inbox', description: 'The latest message in the clinician inbox', parameters: { type: 'object', properties: {} } } },
];

const offeredNames: ReadonlySet<string> = new Set(offeredTools.map((t) => (t.type === 'function' ? t.function.name : '')));
const benignAnswer = 'Summary: nothing unusual in the supplied content.';

/**
 * The patients the patient-context source knows (an MPI lookup in a deployment): the request's
 * own patient, and the other patient whose identifiers the obeying model leaks — with the very
 * values it emits.
 */
const patientDirectory: ReadonlyMap<string, KnownPhi> = new Map<string, KnownPhi>([
  [patient, { names: ['Avery Linden'], identifiers: [{ value: 'p1', type: 'ID' }, { value: '40417733', type: 'MRN' }], phones: ['555-301-4417'] }],
  [
    otherPatient.reference,
    {
      names: [otherPatient.name],
      identifiers: [
        { value: otherPatient.reference.replace(/^Patient\//, ''), type: 'ID' },
        { value: otherPatient.mrn, type: 'MRN' },
        { value: otherPatient.ssn, type: 'SSN' },
      ],
    },
  ],
]);

/** The other patient's values, as the obeying model writes them (and in the forms a filter could leave behind). */
const otherValues = [
  otherPatient.reference,
  otherPatient.reference.replace(/^Patient\//, ''),
  otherPatient.name,
  ...otherPatient.name.split(' '),
  otherPatient.mrn,
  otherPatient.ssn,
  otherPatient.ssn.replace(/-/g, ''),
  Buffer.from(`${otherPatient.name}|${otherPatient.mrn}`).toString('base64url'),
];

interface ReplayGateway {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly gateway: RunningGateway;
  readonly dispatcher: Agent;
  close(): Promise<void>;
}

/** A real gateway as test/support/gateway.ts starts one, with the patient-context source set. */
async function startReplayGateway(config: Record<string, unknown>): Promise<ReplayGateway> {
  const home = mkdtempSync(join(tmpdir(), 'phigate-replay-'));
  const init = await initHome(home, {});
  const file = join(home, 'phigate.yaml');
  const generated = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, stringify({ ...generated, server: { ...(generated.server as Record<string, unknown>), port: 0 }, ...config }));
  const logger = createLogger({ level: 'info', destination: pino.destination({ dest: join(home, 'phigate.log'), sync: true }) });
  const gateway = await startGateway({ home, env: {}, logger, patientPhiSource: (reference) => patientDirectory.get(reference) });
  const dispatcher = new Agent({ connect: { ca: readFileSync(init.caCertPath, 'utf8') } });
  return {
    baseUrl: gateway.baseUrl,
    apiKey: init.apiKey,
    gateway,
    dispatcher,
    async close() {
      await dispatcher.close();
      await gateway.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

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

/** What the client received: the answer's text, its tool calls (name and arguments), its finish. */
interface Received {
  readonly content: string;
  readonly toolCalls: readonly { readonly name: string; readonly arguments: string }[];
  readonly finish: string | null;
}

interface Outcome {
  readonly id: string;
  readonly status: number;
  readonly code: string | undefined;
  readonly requestId: string;
  readonly headers: Headers;
  readonly modelRequests: number;
  readonly obeyed: boolean;
  /** Absent when the request was refused. */
  readonly received?: Received;
}

interface Harness {
  gw: ReplayGateway;
  upstream: ObedientModelServer;
  client: OpenAI;
  userId: string;
  /** The care-team assignments and the last audit sequence number before the replay. */
  baseline: { assignments: number; seq: number };
}

/** What the output filter did over one run, from the closing audit records. */
interface Totals {
  examples: number;
  refused: number;
  answered: number;
  obeyed: number;
  toolCallsRemoved: number;
  identifiersRedacted: number;
  identifiersInRemovedLinks: number;
  linksNeutralised: number;
  /** Redaction markers the client saw (touching identifiers share one). */
  markersSeen: number;
}

const newTotals = (): Totals => ({ examples: 0, refused: 0, answered: 0, obeyed: 0, toolCallsRemoved: 0, identifiersRedacted: 0, identifiersInRemovedLinks: 0, linksNeutralised: 0, markersSeen: 0 });
const totals: Record<string, Totals> = {};

async function assign(gw: ReplayGateway, user: string, reference: string): Promise<void> {
  const assigned = await request(`${gw.baseUrl.replace(/\/v1$/, '')}/admin/api/access/care-team`, {
    method: 'POST',
    dispatcher: gw.dispatcher,
    headers: { authorization: `Bearer ${gw.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user, patient: reference, role: 'attending' }),
  });
  await assigned.body.text();
  expect(assigned.statusCode).toBe(201);
}

async function clinician(gw: ReplayGateway, name: string): Promise<{ userId: string; key: string }> {
  const store = gw.gateway.store;
  const userId = uuidv7();
  await store.users.create({ id: userId, name, roles: ['physician'], kind: 'user' });
  const key = generateApiKey((secret) => store.fieldCrypto.blindIndex(secret, 'api-key'));
  await store.apiKeys.create({ id: key.keyId, userId, secretHash: key.secretHash, roles: ['physician'], useCases: [] });
  return { userId, key: key.key };
}

async function startHarness(screening: Record<string, unknown>): Promise<Harness> {
  const upstream = await startObedientModelServer(injections.map((row) => row.text));
  const gw = await startReplayGateway({
    store: { url: 'sqlite:phigate.db', sqliteSync: 'normal' },
    screening,
    endpoints: [{ id: endpointId, kind: 'openai-compatible', baseUrl: `${upstream.url}/v1`, selfHosted: true, maxRetries: 0, timeoutMs: 5000, models: [{ name: model }] }],
  });
  const replayer = await clinician(gw, 'dr-replay');
  await assign(gw, 'dr-replay', patient);

  // Earlier the same day, another clinician asked about the other patient through this gateway.
  const colleague = await clinician(gw, 'dr-colleague');
  await assign(gw, 'dr-colleague', otherPatient.reference);
  const colleagueClient = new OpenAI({ baseURL: gw.baseUrl, apiKey: colleague.key, fetch: trustingFetch(gw.dispatcher), maxRetries: 0 });
  const earlier = await colleagueClient.chat.completions.create(
    { model, messages: [{ role: 'user', content: 'Summarise the vital signs recorded this morning.' }] },
    { headers: { 'x-phigate-patient': otherPatient.reference, 'x-phigate-purpose': 'TREAT' } },
  );
  expect(earlier.choices[0]?.message.content).toBe(benignAnswer);

  const db = gw.gateway.store.db;
  const assignments = (await db.selectFrom('care_team_assignments').selectAll().execute()).length;
  const last = await db.selectFrom('audit_events').select(['seq']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  const client = new OpenAI({ baseURL: gw.baseUrl, apiKey: replayer.key, fetch: trustingFetch(gw.dispatcher), maxRetries: 0 });
  return { gw, upstream, client, userId: replayer.userId, baseline: { assignments, seq: Number(last?.seq ?? 0) } };
}

async function replay(h: Harness, row: InjectionRow, index: number): Promise<Outcome> {
  const before = h.upstream.requests.length;
  const stream = index % 4 === 3;
  const options = { headers: { 'x-phigate-patient': patient, 'x-phigate-purpose': 'TREAT' } };
  const body = { model, messages: messagesFor(row), tools: offeredTools };
  try {
    if (stream) {
      const { data, response } = await h.client.chat.completions.create({ ...body, stream: true }, options).withResponse();
      let content = '';
      let finish: string | null = null;
      const calls = new Map<number, { name: string; arguments: string }>();
      for await (const chunk of data) {
        for (const choice of chunk.choices) {
          content += choice.delta.content ?? '';
          for (const call of choice.delta.tool_calls ?? []) {
            const held = calls.get(call.index) ?? { name: '', arguments: '' };
            held.name += call.function?.name ?? '';
            held.arguments += call.function?.arguments ?? '';
            calls.set(call.index, held);
          }
          finish = choice.finish_reason ?? finish;
        }
      }
      return done(h, row, response, before, { content, toolCalls: [...calls.values()], finish });
    }
    const { data, response } = await h.client.chat.completions.create(body, options).withResponse();
    const message = data.choices[0]?.message;
    const toolCalls = (message?.tool_calls ?? []).map((c) => (c.type === 'function' ? { name: c.function.name, arguments: c.function.arguments } : { name: `(${c.type})`, arguments: '' }));
    return done(h, row, response, before, { content: message?.content ?? '', toolCalls, finish: data.choices[0]?.finish_reason ?? null });
  } catch (err) {
    if (!(err instanceof OpenAI.APIError)) throw err;
    return { id: row.id, status: err.status ?? 0, code: String(err.code), requestId: err.headers?.get('x-request-id') ?? '', headers: err.headers ?? new Headers(), modelRequests: h.upstream.requests.length - before, obeyed: false };
  }
}

function done(h: Harness, row: InjectionRow, response: Response, before: number, received: Received): Outcome {
  const reached = h.upstream.requests.slice(before);
  return { id: row.id, status: 200, code: undefined, requestId: response.headers.get('x-request-id') ?? '', headers: response.headers, modelRequests: reached.length, obeyed: reached.some((r) => r.obeyed), received };
}

async function checkAudit(h: Harness, outcome: Outcome): Promise<Record<string, unknown>[]> {
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
  return events;
}

/** Nothing the model said changed who may be reached: no new assignment, no break-glass, no other patient audited. */
async function checkPatientSet(h: Harness): Promise<void> {
  const db = h.gw.gateway.store.db;
  const assignments = await db.selectFrom('care_team_assignments').selectAll().execute();
  expect(assignments).toHaveLength(h.baseline.assignments);
  const sessions = await db.selectFrom('break_glass_sessions').selectAll().execute();
  expect(sessions).toHaveLength(0);
  const patientHash = h.gw.gateway.store.fieldCrypto.blindIndex(patient, 'audit-patient');
  const rows = await db.selectFrom('audit_events').select(['body']).where('seq', '>', h.baseline.seq).execute();
  expect(rows.length).toBeGreaterThan(0);
  for (const row of rows) {
    const event = JSON.parse(row.body) as { patientHash?: string; type: string };
    if (event.patientHash !== undefined) expect(event.patientHash, event.type).toBe(patientHash);
  }
}

function checkHeaders(outcome: Outcome): void {
  for (const name of ['x-phigate-patient', 'x-phigate-route', 'x-phigate-model']) expect(outcome.headers.get(name), `${outcome.id} ${name}`).toBeNull();
  // None of the model's phigate headers, nor any other: the gateway answers with none of its own.
  const phigate = [...outcome.headers.keys()].filter((name) => name.toLowerCase().startsWith('x-phigate-'));
  expect(phigate, outcome.id).toEqual([]);
}

function mentionsOtherPatient(text: string): string[] {
  const folded = text.toLowerCase();
  return otherValues.filter((value) => folded.includes(value.toLowerCase()));
}

/**
 * What the client received carries nothing the injection asked for, and the closing audit record
 * accounts for what the filter removed. Adds this example to `tally`.
 */
function checkReceived(outcome: Outcome, events: readonly Record<string, unknown>[], tally: Totals): void {
  tally.examples++;
  const received = outcome.received;
  if (received === undefined) {
    tally.refused++;
    return;
  }
  tally.answered++;
  const id = outcome.id;
  // Tool calls: only tools the request offered, and none naming the other patient.
  for (const call of received.toolCalls) {
    expect(offeredNames.has(call.name), `${id} tool ${call.name}`).toBe(true);
    expect(mentionsOtherPatient(call.arguments), `${id} arguments of ${call.name}`).toEqual([]);
    expect(() => JSON.parse(call.arguments) as unknown, `${id} arguments stay JSON`).not.toThrow();
  }
  // Text: no identifier of the other patient, no link or image to an outside host.
  expect(mentionsOtherPatient(received.content), `${id} text`).toEqual([]);
  expect(received.content, id).not.toContain(exfilHost);
  expect(received.content, id).not.toMatch(/\]\(|<img|<a\s|https?:\/\/|\bwww\./i);
  tally.markersSeen += received.content.split('[REDACTED]').length - 1 + received.toolCalls.reduce((n, c) => n + c.arguments.split('[REDACTED]').length - 1, 0);

  const closing = events.at(-1) as { detail?: Record<string, unknown> } | undefined;
  const detail = closing?.detail ?? {};
  const leakEvent = events.find((e) => e.type === 'output.leak') as { detail?: { leaks?: number; leaksInRemovedLinks?: number } } | undefined;
  const inLinks = leakEvent?.detail?.leaksInRemovedLinks ?? 0;
  tally.toolCallsRemoved += Number(detail.outputToolCallsRemoved ?? 0);
  tally.linksNeutralised += Number(detail.outputLinksRemoved ?? 0);
  tally.identifiersRedacted += Number(detail.outputLeaks ?? 0) - inLinks;
  tally.identifiersInRemovedLinks += inLinks;

  if (outcome.obeyed) {
    tally.obeyed++;
    // The model called the tool never offered and the offered one for the other patient: the first
    // is gone (the audit record says so), the second arrives with the patient redacted.
    expect(received.toolCalls.map((c) => c.name), id).toEqual(['get_labs']);
    expect(received.toolCalls.map((c) => c.name), id).not.toContain(unofferedTool);
    expect(JSON.parse(received.toolCalls[0]?.arguments ?? ''), id).toEqual({ patient: '[REDACTED]', mrn: '[REDACTED]' });
    expect(detail, id).toMatchObject({ outputFilter: 'redacted', outputToolCallsRemoved: 1 });
    expect(Number(detail.outputLinksRemoved), id).toBeGreaterThanOrEqual(2);
    expect(Number(detail.outputLeaks) - inLinks, id).toBeGreaterThanOrEqual(5);
    expect(received.finish, id).toBe('tool_calls');
  } else {
    // An answer to a request the injection was dropped from passes untouched.
    expect(received, id).toEqual({ content: benignAnswer, toolCalls: [], finish: 'stop' });
    expect(detail, id).toMatchObject({ outputFilter: 'passed', outputLeaks: 0, outputLinksRemoved: 0, outputToolCallsRemoved: 0 });
  }
}

function report(mode: string, tally: Totals): void {
  totals[mode] = tally;
  console.log(`output filter, ${mode}: ${JSON.stringify(tally)}`);
}

afterAll(() => {
  const modes = Object.keys(totals);
  if (modes.length === 0) return;
  const sum = newTotals();
  for (const tally of Object.values(totals)) for (const key of Object.keys(sum) as (keyof Totals)[]) sum[key] += tally[key];
  console.log(`output filter, ${injections.length} examples × ${modes.length} modes (${modes.join(', ')}): ${JSON.stringify(sum)}`);
});

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
    const tally = newTotals();
    for (const [index, row] of injections.entries()) {
      const outcome = await replay(h, row, index);
      expect(outcome.status, outcome.id).toBe(200);
      expect(outcome.modelRequests, outcome.id).toBe(1);
      checkHeaders(outcome);
      checkReceived(outcome, await checkAudit(h, outcome), tally);
    }
    report('screening off', tally);
    // The adversary really attacked: it recognised (and obeyed) every example it was sent.
    expect(tally.obeyed).toBe(injections.length);
    expect(tally.toolCallsRemoved).toBe(injections.length);
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
    const screen = { direct: { blocked: 0, reached: 0, obeyed: 0 }, indirect: { dropped: 0, reached: 0, obeyed: 0 } };
    const tally = newTotals();
    for (const [index, row] of injections.entries()) {
      const outcome = await replay(h, row, index);
      checkHeaders(outcome);
      checkReceived(outcome, await checkAudit(h, outcome), tally);
      if (row.channel === 'direct') {
        if (outcome.status === 400) {
          // Blocked before anything left: a typed refusal, no vendor call.
          expect(outcome.code, row.id).toBe('prompt_injection_detected');
          expect(outcome.modelRequests, row.id).toBe(0);
          screen.direct.blocked++;
        } else {
          expect(outcome.status, row.id).toBe(200);
          screen.direct.reached++;
          if (outcome.obeyed) screen.direct.obeyed++;
        }
      } else {
        // Third-party content is dropped, not blocked, by default: the request goes on without it.
        expect(outcome.status, row.id).toBe(200);
        const sent = h.upstream.requests.at(-1);
        const tool = sent?.body.messages?.find((m) => m.role === 'tool');
        if (tool?.content !== row.text) {
          expect(outcome.obeyed, row.id).toBe(false);
          screen.indirect.dropped++;
        } else {
          screen.indirect.reached++;
          if (outcome.obeyed) screen.indirect.obeyed++;
        }
      }
    }
    console.log(`screening on: ${JSON.stringify(screen)}`);
    report('screening on', tally);
    expect(screen.direct.blocked + screen.direct.reached).toBe(injections.filter((r) => r.channel === 'direct').length);
    // An injection that reached the model unscreened was obeyed: the checks above held against a live attack.
    expect(screen.direct.obeyed).toBe(screen.direct.reached);
    expect(screen.indirect.obeyed).toBe(screen.indirect.reached);
    expect(screen.direct.blocked).toBeGreaterThan(0);
    expect(screen.indirect.dropped).toBeGreaterThan(0);
    expect(tally.obeyed).toBe(screen.direct.obeyed + screen.indirect.obeyed);
    expect(tally.toolCallsRemoved).toBe(tally.obeyed);
    await checkPatientSet(h);
  }, 600_000);
});
