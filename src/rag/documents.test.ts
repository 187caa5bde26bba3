// SPDX-License-Identifier: Apache-2.0
// Ingest: plain text and FHIR DocumentReference in, validated against the limits, chunked,
// de-identified, encrypted and indexed — and bad input refused with a typed error and nothing stored.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sharedDataPath } from '../../test/support/shared-data.js';
import { isGatewayError, type GatewayError } from '../kernel/errors.js';
import { startFakeOpenAiServer, type FakeVendorServer } from '../providers/testing/index.js';
import { createDb } from '../store/db.js';
import { documentChunkContext } from '../store/repos/document-repo.js';
import { documentLabel, documentsOfFhir, parseDocumentReference, spansWithin, textDocument, type DocumentLimits } from './documents.js';
import { createRagHarness, type RagHarness } from './testing/harness.js';

const limits: DocumentLimits = { maxBytes: 64 * 1024, maxChunks: 200, chunkChars: 600, overlapChars: 80 };

interface SyntheaNote {
  readonly id: string;
  readonly patient: string;
  readonly date: string;
  readonly type: string;
  readonly text: string;
}

const synthea = readFileSync(sharedDataPath('notes', 'synthea-notes.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .slice(0, 40)
  .map((l) => JSON.parse(l) as SyntheaNote);

function docRef(overrides: Record<string, unknown> = {}, text = 'Assessment: stable angina. Plan: continue aspirin.'): Record<string, unknown> {
  return {
    resourceType: 'DocumentReference',
    id: 'dr-1',
    status: 'current',
    subject: { reference: 'Patient/p-1' },
    date: '2021-03-04T10:00:00Z',
    type: { coding: [{ system: 'http://loinc.org', code: '11506-3', display: 'Progress note' }] },
    content: [{ attachment: { contentType: 'text/plain; charset=utf-8', data: Buffer.from(text).toString('base64') } }],
    ...overrides,
  };
}

function refusal(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    if (isGatewayError(err)) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('parsing', () => {
  it('reads a DocumentReference: patient, text, sensitivity from meta.security and securityLabel, type and date', () => {
    const doc = parseDocumentReference(
      docRef({
        meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'ETH' }, { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] },
        securityLabel: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSYTHPN' }] }],
      }),
      limits,
    );
    expect(doc).toMatchObject({ patient: 'Patient/p-1', source: 'fhir', sourceRef: 'DocumentReference/dr-1', type: 'Progress note', sensitivity: ['substance_use_part2', 'psychotherapy_notes'] });
    expect(doc.text).toBe('Assessment: stable angina. Plan: continue aspirin.');
    expect(documentLabel(doc.type, doc.date)).toBe('Progress note, 2021');
  });

  it('takes the first text attachment (markdown included) and the caller\'s patient when the resource names none', () => {
    const doc = parseDocumentReference(
      docRef({ subject: undefined, content: [{ attachment: { contentType: 'application/pdf', data: 'JVBERi0=' } }, { attachment: { contentType: 'text/markdown', data: Buffer.from('# Plan\nRest.').toString('base64') } }] }),
      limits,
      { patient: 'Patient/p-9', unit: 'icu', sensitivity: ['hiv'] },
    );
    expect(doc).toMatchObject({ patient: 'Patient/p-9', text: '# Plan\nRest.', unit: 'icu', sensitivity: ['hiv'] });
  });

  it('refuses malformed DocumentReferences with a typed reason (never quoting content)', () => {
    const reasons: [Record<string, unknown> | unknown, string][] = [
      [{ resourceType: 'Patient' }, 'not_a_document_reference'],
      ['not json at all', 'not_a_document_reference'],
      [docRef({ status: 'entered-in-error' }), 'status_not_current'],
      [docRef({ subject: { reference: 'Group/g1' } }), 'subject_not_patient'],
      [docRef({ content: [] }), 'no_text_attachment'],
      [docRef({ content: [{ attachment: { contentType: 'application/pdf', data: 'JVBERi0=' } }] }), 'no_text_attachment'],
      [docRef({ content: [{ attachment: { contentType: 'text/plain', url: 'https://ehr.example/doc/1' } }] }), 'attachment_url_only'],
      [docRef({ content: [{ attachment: { contentType: 'text/plain', data: 'not*base64!' } }] }), 'base64_invalid'],
      [docRef({ content: [{ attachment: { contentType: 'text/plain', data: Buffer.from([0xc3, 0x28, 0xff]).toString('base64') } }] }), 'not_utf8'],
      [docRef({ content: [{ attachment: { contentType: 'text/plain; charset=iso-8859-1', data: 'YQ==' } }] }), 'charset_unsupported'],
      [docRef({ content: [{ attachment: { contentType: 'text/plain', data: Buffer.from('   \n ').toString('base64') } }] }), 'empty_text'],
      [docRef({ content: ['x'] }), 'content_invalid'],
    ];
    for (const [input, reason] of reasons) {
      const err = refusal(() => parseDocumentReference(input, limits));
      expect(err.code, reason).toBe('document_invalid');
      expect(err.detail?.reason).toBe(reason);
      expect(err.message).not.toMatch(/angina|aspirin/);
    }
    const mismatch = refusal(() => parseDocumentReference(docRef(), limits, { patient: 'Patient/someone-else' }));
    expect(mismatch.detail?.reason).toBe('patient_mismatch');
  });

  it('refuses an oversized note — decoded or still base64 — with document_too_large', () => {
    const big = 'x'.repeat(limits.maxBytes + 1);
    expect(refusal(() => textDocument({ patient: 'Patient/p-1', text: big }, limits)).code).toBe('document_too_large');
    expect(refusal(() => parseDocumentReference(docRef({}, big), limits)).code).toBe('document_too_large');
    // Multi-byte characters count as bytes, not characters.
    expect(refusal(() => textDocument({ patient: 'Patient/p-1', text: 'é'.repeat(limits.maxBytes / 2 + 1) }, limits)).code).toBe('document_too_large');
    expect(textDocument({ patient: 'Patient/p-1', text: 'x'.repeat(limits.maxBytes) }, limits).text).toHaveLength(limits.maxBytes);
  });

  it('reads a Bundle: DocumentReferences in, other resources skipped, bad ones reported by position', () => {
    const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: docRef() }, { resource: { resourceType: 'Patient', id: 'p-1' } }, { resource: docRef({ content: [] }) }, { resource: docRef({ id: 'dr-2' }) }] };
    const parsed = documentsOfFhir(bundle, limits);
    expect(parsed.documents.map((d) => d.sourceRef)).toEqual(['DocumentReference/dr-1', 'DocumentReference/dr-2']);
    expect(parsed.skipped).toBe(1);
    expect(parsed.problems).toEqual([{ at: 2, code: 'document_invalid', reason: 'no_text_attachment' }]);
  });

  it('normalises line endings and control characters, and checks the patient and unit', () => {
    expect(textDocument({ patient: 'p-1', text: 'a\r\nb\u0000c' }, limits)).toMatchObject({ patient: 'Patient/p-1', text: 'a\nb c' });
    expect(refusal(() => textDocument({ patient: 'not a patient', text: 'a' }, limits)).detail?.reason).toBe('patient_invalid');
    expect(refusal(() => textDocument({ patient: 'Patient/p', text: 'a', unit: 'ward 3; drop' }, limits)).detail?.reason).toBe('unit_invalid');
  });

  it('clips whole-note spans to a chunk', () => {
    const spans = [
      { start: 2, end: 6, type: 'NAME' as const, detector: 't', confidence: 1 },
      { start: 8, end: 14, type: 'DATE' as const, detector: 't', confidence: 1 },
    ];
    expect(spansWithin(spans, 5, 10).map((s) => [s.start, s.end])).toEqual([[0, 1], [3, 5]]);
  });
});

