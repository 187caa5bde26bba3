// SPDX-License-Identifier: Apache-2.0
// The filter-output step over a real (in-memory SQLite) store and audit writer: where the
// patient context comes from, the use case's blockOnLeak, fail-closed incident recording, and
// the requests the step leaves alone.
import { tmpdir } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuditWriter } from '../../audit/writer.js';
import { createMemoryAuditSink, type MemoryAuditSink } from '../../audit/testing/memory-sink.js';
import { configSchema } from '../../config/schema.js';
import { createMemoryKms } from '../../crypto/testing/memory-kms.js';
import type { KnownPhi } from '../../deid/types.js';
import { isGatewayError } from '../../kernel/errors.js';
import type { ChatResult } from '../../providers/types.js';
import type { LiveUseCase } from '../../registry/registry-view.js';
import { adminSpec } from '../../registry/testing/registry-fixtures.js';
import { useCaseSpecSchema } from '../../registry/use-case-spec.js';
import { openStore, type OpenedStore } from '../../store/store.js';
import { createLogger } from '../../telemetry/logger.js';
import type { GatewayDeps, PipelineContext } from './context.js';
import { filterOutput, outputFilterAuditDetail } from './filter-output.js';

const stores: OpenedStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

const wolf: KnownPhi = { names: ['Michele Wolf'], phones: ['555-894-2600'] };
const answer = 'Michele Wolf is stable; Renato Dare (555-561-2804) is not.';

async function setup(options: { output?: Record<string, unknown>; source?: Record<string, KnownPhi> } = {}): Promise<{ deps: GatewayDeps; sink: MemoryAuditSink }> {
  const config = configSchema.parse({ output: options.output ?? {} });
  const store = await openStore({ url: 'sqlite::memory:', baseDir: tmpdir(), kms: createMemoryKms() });
  stores.push(store);
  const sink = createMemoryAuditSink();
  const audit = await createAuditWriter({ sink, writeTimeoutMs: 500 });
  const deps = {
    config,
    logger: createLogger({ level: 'silent' }),
    clock: { now: () => Date.now() },
    audit,
    keyedHash: (value: string, purpose: string) => store.fieldCrypto.blindIndex(value, purpose),
    instanceId: 'test',
    store,
    ...(options.source ? { patientPhiSource: (patient: string) => options.source?.[patient] } : {}),
  } satisfies Partial<GatewayDeps> as unknown as GatewayDeps;
  return { deps, sink };
}

function chatResult(content: string): ChatResult {
  return { id: 'c', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null }] };
}

function context(deps: GatewayDeps, extra: Partial<Record<string, unknown>> = {}): PipelineContext {
  return {
    deps,
    eventType: 'chat.completion',
    operation: 'chat',
    principal: { userId: 'doc', kind: 'user', roles: ['physician'], authMethod: 'api_key', useCases: [] },
    headers: { patient: 'Patient/wolf', purpose: 'TREAT' },
    request: { model: 'm', messages: [{ role: 'user', content: 'Summarise.' }] },
    result: { kind: 'chat', value: chatResult(answer) },
    form: 'raw',
    meta: {
      requestId: 'req-1',
      receivedAt: 0,
      startedNs: 0n,
      clientIp: undefined,
      userAgent: undefined,
      signal: new AbortController().signal,
      header: () => undefined,
      readBody: () => Promise.resolve(''),
    },
    ...extra,
  } as unknown as PipelineContext;
}

const contentOf = (ctx: PipelineContext): string | null | undefined => (ctx.result?.kind === 'chat' ? ctx.result.value.choices[0]?.message.content : undefined);

describe('the filter-output step', () => {
  it('reads the patient context from ctx.patientPhi first, then from the gateway’s source', async () => {
    const { deps } = await setup({ source: { 'Patient/wolf': { names: ['Renato Dare'] } } });
    const fromContext = context(deps, { patientPhi: wolf });
    await filterOutput(fromContext);
    expect(contentOf(fromContext)).toBe('Michele Wolf is stable; [REDACTED] ([REDACTED]) is not.');
    const fromSource = context(deps);
    await filterOutput(fromSource);
    // the source says this patient is Renato Dare, so Michele Wolf is the other patient here
    expect(contentOf(fromSource)).toBe('[REDACTED] is stable; Renato Dare ([REDACTED]) is not.');
    expect(outputFilterAuditDetail(fromSource)).toMatchObject({ outputFilter: 'redacted', outputLeaks: 2 });
  });

  it('leaves the request’s own patient reference alone and redacts another patient’s', async () => {
    const { deps } = await setup();
    const headers = { patient: 'Patient/w-1207', purpose: 'TREAT' };
    const ctx = context(deps, { headers, patientPhi: wolf, result: { kind: 'chat', value: chatResult('See Patient/w-1207, not Patient/p-other.') } });
    await filterOutput(ctx);
    expect(contentOf(ctx)).toBe('See Patient/w-1207, not [REDACTED].');
  });

  it('blocks when the live use case asks for it, with the incident recorded first', async () => {
    const { deps, sink } = await setup();
    const useCase: LiveUseCase = { id: 'discharge', version: 3, spec: useCaseSpecSchema.parse(adminSpec({ output: { blockOnLeak: true } })) };
    const ctx = context(deps, { patientPhi: wolf, useCase });
    const err = await filterOutput(ctx).catch((e: unknown) => e);
    expect(isGatewayError(err, 'output_blocked')).toBe(true);
    await deps.audit.drain();
    expect(sink.rows.map((r) => r.event.type)).toEqual(['output.leak']);
    expect(sink.rows[0]?.event).toMatchObject({ outcome: 'denied', errorCode: 'output_blocked', detail: { action: 'blocked', leaks: 2 } });
    const incidents = await deps.store.db.selectFrom('output_incidents').selectAll().execute();
    expect(incidents.map((i) => i.action)).toEqual(['blocked']);
    expect(outputFilterAuditDetail(ctx)).toMatchObject({ outputFilter: 'blocked', outputIncidentId: incidents[0]?.id });
  });

  it('withholds the answer when the incident cannot be audited', async () => {
    const { deps, sink } = await setup();
    sink.mode = 'fail';
    const ctx = context(deps, { patientPhi: wolf });
    const err = await filterOutput(ctx).catch((e: unknown) => e);
    expect(isGatewayError(err, 'audit_unavailable')).toBe(true);
    expect(contentOf(ctx)).toBe(answer);
  });

  it('leaves embeddings, local answers and a disabled filter alone', async () => {
    const { deps } = await setup();
    const embeddings = context(deps, { operation: 'embeddings', request: { model: 'e', input: answer }, result: { kind: 'embeddings', value: { object: 'list', data: [], model: 'e', usage: { prompt_tokens: 0, total_tokens: 0 } } } });
    await filterOutput(embeddings);
    expect(outputFilterAuditDetail(embeddings)).toBeUndefined();
    const off = await setup({ output: { enabled: false } });
    const ctx = context(off.deps, { patientPhi: wolf });
    await filterOutput(ctx);
    expect(contentOf(ctx)).toBe(answer);
    expect(outputFilterAuditDetail(ctx)).toBeUndefined();
  });
});
