// SPDX-License-Identifier: Apache-2.0
// The gather-context step with the real FHIR context source against the local FHIR server (one
// shared Synthea bundle), a real in-memory SQLite store (units, audit) and a small in-test
// retriever standing in for the document index.
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Bundle } from '@medplum/fhirtypes';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sharedDataPath } from '../../../test/support/shared-data.js';
import { accessServiceFor } from '../../access/service.js';
import { createMemoryAuditSink, type MemoryAuditSink } from '../../audit/testing/memory-sink.js';
import { createAuditWriter, type AuditWriter } from '../../audit/writer.js';
import type { Principal } from '../../auth/principal.js';
import { configSchema } from '../../config/schema.js';
import { createMemoryKms } from '../../crypto/testing/memory-kms.js';
import { createFhirContextSource } from '../../fhir/context.js';
import { startFhirTestServer, unreachableFhirUrl, type FhirTestServer } from '../../fhir/testing/fhir-server.js';
import { createSmartTestKey, type SmartTestKey } from '../../fhir/testing/smart-keys.js';
import { rejection } from '../../kernel/testing/rejection.js';
import { systemClock } from '../../kernel/clock.js';
import type { ChatRequest } from '../../providers/types.js';
import type { RetrievalScope, RetrievedChunk, Retriever } from '../../rag/retriever.js';
import { cdsSpec } from '../../registry/testing/registry-fixtures.js';
import { useCaseSpecSchema, type UseCaseSpec } from '../../registry/use-case-spec.js';
import { openStore, type OpenedStore } from '../../store/store.js';
import { createLogger } from '../../telemetry/logger.js';
import type { ChatContext, GatewayDeps, PipelineContext } from './context.js';
import { gatherContext, lastUserText } from './gather-context.js';

let server: FhirTestServer;
let key: SmartTestKey;
let store: OpenedStore;
let patient: string;
let labelledId: string;

beforeAll(async () => {
  key = await createSmartTestKey('ES384');
  const file = readdirSync(sharedDataPath('fhir')).find((f) => f.startsWith('smart-r4-Hershel_Marvin'));
  const bundle = JSON.parse(readFileSync(sharedDataPath('fhir', String(file)), 'utf8')) as Bundle;
  server = await startFhirTestServer({ bundles: [bundle], clients: [{ clientId: 'phigate', jwks: key.jwks }] });
  patient = `Patient/${await server.patientIdByFamily('Marvin')}`;
  const labelled = await server.createResource({
    resourceType: 'Observation',
    status: 'final',
    meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HIV' }] },
    code: { text: 'HIV 1 RNA viral load' },
    subject: { reference: patient },
    effectiveDateTime: '2030-01-01',
    valueQuantity: { value: 40, unit: 'copies/mL' },
  });
  labelledId = labelled.id;
  store = await openStore({ url: 'sqlite::memory:', baseDir: tmpdir(), kms: createMemoryKms() });
  await store.users.create({ id: 'doc', name: 'doc', roles: ['physician'], kind: 'user' });
  const care = accessServiceFor({ config: configSchema.parse({}), store, clock: systemClock, keyedHash: (v) => v, instanceId: 't', logger: createLogger({ level: 'silent' }) }).careTeams;
  await care.upsertUnit('ward-4', 'default');
  await care.upsertUnit('ward-9', 'default');
  await care.addUnitMember('ward-4', 'doc');
}, 120_000);
afterAll(async () => {
  await server.close();
  await store.close();
});
afterEach(() => server.setFault({ kind: 'none' }));

/** A retriever for tests: records what it was asked and answers with fixed chunks (or fails). */
function testRetriever(chunks: readonly RetrievedChunk[] | (() => Promise<readonly RetrievedChunk[]>)): Retriever & { calls: { query: string; scope: RetrievalScope; signal?: AbortSignal }[] } {
  const calls: { query: string; scope: RetrievalScope; signal?: AbortSignal }[] = [];
  return {
    calls,
    async retrieve(query, scope, options) {
      calls.push({ query, scope, ...(options?.signal ? { signal: options.signal } : {}) });
      expect(options?.caller).toMatchObject({ requestId: 'req-1', actor: { userId: 'doc' }, purpose: 'TREAT', useCase: 'ward-round' });
      return typeof chunks === 'function' ? chunks() : chunks;
    },
  };
}

const chunks: RetrievedChunk[] = [
  { documentId: 'doc-a', chunkId: 'doc-a#2', text: 'Cough improved after antibiotics.', score: 0.9, sensitivity: [], label: 'Progress note, 2021' },
  { documentId: 'doc-b', chunkId: 'doc-b#0', text: 'Plan: chest X-ray if fever returns.', score: 0.7, sensitivity: [] },
];

