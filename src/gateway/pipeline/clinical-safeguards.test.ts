// SPDX-License-Identifier: Apache-2.0
// The clinical-safeguards step over a real (in-memory SQLite) store: decision-support answers
// labelled (plain, streamed, JSON mode), treatment-affecting answers held (plain and streamed)
// and the requester's placeholder; administrative answers untouched.
import { tmpdir } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqlAuditSink } from '../../audit/sql-sink.js';
import { createAuditWriter } from '../../audit/writer.js';
import type { Principal } from '../../auth/principal.js';
import { configSchema, type EndpointConfig } from '../../config/schema.js';
import { createMemoryKms } from '../../crypto/testing/memory-kms.js';
import { collectStream } from '../../providers/testing/collect-stream.js';
import type { ChatDelta, ChatRequest, ChatResult } from '../../providers/types.js';
import { adminSpec, cdsSpec } from '../../registry/testing/registry-fixtures.js';
import { useCaseSpecSchema } from '../../registry/use-case-spec.js';
import { clinicalLabel, type PhigateAnnotation } from '../../review/clinical-label.js';
import { reviewQueueFor } from '../../review/queue.js';
import { openStore, type OpenedStore } from '../../store/store.js';
import { createLogger } from '../../telemetry/logger.js';
import { clinicalSafeguards, collectResult, heldAnswerText } from './clinical-safeguards.js';
import type { ChatContext, GatewayDeps, PipelineResult, RouteTarget } from './context.js';

const stores: OpenedStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

async function setup(): Promise<GatewayDeps> {
  const store = await openStore({ url: 'sqlite::memory:', baseDir: tmpdir(), kms: createMemoryKms() });
  stores.push(store);
  const audit = await createAuditWriter({ sink: createSqlAuditSink(store.db), writeTimeoutMs: 2000 });
  for (const [id, roles] of [['doc', ['physician']], ['rev', ['physician']]] as const) await store.users.create({ id, name: id, roles, kind: 'user' });
  return {
    config: configSchema.parse({}),
    logger: createLogger({ level: 'silent' }),
    clock: { now: () => Date.now() },
    audit,
    keyedHash: (value: string, purpose: string) => store.fieldCrypto.blindIndex(value, purpose),
    instanceId: 'test',
    store,
  } satisfies Partial<GatewayDeps> as unknown as GatewayDeps;
}

const principal: Principal = { userId: 'doc', kind: 'user', roles: ['physician'], authMethod: 'api_key', apiKeyId: 'k1', useCases: [] };
const servedBy = { endpoint: { id: 'acme-us', vendor: 'acme-ai' } as EndpointConfig, provider: undefined as never, upstreamModel: 'acme-large-2025-06-01' } satisfies RouteTarget;
const cds = { id: 'ddx', version: 2, spec: useCaseSpecSchema.parse(cdsSpec()) };
const treatment = { id: 'med-titration', version: 5, spec: useCaseSpecSchema.parse(cdsSpec({ output: { clinicalLabel: true, humanReview: true } })) };
const administrative = { id: 'letters', version: 1, spec: useCaseSpecSchema.parse(adminSpec()) };
const citations = [{ documentId: 'DocumentReference/n1', chunkId: 'c1', label: 'Progress note' }];

const answer = 'Consider community-acquired pneumonia; start amoxicillin.\nConfidence: 75%';
const chatResult: ChatResult = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1_800_000_000,
  model: 'acme-large',
  choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop', logprobs: null }],
  usage: { prompt_tokens: 10, completion_tokens: 12, total_tokens: 22 },
};

async function* deltas(text: string, usage = true): AsyncGenerator<ChatDelta> {
  const head = { id: 'chatcmpl-s', object: 'chat.completion.chunk' as const, created: 1_800_000_000, model: 'acme-large' };
  yield { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] };
  for (let i = 0; i < text.length; i += 7) yield { ...head, choices: [{ index: 0, delta: { content: text.slice(i, i + 7) }, finish_reason: null }] };
  yield { ...head, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] };
  if (usage) yield { ...head, choices: [], usage: { prompt_tokens: 10, completion_tokens: 12, total_tokens: 22 } };
}

