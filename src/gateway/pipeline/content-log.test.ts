// SPDX-License-Identifier: Apache-2.0
// The content log step: nothing kept for a use case that keeps none; the prompt as sent and the
// answer as released for one that does (plain and streamed); a failure to record withholds the
// answer with audit_unavailable and still closes the audit trail.
import { tmpdir } from 'node:os';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditEventTypes } from '../../audit/record.js';
import { createInferenceContentLog, type InferenceContentLog } from '../../audit/retention.js';
import { createMemoryAuditSink, type MemoryAuditSink } from '../../audit/testing/memory-sink.js';
import { createAuditWriter } from '../../audit/writer.js';
import { createMemoryKms } from '../../crypto/testing/memory-kms.js';
import { isGatewayError } from '../../kernel/errors.js';
import type { ChatDelta, ChatRequest, ChatResult } from '../../providers/types.js';
import { adminSpec } from '../../registry/testing/registry-fixtures.js';
import { useCaseSpecSchema } from '../../registry/use-case-spec.js';
import { createDb } from '../../store/db.js';
import { migrateToLatest } from '../../store/migrate.js';
import type { Database } from '../../store/schema.js';
import { createLogger } from '../../telemetry/logger.js';
import { recordInferenceContent } from './content-log.js';
import type { PipelineContext, RouteTarget } from './context.js';
import { runPipeline } from './pipeline.js';

let db: Kysely<Database>;
let log: InferenceContentLog;
let sink: MemoryAuditSink;

beforeEach(async () => {
  db = createDb('sqlite::memory:', { baseDir: tmpdir() });
  await migrateToLatest(db);
  log = createInferenceContentLog({ db, kms: createMemoryKms(), now: () => Date.UTC(2026, 5, 1, 9), retentionDays: 30 });
  sink = createMemoryAuditSink();
});
afterEach(() => db.destroy());

const request: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'Summarise: Maria Gonzalez, MRN 84736251.' }] } as ChatRequest;
const answer: ChatResult = {
  id: 'c',
  object: 'chat.completion',
  created: 0,
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Maria Gonzalez is stable.' }, finish_reason: 'stop', logprobs: null }],
} as ChatResult;

async function contextFor(retentionDays: number, requestId = 'req-1'): Promise<PipelineContext> {
  const audit = await createAuditWriter({ sink, writeTimeoutMs: 2_000 });
  return {
    deps: {
      logger: createLogger({ level: 'silent' }),
      keyedHash: (value: string, purpose: string) => `${purpose}:${value.length}`,
      contentLog: log,
      audit,
      clock: { now: () => Date.UTC(2026, 5, 1, 9) },
      instanceId: 'test',
    },
    meta: { requestId, receivedAt: 0, startedNs: process.hrtime.bigint() },
    eventType: auditEventTypes.chatCompletion,
    operation: 'chat',
    request,
    headers: { patient: 'Patient/123', useCase: 'uc' },
    principal: { userId: 'dr-a' },
    useCase: { id: 'uc', version: 1, spec: useCaseSpecSchema.parse(adminSpec({ inferenceLogRetentionDays: retentionDays })) },
    servedBy: { endpoint: { id: 'primary', vendor: 'acme-ai' } } as unknown as RouteTarget,
    disclosureRecorded: true,
  } as unknown as PipelineContext;
}

async function stored() {
  const rows = await db.selectFrom('inference_content_log').selectAll().orderBy('id').execute();
  return Promise.all(rows.map(async (r) => ({ kind: r.kind, requestId: r.request_id, useCase: r.use_case, patientHash: r.patient_hash, actorId: r.actor_id, retentionDays: r.retention_days, content: await log.read(r.id) })));
}