describe('ingest (SQLite)', () => {
  let h: RagHarness;
  beforeAll(async () => {
    h = await createRagHarness({ db: createDb('sqlite::memory:', { baseDir: tmpdir() }), rag: { chunkChars: 600, chunkOverlapChars: 80 } });
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    const ids = (await h.db.selectFrom('documents').select('id').execute()).map((r) => r.id);
    for (const id of ids) await h.ingester.remove(id);
  });

  const by = { userId: 'u-admin', requestId: 'req-1' };

  it('stores chunks encrypted, indexes the de-identified text, and embeds it', async () => {
    const note = synthea[1] as SyntheaNote;
    const result = await h.ingester.ingest(textDocument({ patient: note.patient, text: note.text, type: note.type, date: Date.parse(note.date) }, h.limits), by);
    expect(result).toMatchObject({ duplicate: false, embedded: true, label: `${note.type}, ${new Date(note.date).getUTCFullYear()}` });
    expect(result.phiFound.NAME).toBeGreaterThan(0);
    const rows = await h.db.selectFrom('document_chunks').selectAll().where('document_id', '=', result.id).orderBy('ordinal').execute();
    expect(rows).toHaveLength(result.chunks);
    const name = /# History of Present Illness\n(\S+ \S+)/.exec(note.text)?.[1] as string;
    for (const row of rows) {
      expect(row.text_enc.startsWith('v1.')).toBe(true);
      expect(row.text_enc).not.toContain(name);
      expect(row.deid_text).not.toContain(name.split(' ')[0]);
      expect(row.embedding_dims).toBe(256);
      expect(row.patient_index).toBe(h.fieldCrypto.blindIndex(note.patient, 'patient'));
      expect(row.patient_index).not.toContain(note.patient.slice('Patient/'.length));
    }
    const joined = (await Promise.all(rows.map((r) => h.fieldCrypto.decryptString(r.text_enc, documentChunkContext(r.id))))).join('\n');
    expect(joined).toContain(name);
    // The ciphertext is bound to its chunk: moved to another chunk it does not open.
    if (rows.length > 1) await expect(h.fieldCrypto.decryptString((rows[0] as { text_enc: string }).text_enc, documentChunkContext((rows[1] as { id: string }).id))).rejects.toThrow();
    const doc = await h.db.selectFrom('documents').selectAll().where('id', '=', result.id).executeTakeFirstOrThrow();
    expect(doc.patient_index).toBe(rows[0]?.patient_index);
    expect(JSON.stringify(doc)).not.toContain(note.patient.slice('Patient/'.length));
  });

  it('ingests the same note once; a new version of the same DocumentReference replaces the old one', async () => {
    const first = await h.ingester.ingest(parseDocumentReference(docRef(), h.limits), by);
    const again = await h.ingester.ingest(parseDocumentReference(docRef(), h.limits), by);
    expect(again).toMatchObject({ id: first.id, duplicate: true });
    const amended = await h.ingester.ingest(parseDocumentReference(docRef({}, 'Assessment: unstable angina. Plan: admit.'), h.limits), by);
    expect(amended).toMatchObject({ duplicate: false, replaced: first.id });
    const docs = await h.db.selectFrom('documents').select('id').execute();
    expect(docs.map((d) => d.id)).toEqual([amended.id]);
    const fts = await h.db.selectFrom('document_chunks').select('document_id').execute();
    expect(new Set(fts.map((r) => r.document_id))).toEqual(new Set([amended.id]));
    // The same text for another patient is another document.
    const other = await h.ingester.ingest(parseDocumentReference(docRef({ subject: { reference: 'Patient/p-2' } }, 'Assessment: unstable angina. Plan: admit.'), h.limits), by);
    expect(other.duplicate).toBe(false);
  });

  it('refuses a note that makes too many chunks, storing nothing', async () => {
    const small = await createRagHarness({ db: createDb('sqlite::memory:', { baseDir: tmpdir() }), rag: { chunkChars: 200, chunkOverlapChars: 0, maxChunksPerDocument: 3 } });
    try {
      const text = Array.from({ length: 20 }, (_, i) => `Paragraph ${i} describes wound care and dressing changes in detail.`).join('\n\n');
      await expect(small.ingester.ingest(textDocument({ patient: 'Patient/p-1', text }, small.limits), by)).rejects.toMatchObject({ code: 'document_too_large' });
      expect(await small.db.selectFrom('documents').select('id').execute()).toEqual([]);
      expect(await small.db.selectFrom('document_chunks').select('id').execute()).toEqual([]);
    } finally {
      await small.close();
    }
  });

  it('drops a document type that looks like it names someone, keeping the year', async () => {
    const result = await h.ingester.ingest(textDocument({ patient: 'Patient/p-1', text: 'Follow-up visit, no complaints.', type: 'Note for John Smith', date: Date.UTC(2020, 5, 1) }, h.limits), by);
    expect(result.label).toBe('Note, 2020');
  });

  it('removes a document with its chunks and index entries', async () => {
    const result = await h.ingester.ingest(textDocument({ patient: 'Patient/p-1', text: 'Dialysis on Monday, Wednesday and Friday.' }, h.limits), by);
    expect(await h.ingester.remove(result.id)).toBe(true);
    expect(await h.ingester.remove(result.id)).toBe(false);
    expect(await h.db.selectFrom('document_chunks').select('id').where('document_id', '=', result.id).execute()).toEqual([]);
    const scope = { patientIndex: h.fieldCrypto.blindIndex('Patient/p-1', 'patient'), disallowedMask: 0, units: [] };
    expect(await h.index.searchText(scope, ['dialysis'], 10)).toEqual([]);
  });
});

