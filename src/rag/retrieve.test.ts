// SPDX-License-Identifier: Apache-2.0
// The retriever over a real SQLite store: scope applied before ranking, at most k, only the
// returned chunks decrypted, one audit event per retrieval (ids and counts, never text), bad
// input refused and audited, the audit log failing closed, a failing embedding endpoint
// degrading to full text without relaxing access.
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../audit/record.js';
import { startFakeOpenAiServer, type FakeVendorServer } from '../providers/testing/index.js';
import { createDb } from '../store/db.js';
import { textDocument } from './documents.js';
import type { RetrievalCaller, RetrievalScope } from './retriever.js';
import { createRagHarness, type RagHarness } from './testing/harness.js';

const caller: RetrievalCaller = {
  requestId: 'req-retrieve-1',
  actor: { userId: 'u-doc', kind: 'user', roles: ['physician'], authMethod: 'api_key' },
  purpose: 'TREAT',
  useCase: 'chart-summary',
  accessBasis: 'care_team',
};

function scope(patient: string, extra: Partial<RetrievalScope> = {}): RetrievalScope {
  return { patient, allowedSensitivity: [], units: [], k: 5, ...extra };
}

const retrievalEvents = (h: RagHarness): AuditEvent[] => h.sink.rows.map((r) => r.event).filter((e) => e.type === 'retrieval.query');

async function ingestAll(h: RagHarness, docs: readonly Parameters<typeof textDocument>[0][]): Promise<string[]> {
  const ids: string[] = [];
  for (const doc of docs) ids.push((await h.ingester.ingest(textDocument(doc, h.limits), { userId: 'u-admin', requestId: 'ingest' })).id);
  return ids;
}

describe('retriever (SQLite, hybrid with the echo embedder)', () => {
  let h: RagHarness;
  let ids: string[];
  beforeAll(async () => {
    h = await createRagHarness({ db: createDb('sqlite::memory:', { baseDir: tmpdir() }) });
    ids = await ingestAll(h, [
      { patient: 'Patient/a', text: 'Chest pain on exertion. ECG shows ST depression. Started aspirin and a beta blocker.', type: 'Cardiology consult', date: Date.UTC(2022, 1, 3) },
      { patient: 'Patient/a', text: 'Knee osteoarthritis; physiotherapy twice weekly.' },
      { patient: 'Patient/a', text: 'Chest pain follow-up in the methadone programme.', sensitivity: ['substance_use_part2'] },
      { patient: 'Patient/a', text: 'Chest pain reviewed on the cardiac ward.', unit: 'cardiac-ward' },
      { patient: 'Patient/b', text: 'Chest pain on exertion. ECG shows ST depression. Started aspirin and a beta blocker.' },
    ]);
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.sink.mode = 'ok';
  });

  it('returns the patient\'s best chunks, decrypted, with label, sensitivity and a rank-fused score', async () => {
    const hits = await h.retriever.retrieve('chest pain and aspirin', scope('Patient/a'), { caller });
    expect(hits[0]).toMatchObject({ documentId: ids[0], chunkId: `${ids[0]}:0`, label: 'Cardiology consult, 2022', sensitivity: [] });
    expect(hits[0]?.text).toContain('ST depression');
    expect(hits.every((c) => c.score > 0 && c.score <= 2 / 61 + 1e-6)).toBe(true);
    // Patient b's identical note, the Part 2 note and the unit-restricted note are outside this scope.
    expect(hits.map((c) => c.documentId).sort()).toEqual([ids[0], ids[1]].sort());
  });

  it('widens only as the scope allows: sensitivity the use case permits, units the caller belongs to', async () => {
    const withPart2 = await h.retriever.retrieve('chest pain', scope('Patient/a', { allowedSensitivity: ['substance_use_part2'] }), { caller });
    expect(withPart2.map((c) => c.documentId)).toContain(ids[2]);
    expect(withPart2.find((c) => c.documentId === ids[2])?.sensitivity).toEqual(['substance_use_part2']);
    const onWard = await h.retriever.retrieve('chest pain', scope('Patient/a', { units: ['cardiac-ward'] }), { caller });
    expect(onWard.map((c) => c.documentId)).toContain(ids[3]);
    expect(onWard.map((c) => c.documentId)).not.toContain(ids[2]);
  });

  it('returns at most k', async () => {
    for (const k of [1, 2, 3]) expect((await h.retriever.retrieve('chest pain', scope('Patient/a', { k, allowedSensitivity: ['substance_use_part2'], units: ['cardiac-ward'] }), { caller })).length).toBe(k);
  });

  it('writes one audit event per retrieval: ids, counts and keyed hashes, never text or the patient id', async () => {
    const before = retrievalEvents(h).length;
    const hits = await h.retriever.retrieve('chest pain and aspirin', scope('Patient/a', { k: 2 }), { caller });
    const events = retrievalEvents(h).slice(before);
    expect(events).toHaveLength(1);
    const event = events[0] as AuditEvent;
    expect(event).toMatchObject({
      stage: 'completed',
      outcome: 'success',
      requestId: caller.requestId,
      useCase: 'chart-summary',
      purpose: 'TREAT',
      accessBasis: 'care_team',
      patientHash: h.keyedHash('Patient/a', 'audit-patient'),
      actor: { userId: 'u-doc' },
    });
    expect(event.detail).toMatchObject({ k: 2, returned: hits.length, chunkIds: hits.map((c) => c.chunkId).join(','), vector: 'exact' });
    expect(String(event.detail?.documentIds).split(',').sort()).toEqual([...new Set(hits.map((c) => c.documentId))].sort());
    const json = JSON.stringify(event);
    for (const leak of ['chest', 'aspirin', 'depression', 'Patient/a']) expect(json.toLowerCase()).not.toContain(leak.toLowerCase());
  });

  it('refuses bad input with invalid_request, audits the refusal, returns nothing', async () => {
    const bad: [string, RetrievalScope][] = [
      ['', scope('Patient/a')],
      ['x'.repeat(2001), scope('Patient/a')],
      ['chest pain', scope('Patient/a', { k: 0 })],
      ['chest pain', scope('Patient/a', { k: 51 })],
      ['chest pain', scope('Patient/a', { k: 1.5 })],
      ['chest pain', scope('not-a-patient')],
      ['chest pain', scope('Patient/a', { units: ["x' or 1=1"] })],
    ];
    for (const [query, s] of bad) {
      const before = retrievalEvents(h).length;
      await expect(h.retriever.retrieve(query, s, { caller })).rejects.toMatchObject({ code: 'invalid_request' });
      const [event] = retrievalEvents(h).slice(before);
      expect(event).toMatchObject({ stage: 'refused', outcome: 'denied', errorCode: 'invalid_request', status: 400, detail: { returned: 0 } });
    }
  });

  it('fails closed when the audit log cannot be written: audit_unavailable, no text released', async () => {
    h.sink.mode = 'fail';
    await expect(h.retriever.retrieve('chest pain', scope('Patient/a'), { caller })).rejects.toMatchObject({ code: 'audit_unavailable' });
  });

  it('a patient with no documents gets an empty list, audited', async () => {
    const before = retrievalEvents(h).length;
    expect(await h.retriever.retrieve('chest pain', scope('Patient/nobody'), { caller })).toEqual([]);
    expect(retrievalEvents(h).slice(before)[0]?.detail).toMatchObject({ returned: 0 });
  });
});