function spec(overrides: Partial<Record<keyof UseCaseSpec, unknown>> = {}): UseCaseSpec {
  return useCaseSpecSchema.parse(
    cdsSpec({
      deploymentPattern: 'private',
      data: {
        fhir: [
          { resourceType: 'Observation', elements: ['code', 'value[x]', 'effective[x]'], search: { _sort: '-date' }, limit: 3 },
          { resourceType: 'Condition', elements: ['code'], limit: 10 },
        ],
        autoContext: true,
        documents: { k: 2 },
      },
      promptTemplate: 'You help the treating clinician on ward rounds.\n\n{{context}}\n\nAnswer briefly.',
      ...overrides,
    }),
  );
}

interface Harness {
  readonly deps: GatewayDeps;
  readonly sink: MemoryAuditSink;
  readonly audit: AuditWriter;
}

async function harness(options: { fhir?: Record<string, unknown> | false; retriever?: Retriever } = {}): Promise<Harness> {
  const fhirInput = options.fhir === false ? undefined : { baseUrl: server.baseUrl, clientId: 'phigate', privateKey: 'env:K', keyId: key.keyId, algorithm: 'ES384', timeoutMs: 5_000, ...options.fhir };
  const config = configSchema.parse(fhirInput === undefined ? {} : { fhir: fhirInput });
  const sink = createMemoryAuditSink();
  const audit = await createAuditWriter({ sink, writeTimeoutMs: 2_000 });
  const deps = {
    config,
    clock: systemClock,
    audit,
    keyedHash: (value: string, purpose: string) => store.fieldCrypto.blindIndex(value, purpose),
    instanceId: 'test',
    store,
    logger: createLogger({ level: 'silent' }),
    ...(config.fhir ? { fhirContext: createFhirContextSource(config.fhir, { fetch: globalThis.fetch, clock: systemClock, secret: () => key.pem }) } : {}),
    ...(options.retriever ? { retriever: options.retriever } : {}),
  } as unknown as GatewayDeps;
  return { deps, sink, audit };
}

const doctor: Principal = { userId: 'doc', kind: 'user', roles: ['physician'], authMethod: 'api_key', useCases: [] };

function context(deps: GatewayDeps, useCaseSpec: UseCaseSpec | undefined, request: ChatRequest, withPatient = true, signal = new AbortController().signal): ChatContext {
  return {
    deps,
    eventType: 'chat.completion',
    operation: 'chat',
    principal: doctor,
    headers: { useCase: 'ward-round', purpose: 'TREAT', ...(withPatient ? { patient } : {}) },
    ...(useCaseSpec ? { useCase: { id: 'ward-round', version: 3, spec: useCaseSpec } } : {}),
    request,
    meta: { requestId: 'req-1', receivedAt: 0, startedNs: 0n, clientIp: undefined, userAgent: undefined, signal, header: () => undefined, readBody: async () => '' },
  } as ChatContext;
}

const question: ChatRequest = {
  model: 'echo',
  messages: [
    { role: 'system', content: 'Caller system prompt.' },
    { role: 'user', content: 'Earlier question' },
    { role: 'assistant', content: 'Earlier answer' },
    { role: 'user', content: [{ type: 'text', text: 'How is the cough?' }, { type: 'image_url', image_url: { url: 'data:,' } }] },
  ],
};

async function events(h: Harness): Promise<Record<string, unknown>[]> {
  await h.audit.drain();
  return h.sink.rows.map((r) => r.event as unknown as Record<string, unknown>);
}

async function refusal(step: Promise<void>): Promise<{ code: string; detail: unknown }> {
  const err = await rejection(step);
  return { code: err.code, detail: err.detail };
}