describe('recordInferenceContent', () => {
  it('records nothing when the use case keeps no content', async () => {
    await recordInferenceContent(await contextFor(0), JSON.stringify(answer));
    expect(await stored()).toEqual([]);
  });

  it('records nothing when no vendor answered', async () => {
    const ctx = await contextFor(14);
    delete ctx.servedBy;
    await recordInferenceContent(ctx, 'x');
    expect(await stored()).toEqual([]);
  });

  it('records the prompt as sent and the answer as released, with ids, keyed patient hash and retention', async () => {
    await recordInferenceContent(await contextFor(14), JSON.stringify(answer));
    const common = { requestId: 'req-1', useCase: 'uc', patientHash: 'audit-patient:11', actorId: 'dr-a', retentionDays: 14 };
    expect(await stored()).toEqual([
      { ...common, kind: 'prompt', content: JSON.stringify(request) },
      { ...common, kind: 'response', content: JSON.stringify(answer) },
    ]);
  });

  it('fails closed with audit_unavailable when the log cannot be written, or is missing', async () => {
    await db.schema.dropTable('inference_content_log').execute();
    const err = await recordInferenceContent(await contextFor(14), 'x').catch((e: unknown) => e);
    expect(isGatewayError(err) && err.code).toBe('audit_unavailable');

    const ctx = await contextFor(14);
    (ctx.deps as { contentLog?: InferenceContentLog }).contentLog = undefined;
    const missing = await recordInferenceContent(ctx, 'x').catch((e: unknown) => e);
    expect(isGatewayError(missing) && missing.code).toBe('audit_unavailable');
  });
});

describe('the content log in the request road', () => {
  it('keeps the released chat answer before the closing record', async () => {
    const ctx = await contextFor(7);
    await runPipeline(ctx, [(c) => void (c.result = { kind: 'chat', value: answer })]);
    expect((await stored()).map((r) => [r.kind, r.content])).toEqual([
      ['prompt', JSON.stringify(request)],
      ['response', JSON.stringify(answer)],
    ]);
    expect(sink.rows.at(-1)?.event).toMatchObject({ stage: 'completed', outcome: 'success' });
  });

  it('keeps the accumulated streamed text when the stream ends', async () => {
    const ctx = await contextFor(7);
    async function* deltas(): AsyncGenerator<ChatDelta> {
      for (const content of ['Maria ', 'is ', 'stable.']) yield { id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] } as ChatDelta;
    }
    await runPipeline(ctx, [(c) => void (c.result = { kind: 'stream', deltas: deltas() })]);
    if (ctx.result?.kind !== 'stream') throw new Error('expected a stream');
    for await (const delta of ctx.result.deltas) void delta;
    expect((await stored()).map((r) => [r.kind, r.content])).toEqual([
      ['prompt', JSON.stringify(request)],
      ['response', 'Maria is stable.'],
    ]);
  });

  it('withholds the answer with audit_unavailable when the content cannot be recorded, and audits the failure', async () => {
    await db.schema.dropTable('inference_content_log').execute();
    const ctx = await contextFor(7);
    const err = await runPipeline(ctx, [(c) => void (c.result = { kind: 'chat', value: answer })]).catch((e: unknown) => e);
    expect(isGatewayError(err) && err.code).toBe('audit_unavailable');
    expect(sink.rows.at(-1)?.event).toMatchObject({ stage: 'completed', outcome: 'failure', errorCode: 'audit_unavailable' });

    async function* deltas(): AsyncGenerator<ChatDelta> {
      yield { id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { content: 'text' }, finish_reason: null }] } as ChatDelta;
    }
    const streamed = await contextFor(7, 'req-2');
    await runPipeline(streamed, [(c) => void (c.result = { kind: 'stream', deltas: deltas() })]);
    if (streamed.result?.kind !== 'stream') throw new Error('expected a stream');
    const consume = async () => {
      for await (const delta of (streamed.result as { deltas: AsyncIterable<ChatDelta> }).deltas) void delta;
    };
    const streamErr = await consume().catch((e: unknown) => e);
    expect(isGatewayError(streamErr) && streamErr.code).toBe('audit_unavailable');
    expect(sink.rows.at(-1)?.event).toMatchObject({ requestId: 'req-2', outcome: 'failure', errorCode: 'audit_unavailable' });
  });
});