describe('ingest: embeddings and the egress door', () => {
  let vendor: FakeVendorServer;
  let h: RagHarness;
  beforeAll(async () => {
    vendor = await startFakeOpenAiServer();
    h = await createRagHarness({
      db: createDb('sqlite::memory:', { baseDir: tmpdir() }),
      embeddingModel: 'vendor-embed',
      endpoints: [{ id: 'vendor', kind: 'openai-compatible', baseUrl: `${vendor.url}/v1`, apiKey: 'env:VENDOR_KEY', models: [{ name: 'vendor-embed', capabilities: ['embeddings'] }] }],
      env: { VENDOR_KEY: 'test-openai-key' },
    });
  });
  afterAll(async () => {
    await h.close();
    await vendor.close();
  });

  it('sends only de-identified chunk text to a vendor endpoint', async () => {
    const note = synthea[3] as SyntheaNote;
    const name = /# History of Present Illness\n(\S+)/.exec(note.text)?.[1] as string;
    const before = vendor.requests.length;
    const result = await h.ingester.ingest(textDocument({ patient: note.patient, text: note.text }, h.limits), { userId: 'u', requestId: 'r' });
    expect(result.embedded).toBe(true);
    const sent = vendor.requests.slice(before).flatMap((r) => r.summary.embedInputs);
    expect(sent).toHaveLength(result.chunks);
    expect(sent.join('\n')).not.toContain(name);
    expect(sent.join('\n')).toContain('[NAME]');
  });

  it('never sends a note with a sensitive category to a vendor (not self-hosted): full text only', async () => {
    const before = vendor.requests.length;
    const result = await h.ingester.ingest(textDocument({ patient: 'Patient/p-1', text: 'Methadone maintenance, counselling weekly.', sensitivity: ['substance_use_part2'] }, h.limits), { userId: 'u', requestId: 'r' });
    expect(result).toMatchObject({ embedded: false, embeddingSkipped: 'sensitive' });
    expect(vendor.requests.length).toBe(before);
    const scope = { patientIndex: h.fieldCrypto.blindIndex('Patient/p-1', 'patient'), disallowedMask: 0, units: [] };
    expect((await h.index.searchText(scope, ['methadone'], 5)).length).toBe(1);
  });
});