describe('gather context', () => {
  it('renders the minimum-necessary FHIR context and the retrieved notes into the template as the first system message', async () => {
    const retriever = testRetriever(chunks);
    const h = await harness({ retriever });
    const ctx = context(h.deps, spec(), question);
    await gatherContext(ctx);
    const messages = ctx.request?.messages ?? [];
    expect(messages).toHaveLength(5);
    expect(messages.slice(1)).toEqual(question.messages);
    const system = messages[0];
    expect(system?.role).toBe('system');
    const text = String(system?.content);
    const lines = text.split('\n');
    expect(lines[0]).toBe('You help the treating clinician on ward rounds.');
    expect(lines.at(-1)).toBe('Answer briefly.');
    // Three newest Observations were read; the newest (the labelled HIV result) is withheld.
    expect(text).toContain('Patient record (FHIR):\nObservation (2):\n- code: Body Height (LOINC 8302-2) | valueQuantity: ');
    expect(text).toContain('\nCondition (4):\n- code: ');
    expect(text).toContain('Notes (retrieved excerpts, best first):\n[1] Progress note, 2021\nCough improved after antibiotics.\n[2]\nPlan: chest X-ray if fever returns.');
    // This use case may not receive the HIV category.
    expect(text).not.toContain('HIV');
    // Never the patient's identifiers, narrative or other elements.
    expect(text).not.toMatch(/Marvin|Hershel|subject|encounter|category|Patient\//);
    expect(ctx.patientPhi?.names?.some((n) => n.includes('Marvin'))).toBe(true);
    expect(ctx.sensitivity).toEqual([]);
    expect(ctx.citations).toEqual([
      { documentId: 'doc-a', chunkId: 'doc-a#2', label: 'Progress note, 2021' },
      { documentId: 'doc-b', chunkId: 'doc-b#0' },
    ]);
    // Retrieval: the last user message's text, the request's patient, the use case's categories, the caller's units, k.
    expect(retriever.calls).toEqual([{ query: 'How is the cough?', scope: { patient, allowedSensitivity: [], units: ['ward-4'], k: 2 }, signal: expect.any(AbortSignal) }]);
    const [event] = await events(h);
    expect(event).toMatchObject({
      type: 'context.gather',
      stage: 'completed',
      outcome: 'success',
      useCase: 'ward-round',
      purpose: 'TREAT',
      patientHash: store.fieldCrypto.blindIndex(patient, 'audit-patient'),
      actor: { userId: 'doc' },
      detail: { useCaseVersion: 3, fhirResources: 'Condition:4,Observation:2', fhirResourceCount: 6, fhirWithheld: 1, documents: 'doc-a,doc-b', chunks: 'doc-a#2,doc-b#0', chunkCount: 2, contextChars: text.length },
    });
    // The record holds ids and counts only.
    const body = JSON.stringify(h.sink.rows);
    expect(body).not.toMatch(/Marvin|Cough|chest|Patient\//);
  });

  it('includes labelled resources for a use case that may receive their category, and says so in ctx.sensitivity', async () => {
    const h = await harness({ retriever: testRetriever([]) });
    const ctx = context(h.deps, spec({ sensitiveCategories: ['hiv'] }), question);
    ctx.sensitivity = ['genetic'];
    await gatherContext(ctx);
    expect(String(ctx.request?.messages[0]?.content)).toContain('- code: HIV 1 RNA viral load | valueQuantity: 40 copies/mL | effectiveDateTime: 2030-01-01');
    expect(ctx.sensitivity).toEqual(['genetic', 'hiv']);
    const [event] = await events(h);
    expect(event).toMatchObject({ detail: { fhirWithheld: 0, categories: 'hiv', chunkCount: 0 } });
    expect(labelledId).toBeTruthy();
  });

  it('uses the default system message without a template, and says when nothing was found', async () => {
    const h = await harness({ fhir: false, retriever: testRetriever([]) });
    const ctx = context(h.deps, spec({ promptTemplate: undefined, data: { documents: { k: 3 } } }), question);
    await gatherContext(ctx);
    expect(ctx.request?.messages[0]).toEqual({
      role: 'system',
      content: 'Patient context gathered by phigate for this request (minimum necessary for the use case).\nUse it only to answer the request. Cite notes by their [n] markers.\n\nNo patient context was found for this request.',
    });
    // No FHIR source configured: no known PHI from the EHR.
    expect(ctx.patientPhi).toBeUndefined();
  });

  it('leaves requests alone that name no patient, no context-declaring use case, or are not chat', async () => {
    const h = await harness({ retriever: testRetriever(chunks) });
    for (const ctx of [
      context(h.deps, spec(), question, false),
      context(h.deps, undefined, question),
      context(h.deps, spec({ data: { fhir: [{ resourceType: 'Condition', elements: ['code'] }], autoContext: false } }), question),
      { ...context(h.deps, spec(), question), operation: 'embeddings', request: { model: 'echo', input: 'x' } } as PipelineContext,
    ]) {
      const before = ctx.request;
      await gatherContext(ctx);
      expect(ctx.request).toBe(before);
      expect(ctx.citations).toBeUndefined();
    }
    expect(await events(h)).toEqual([]);
  });

  it('retrieves nothing when the last user message has no text', async () => {
    const retriever = testRetriever(chunks);
    const h = await harness({ fhir: false, retriever });
    const ctx = context(h.deps, spec({ data: { documents: { k: 2 } } }), { model: 'echo', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:,' } }] }] });
    await gatherContext(ctx);
    expect(retriever.calls).toEqual([]);
    expect(ctx.citations).toEqual([]);
  });
});

describe('gather context refusals: typed, audited, nothing partial', () => {
  async function expectRefused(h: Harness, ctx: PipelineContext, code: string, detail?: Record<string, unknown>): Promise<Record<string, unknown>> {
    const before = ctx.request;
    const err = await refusal(gatherContext(ctx));
    expect(err.code).toBe(code);
    if (detail) expect(err.detail).toMatchObject(detail);
    // Nothing was added to the request or the context.
    expect(ctx.request).toBe(before);
    expect(ctx.citations).toBeUndefined();
    expect(ctx.patientPhi).toBeUndefined();
    const all = await events(h);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ type: 'context.gather', stage: 'refused', errorCode: code, useCase: 'ward-round' });
    return all[0] as Record<string, unknown>;
  }

  it('an unreachable FHIR server', async () => {
    const h = await harness({ fhir: { baseUrl: await unreachableFhirUrl() }, retriever: testRetriever(chunks) });
    const event = await expectRefused(h, context(h.deps, spec(), question), 'fhir_unavailable', { reason: 'unreachable' });
    expect(event).toMatchObject({ outcome: 'failure', status: 502, detail: { stage: 'discovery', reason: 'unreachable', useCaseVersion: 3 } });
  });

  it('a slow FHIR server, which also stops the retrieval running beside it', async () => {
    let retrievalSignal: AbortSignal | undefined;
    const retriever: Retriever = {
      retrieve: (_q, _s, options) =>
        new Promise((_resolve, reject) => {
          retrievalSignal = options?.signal;
          options?.signal?.addEventListener('abort', () => reject(new Error('aborted')));
        }),
    };
    const h = await harness({ retriever, fhir: { timeoutMs: 200 } });
    // Authorise once, then slow the FHIR answers down.
    await h.deps.fhirContext?.gather(patient, { data: { fhir: [] } }, new AbortController().signal);
    server.setFault({ kind: 'slow', delayMs: 2_000 });
    await expectRefused(h, context(h.deps, spec(), question), 'fhir_timeout');
    expect(retrievalSignal?.aborted).toBe(true);
  });

  it('a malformed FHIR answer', async () => {
    server.setFault({ kind: 'malformed', mode: 'bad-entry' });
    const h = await harness({ retriever: testRetriever(chunks) });
    await expectRefused(h, context(h.deps, spec(), question), 'fhir_bad_response', { reason: 'malformed_entry' });
  });

  it('an oversized FHIR answer', async () => {
    server.setFault({ kind: 'oversized', bytes: 300_000, chunked: true });
    const h = await harness({ fhir: { maxResponseBytes: 100_000 }, retriever: testRetriever(chunks) });
    await expectRefused(h, context(h.deps, spec(), question), 'context_too_large', { source: 'fhir' });
  });

  it('a rendered context over the configured limit', async () => {
    const long = [{ ...chunks[0], text: 'x'.repeat(5_000) } as RetrievedChunk];
    const h = await harness({ fhir: { maxContextChars: 1_000 }, retriever: testRetriever(long) });
    await expectRefused(h, context(h.deps, spec(), question), 'context_too_large', { source: 'rendered_context', limitChars: 1_000 });
  });

  it('a retriever that fails, returns more than k, or returns a category the use case may not receive', async () => {
    for (const [retriever, reason] of [
      [testRetriever(() => Promise.reject(new Error('index offline'))), 'retriever_error'],
      [testRetriever([...chunks, { ...chunks[0], chunkId: 'doc-a#3' } as RetrievedChunk]), 'too_many_chunks'],
      [testRetriever([{ ...chunks[0], sensitivity: ['psychotherapy_notes'] } as RetrievedChunk]), 'sensitivity_not_allowed'],
    ] as const) {
      const h = await harness({ retriever });
      await expectRefused(h, context(h.deps, spec(), question), 'retrieval_failed', { reason });
    }
  });

  it('a use case whose context source is not configured', async () => {
    const noFhir = await harness({ fhir: false, retriever: testRetriever(chunks) });
    await expectRefused(noFhir, context(noFhir.deps, spec(), question), 'context_unavailable', { source: 'fhir' });
    const noIndex = await harness({});
    await expectRefused(noIndex, context(noIndex.deps, spec(), question), 'context_unavailable', { source: 'documents' });
  });

  it('a patient the EHR does not know', async () => {
    const h = await harness({ retriever: testRetriever(chunks) });
    const ctx = context(h.deps, spec(), question);
    ctx.headers = { ...ctx.headers, patient: 'Patient/unknown-1' };
    await expectRefused(h, ctx, 'fhir_patient_not_found');
  });

  it('a client that went away', async () => {
    const controller = new AbortController();
    controller.abort();
    const h = await harness({ retriever: testRetriever(chunks) });
    await expectRefused(h, context(h.deps, spec(), question, true, controller.signal), 'client_disconnected');
  });
});

describe('lastUserText', () => {
  it('takes the text parts of the last user message', () => {
    expect(lastUserText(question.messages)).toBe('How is the cough?');
    expect(lastUserText([{ role: 'assistant', content: 'x' }])).toBe('');
  });
});