describe('retriever: full text only, and a failing embedding endpoint', () => {
  let vendor: FakeVendorServer;
  let lexical: RagHarness;
  let hybrid: RagHarness;
  beforeAll(async () => {
    vendor = await startFakeOpenAiServer();
    lexical = await createRagHarness({ db: createDb('sqlite::memory:', { baseDir: tmpdir() }), embeddings: false });
    hybrid = await createRagHarness({
      db: createDb('sqlite::memory:', { baseDir: tmpdir() }),
      embeddingModel: 'vendor-embed',
      endpoints: [{ id: 'vendor', kind: 'openai-compatible', baseUrl: `${vendor.url}/v1`, apiKey: 'env:VENDOR_KEY', maxRetries: 0, models: [{ name: 'vendor-embed', capabilities: ['embeddings'] }] }],
      env: { VENDOR_KEY: 'test-openai-key' },
    });
  });
  afterAll(async () => {
    await lexical.close();
    await hybrid.close();
    await vendor.close();
  });

  it('without an embedding model, retrieves by BM25 and says so in the audit event', async () => {
    const [id] = await ingestAll(lexical, [{ patient: 'Patient/a', text: 'Gout flare treated with colchicine.' }, { patient: 'Patient/a', text: 'Routine eye exam.' }]);
    const hits = await lexical.retriever.retrieve('colchicine', scope('Patient/a'), { caller });
    expect(hits.map((c) => c.documentId)).toEqual([id]);
    expect(lexical.sink.rows.at(-1)?.event.detail).toMatchObject({ vector: 'off', vectorHits: 0, lexicalHits: 1 });
  });

  it('de-identifies the query before it reaches the embedding vendor, and records the disclosure first', async () => {
    await ingestAll(hybrid, [{ patient: 'Patient/a', text: 'Asthma action plan reviewed; inhaler technique good.' }]);
    const before = vendor.requests.length;
    const events = hybrid.sink.rows.length;
    const hits = await hybrid.retriever.retrieve('Did Jonathan Whitfield-Barnes use his inhaler?', scope('Patient/a'), { caller });
    expect(hits.length).toBe(1);
    const sent = vendor.requests.slice(before).flatMap((r) => r.summary.embedInputs);
    expect(sent).toHaveLength(1);
    expect(sent[0]).not.toMatch(/Jonathan|Whitfield/);
    expect(sent[0]).toContain('[NAME]');
    const written = hybrid.sink.rows.slice(events).map((r) => r.event);
    expect(written.map((e) => e.stage)).toEqual(['disclosure', 'completed']);
    expect(written[0]).toMatchObject({ endpointId: 'vendor', form: 'deidentified', outcome: 'pending' });
  });

  it('falls back to full text when the embedding endpoint fails, keeping the scope', async () => {
    vendor.script({ status: 500 });
    const hits = await hybrid.retriever.retrieve('inhaler', scope('Patient/a'), { caller });
    expect(hits).toHaveLength(1);
    expect(hybrid.sink.rows.at(-1)?.event.detail).toMatchObject({ vector: 'failed', vectorError: 'provider_unavailable', lexicalHits: 1 });
    expect(await hybrid.retriever.retrieve('inhaler', scope('Patient/other'), { caller })).toEqual([]);
  });
});