function context(deps: GatewayDeps, useCase: ChatContext['useCase'], result: PipelineResult, request: Partial<ChatRequest> = {}): ChatContext {
  return {
    deps,
    eventType: 'chat.completion',
    operation: 'chat',
    principal,
    headers: { patient: 'Patient/p1', purpose: 'TREAT', ...(useCase ? { useCase: useCase.id } : {}) },
    ...(useCase ? { useCase } : {}),
    citations,
    servedBy,
    request: { model: 'acme-large', messages: [{ role: 'user', content: 'What next?' }], ...request },
    result,
    meta: {
      requestId: 'req-1',
      receivedAt: 0,
      startedNs: 0n,
      clientIp: '127.0.0.1',
      userAgent: 'test',
      signal: new AbortController().signal,
      header: () => undefined,
      readBody: () => Promise.resolve(''),
    },
  };
}

const annotationOf = (value: unknown): PhigateAnnotation | undefined => (value as { phigate?: PhigateAnnotation }).phigate;

describe('clinical safeguards step', () => {
  it('labels a decision-support answer, with citations, the stated confidence and source attributes', async () => {
    const ctx = context(await setup(), cds, { kind: 'chat', value: chatResult });
    await clinicalSafeguards(ctx);
    const value = ctx.result?.kind === 'chat' ? ctx.result.value : undefined;
    expect(value?.choices[0]?.message.content).toBe(`${clinicalLabel}\n\n${answer}`);
    expect(annotationOf(value)).toMatchObject({
      label: clinicalLabel,
      citations: [{ document_id: 'DocumentReference/n1', chunk_id: 'c1', label: 'Progress note' }],
      confidence: 0.75,
      use_case: { id: 'ddx', version: 2 },
      source_attributes: { developer: 'Acme AI, Inc.' },
    });
  });

  it('labels a streamed answer in its first and final chunks; JSON mode keeps the text as the model wrote it', async () => {
    const deps = await setup();
    const ctx = context(deps, cds, { kind: 'stream', deltas: deltas(answer) });
    await clinicalSafeguards(ctx);
    const out = await collectStream(ctx.result?.kind === 'stream' ? ctx.result.deltas : deltas(''));
    expect(out.content).toBe(`${clinicalLabel}\n\n${answer}`);
    expect(annotationOf(out.chunks[0])).toMatchObject({ label: clinicalLabel });
    expect(annotationOf(out.chunks.find((c) => c.choices[0]?.finish_reason === 'stop'))).toMatchObject({ confidence: 0.75 });

    const json = '{"plan":"amoxicillin","confidence":0.6}';
    const jsonCtx = context(deps, cds, { kind: 'stream', deltas: deltas(json) }, { response_format: { type: 'json_object' } });
    await clinicalSafeguards(jsonCtx);
    const jsonOut = await collectStream(jsonCtx.result?.kind === 'stream' ? jsonCtx.result.deltas : deltas(''));
    expect(JSON.parse(jsonOut.content)).toEqual({ plan: 'amoxicillin', confidence: 0.6 });
    expect(annotationOf(jsonOut.chunks.find((c) => c.choices[0]?.finish_reason === 'stop'))).toMatchObject({ label: clinicalLabel, confidence: 0.6 });
  });

  it('holds a treatment-affecting answer: the caller gets the review id, the queue gets the answer', async () => {
    const deps = await setup();
    const ctx = context(deps, treatment, { kind: 'chat', value: chatResult });
    await clinicalSafeguards(ctx);
    const value = ctx.result?.kind === 'chat' ? ctx.result.value : undefined;
    const review = annotationOf(value)?.review;
    expect(review).toMatchObject({ status: 'pending' });
    expect(value?.choices).toEqual([{ index: 0, message: { role: 'assistant', content: heldAnswerText(review?.id ?? '') }, finish_reason: 'stop', logprobs: null }]);
    expect(JSON.stringify(value)).not.toContain('amoxicillin');
    expect(value?.usage).toEqual(chatResult.usage);
    const shown = await reviewQueueFor(deps).show({ actor: { userId: 'rev', kind: 'user', roles: ['physician'], authMethod: 'api_key' }, requestId: 'r2' }, review?.id ?? '').catch((err: unknown) => err);
    // The reviewer is not on this patient's care team: the held answer stays closed to them.
    expect(shown).toMatchObject({ code: 'patient_access_denied' });
    const item = await deps.store.db.selectFrom('review_items').select(['request_id', 'use_case_id', 'use_case_version', 'requester_id', 'model', 'vendor']).executeTakeFirst();
    expect(item).toEqual({ request_id: 'req-1', use_case_id: 'med-titration', use_case_version: 5, requester_id: 'doc', model: 'acme-large-2025-06-01', vendor: 'acme-ai' });
  });

  it('holds a streamed answer: read to its end, then one placeholder chunk (with usage)', async () => {
    const deps = await setup();
    const ctx = context(deps, treatment, { kind: 'stream', deltas: deltas(answer) });
    await clinicalSafeguards(ctx);
    // Nothing is held until the stream is consumed.
    expect(await deps.store.db.selectFrom('review_items').select('id').execute()).toEqual([]);
    const out = await collectStream(ctx.result?.kind === 'stream' ? ctx.result.deltas : deltas(''));
    expect(out.chunks).toHaveLength(1);
    const id = annotationOf(out.chunks[0])?.review?.id ?? '';
    expect(out.content).toBe(heldAnswerText(id));
    expect(out.finishReason).toBe('stop');
    expect(out.usage).toEqual({ prompt_tokens: 10, completion_tokens: 12, total_tokens: 22 });
    const released = await reviewQueueFor(deps).fetch({ actor: { userId: 'doc', kind: 'user', roles: ['physician'], authMethod: 'api_key' }, requestId: 'r3' }, id);
    expect(released.item.status).toBe('queued');
  });

  it('leaves administrative answers and requests without a use case as they are', async () => {
    const deps = await setup();
    for (const useCase of [administrative, undefined]) {
      const ctx = context(deps, useCase, { kind: 'chat', value: chatResult });
      await clinicalSafeguards(ctx);
      expect(ctx.result).toEqual({ kind: 'chat', value: chatResult });
    }
  });
});

describe('collectResult', () => {
  it('assembles text, tool calls, refusals and usage per choice as a non-streamed call would give them', async () => {
    const head = { id: 'c', object: 'chat.completion.chunk' as const, created: 1, model: 'm' };
    async function* source(): AsyncGenerator<ChatDelta> {
      yield { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: 'Hel' }, finish_reason: null }, { index: 1, delta: { role: 'assistant' }, finish_reason: null }] };
      yield { ...head, choices: [{ index: 1, delta: { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'order', arguments: '{"a"' } }] }, finish_reason: null }] };
      yield { ...head, choices: [{ index: 0, delta: { content: 'lo' }, finish_reason: 'stop' }, { index: 1, delta: { tool_calls: [{ index: 0, function: { arguments: ':1}' } }] }, finish_reason: 'tool_calls' }] };
      yield { ...head, choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } };
    }
    expect(await collectResult(source())).toEqual({
      id: 'c',
      object: 'chat.completion',
      created: 1,
      model: 'm',
      choices: [
        { index: 0, message: { role: 'assistant', content: 'Hello' }, finish_reason: 'stop', logprobs: null },
        { index: 1, message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'order', arguments: '{"a":1}' } }] }, finish_reason: 'tool_calls', logprobs: null },
      ],
      usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
    });
    await expect(collectResult((async function* () {})())).rejects.toMatchObject({ code: 'provider_bad_response' });
  });
});
