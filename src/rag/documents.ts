// SPDX-License-Identifier: Apache-2.0
/**
 * Documents in: plain text or FHIR R4 `DocumentReference` (inline `content[].attachment.data`,
 * base64, `text/plain` or `text/markdown`; sensitivity from `meta.security` and `securityLabel`;
 * the patient from `subject`), checked against the size limits before anything is stored, then
 * chunked, de-identified, embedded and written in one transaction.
 *
 * What is stored per document: the patient as a blind index, the sensitive categories, an
 * optional unit, and a non-PHI label (document type and year; a type that looks like it names
 * someone is dropped). Per chunk: the raw text envelope-encrypted (associated data binds table,
 * column and chunk id), the de-identified text (typed placeholders such as `[NAME]`, detection run
 * over the whole note so a name found once is found everywhere), and its embedding. Nothing is
 * kept in the token vault: indexing never needs to re-identify.
 *
 * FHIR R4 DocumentReference: https://hl7.org/fhir/R4/documentreference.html
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { EndpointConfig } from '../config/schema.js';
import type { FieldCrypto } from '../crypto/field-crypto.js';
import type { Deidentifier } from '../deid/deidentify.js';
import { toWellFormedText } from '../deid/deidentify.js';
import { applyTransforms, type DeidPolicy } from '../deid/transforms/apply.js';
import type { KnownPhi, Span } from '../deid/types.js';
import { normalisePatientRef } from '../access/patient-access.js';
import type { Clock } from '../kernel/clock.js';
import { GatewayError, isGatewayError } from '../kernel/errors.js';
import { uuidv7 } from '../kernel/ids.js';
import { categoriesOfSecurityLabels } from '../registry/sensitivity.js';
import { sensitiveCategories, type SensitiveCategory } from '../registry/use-case-spec.js';
import { createDocumentRepo, documentChunkContext, documentDataClass, type NewChunk } from '../store/repos/document-repo.js';
import type { Database } from '../store/schema.js';
import { chunkText } from './chunk.js';
import type { Embedder } from './embed.js';
import { sensitivityMask } from './sensitivity-mask.js';
import type { DocumentIndex } from './vector-index.js';

/** How indexed text is de-identified: typed redaction (`[NAME]`, `[DATE]`), Safe Harbor, no vault. */
export const indexDeidPolicy: DeidPolicy = { default: 'redact', redaction: 'typed' };

export interface DocumentLimits {
  /** Largest note, in UTF-8 bytes of its text. */
  readonly maxBytes: number;
  /** Most chunks one note may make. */
  readonly maxChunks: number;
  readonly chunkChars: number;
  readonly overlapChars: number;
}

/** A note ready to ingest: validated, within the limits, patient normalised. */
export interface DocumentInput {
  /** `Patient/<id>`. */
  readonly patient: string;
  readonly text: string;
  readonly source: 'text' | 'fhir';
  /** `DocumentReference/<id>`: a later version of the same reference replaces this one. */
  readonly sourceRef?: string | undefined;
  readonly sensitivity: readonly SensitiveCategory[];
  readonly unit?: string | undefined;
  /** Document type, e.g. "Progress note" (kept only if it names no one). */
  readonly type?: string | undefined;
  /** Epoch ms. */
  readonly date?: number | undefined;
  /** The patient's own identifiers, when known, so detection finds them as known PHI. */
  readonly knownPhi?: KnownPhi | undefined;
}

const unitPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const typePattern = /^[\p{L}\p{N} ,.;:()/&'+-]{1,80}$/u;

function invalid(reason: string, extra: Record<string, string | number> = {}): GatewayError {
  return new GatewayError('document_invalid', { detail: { reason, ...extra } });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Line endings made `\n`, lone surrogates and control characters (other than tab, newline, form feed) made harmless. */
export function normaliseNoteText(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this removes
  return toWellFormedText(text.replace(/\r\n?/g, '\n')).replace(/[\u0000-\u0008\u000b\u000e-\u001f\u007f]/g, ' ');
}

function checkSize(text: string, limits: DocumentLimits): void {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.maxBytes) throw new GatewayError('document_too_large', { detail: { limitBytes: limits.maxBytes } });
}

function patientOf(value: string): string {
  const patient = normalisePatientRef(value);
  if (patient === undefined) throw invalid('patient_invalid', { expected: 'Patient/<id>' });
  return patient;
}

function unitOf(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!unitPattern.test(value)) throw invalid('unit_invalid', { expected: '1-128 letters, digits, ".", "_", ":" or "-"' });
  return value;
}

function typeOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const type = value.replace(/\s+/g, ' ').trim();
  return typePattern.test(type) ? type : undefined;
}

/** Union of category lists, in the registry's order. */
function mergeSensitivity(...lists: readonly (readonly SensitiveCategory[])[]): SensitiveCategory[] {
  const all = new Set(lists.flat());
  return sensitiveCategories.filter((c) => all.has(c));
}

export interface TextDocumentOptions {
  readonly patient: string;
  readonly text: string;
  readonly sensitivity?: readonly SensitiveCategory[];
  readonly unit?: string | undefined;
  readonly type?: string | undefined;
  readonly date?: number | undefined;
  readonly knownPhi?: KnownPhi | undefined;
}

/** A plain-text note. */
export function textDocument(options: TextDocumentOptions, limits: DocumentLimits): DocumentInput {
  if (typeof options.text !== 'string') throw invalid('text_not_a_string');
  checkSize(options.text, limits);
  const text = normaliseNoteText(options.text);
  if (text.trim() === '') throw invalid('empty_text');
  return {
    patient: patientOf(options.patient),
    text,
    source: 'text',
    sensitivity: mergeSensitivity(options.sensitivity ?? []),
    unit: unitOf(options.unit),
    type: typeOf(options.type),
    date: options.date !== undefined && Number.isFinite(options.date) ? options.date : undefined,
    knownPhi: options.knownPhi,
  };
}

export interface FhirDocumentOptions {
  /** The patient the caller says this is about; a DocumentReference about another patient is refused. */
  readonly patient?: string | undefined;
  /** Extra sensitive categories on top of the resource's own labels. */
  readonly sensitivity?: readonly SensitiveCategory[];
  readonly unit?: string | undefined;
  readonly knownPhi?: KnownPhi | undefined;
}

const textTypes = new Set(['text/plain', 'text/markdown']);

function attachmentText(attachment: Record<string, unknown>, limits: DocumentLimits): string | undefined {
  const contentType = typeof attachment.contentType === 'string' ? attachment.contentType : undefined;
  if (contentType === undefined) return undefined;
  const [mime = '', ...params] = contentType.split(';').map((p) => p.trim().toLowerCase());
  if (!textTypes.has(mime)) return undefined;
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '');
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8' && charset !== 'us-ascii') throw invalid('charset_unsupported');
  if (attachment.data === undefined) throw invalid(attachment.url === undefined ? 'attachment_without_data' : 'attachment_url_only');
  if (typeof attachment.data !== 'string') throw invalid('base64_invalid');
  const data = attachment.data.replace(/\s+/g, '');
  // Refuse before decoding: base64 is 4/3 of the bytes it carries.
  if (data.length > Math.ceil(limits.maxBytes / 3) * 4 + 4) throw new GatewayError('document_too_large', { detail: { limitBytes: limits.maxBytes } });
  if (data.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) throw invalid('base64_invalid');
  const bytes = Buffer.from(data, 'base64');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw invalid('not_utf8');
  }
  return text;
}

function dateOf(resource: Record<string, unknown>): number | undefined {
  const context = isObject(resource.context) ? resource.context : undefined;
  const period = context !== undefined && isObject(context.period) ? context.period : undefined;
  for (const value of [resource.date, period?.start]) {
    if (typeof value !== 'string') continue;
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  }
  return undefined;
}

function typeTextOf(resource: Record<string, unknown>): string | undefined {
  const type = isObject(resource.type) ? resource.type : undefined;
  if (type === undefined) return undefined;
  if (typeof type.text === 'string') return type.text;
  const coding = Array.isArray(type.coding) ? type.coding.find((c): c is Record<string, unknown> => isObject(c) && typeof c.display === 'string') : undefined;
  return typeof coding?.display === 'string' ? coding.display : undefined;
}

function labelsOf(value: unknown): { system?: string; code?: string }[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isObject).map((label) => ({
    ...(typeof label.system === 'string' ? { system: label.system } : {}),
    ...(typeof label.code === 'string' ? { code: label.code } : {}),
  }));
}

/** `securityLabel` is a list of CodeableConcepts; their codings are the labels. */
function codingsOf(value: unknown): { system?: string; code?: string }[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isObject).flatMap((concept) => labelsOf(concept.coding));
}

/** One FHIR R4 DocumentReference with an inline text attachment. */
export function parseDocumentReference(resource: unknown, limits: DocumentLimits, options: FhirDocumentOptions = {}): DocumentInput {
  if (!isObject(resource) || resource.resourceType !== 'DocumentReference') throw invalid('not_a_document_reference');
  if (resource.status !== undefined && resource.status !== 'current') throw invalid('status_not_current');
  if (resource.docStatus === 'entered-in-error') throw invalid('status_not_current');
  const subject = isObject(resource.subject) && typeof resource.subject.reference === 'string' ? normalisePatientRef(resource.subject.reference) : undefined;
  if (isObject(resource.subject) && subject === undefined) throw invalid('subject_not_patient');
  const given = options.patient === undefined ? undefined : patientOf(options.patient);
  if (given !== undefined && subject !== undefined && given !== subject) throw invalid('patient_mismatch');
  const patient = subject ?? given;
  if (patient === undefined) throw invalid('patient_invalid', { expected: 'subject.reference or a patient for the ingest' });

  if (!Array.isArray(resource.content) || resource.content.length === 0) throw invalid('no_text_attachment');
  let text: string | undefined;
  for (const content of resource.content) {
    if (!isObject(content) || !isObject(content.attachment)) throw invalid('content_invalid');
    text = attachmentText(content.attachment, limits);
    if (text !== undefined) break;
  }
  if (text === undefined) throw invalid('no_text_attachment', { expected: 'text/plain or text/markdown with inline data' });
  checkSize(text, limits);
  text = normaliseNoteText(text);
  if (text.trim() === '') throw invalid('empty_text');

  const meta = isObject(resource.meta) ? resource.meta : undefined;
  const sensitivity = mergeSensitivity(categoriesOfSecurityLabels(labelsOf(meta?.security)), categoriesOfSecurityLabels(codingsOf(resource.securityLabel)), options.sensitivity ?? []);
  const id = typeof resource.id === 'string' && /^[A-Za-z0-9.-]{1,64}$/.test(resource.id) ? resource.id : undefined;
  return {
    patient,
    text,
    source: 'fhir',
    sourceRef: id === undefined ? undefined : `DocumentReference/${id}`,
    sensitivity,
    unit: unitOf(options.unit),
    type: typeOf(typeTextOf(resource)),
    date: dateOf(resource),
    knownPhi: options.knownPhi,
  };
}

/** Where one resource of a FHIR input sits, for problem reports (index, never content). */
export interface FhirDocumentProblem {
  readonly at: number;
  readonly code: 'document_invalid' | 'document_too_large';
  readonly reason: string;
}

/**
 * The DocumentReferences of a FHIR input: a Bundle (its entries), an array of resources, or a
 * single DocumentReference. Other resource types are skipped; a bad DocumentReference is reported
 * by its position and does not stop the others.
 */
export function documentsOfFhir(input: unknown, limits: DocumentLimits, options: FhirDocumentOptions = {}): { documents: DocumentInput[]; problems: FhirDocumentProblem[]; skipped: number } {
  let resources: unknown[];
  if (Array.isArray(input)) resources = input;
  else if (isObject(input) && input.resourceType === 'Bundle') resources = Array.isArray(input.entry) ? input.entry.map((e) => (isObject(e) ? e.resource : undefined)) : [];
  else if (isObject(input) && input.resourceType === 'DocumentReference') resources = [input];
  else throw invalid('not_a_document_reference', { expected: 'a DocumentReference, a Bundle of them, or an array' });
  const documents: DocumentInput[] = [];
  const problems: FhirDocumentProblem[] = [];
  let skipped = 0;
  resources.forEach((resource, at) => {
    if (!isObject(resource) || resource.resourceType !== 'DocumentReference') {
      skipped += 1;
      return;
    }
    try {
      documents.push(parseDocumentReference(resource, limits, options));
    } catch (err) {
      if (isGatewayError(err, 'document_invalid') || isGatewayError(err, 'document_too_large')) {
        problems.push({ at, code: err.code as FhirDocumentProblem['code'], reason: typeof err.detail?.reason === 'string' ? err.detail.reason : 'too_large' });
      } else throw err;
    }
  });
  return { documents, problems, skipped };
}

/** The non-PHI label: "Progress note, 2021", "Note, 2021", "Progress note", or none. */
export function documentLabel(type: string | undefined, date: number | undefined): string | null {
  const year = date === undefined ? undefined : new Date(date).getUTCFullYear();
  if (type !== undefined && year !== undefined) return `${type}, ${year}`;
  if (type !== undefined) return type;
  return year === undefined ? null : `Note, ${year}`;
}

/** Spans of the whole note that touch [start, end), clipped and moved to the chunk's offsets. */
export function spansWithin(spans: readonly Span[], start: number, end: number): Span[] {
  const out: Span[] = [];
  for (const span of spans) {
    if (span.end <= start || span.start >= end) continue;
    out.push({ ...span, start: Math.max(span.start, start) - start, end: Math.min(span.end, end) - start });
  }
  return out;
}

export interface IngestResult {
  readonly id: string;
  readonly chunks: number;
  /** The same note was already stored for this patient; nothing changed. */
  readonly duplicate: boolean;
  /** The earlier version of the same DocumentReference this one replaced. */
  readonly replaced?: string | undefined;
  /** Whether the chunks were embedded; when not, why. */
  readonly embedded: boolean;
  readonly embeddingSkipped?: 'not_configured' | 'sensitive' | 'egress_refused' | undefined;
  readonly sensitivity: readonly SensitiveCategory[];
  readonly label: string | null;
  /** PHI spans the de-identifier replaced in the indexed text, by category (counts only). */
  readonly phiFound: Readonly<Record<string, number>>;
}

export interface DocumentIngesterDeps {
  readonly db: Kysely<Database>;
  readonly fieldCrypto: FieldCrypto;
  readonly deidentifier: Deidentifier;
  readonly index: DocumentIndex;
  /** Absent: full-text indexing only. */
  readonly embedder?: Embedder | undefined;
  readonly limits: DocumentLimits;
  readonly clock: Clock;
}

/** Who ingests, and what to do before an embedding endpoint is called (make a disclosure record durable). */
export interface IngestCall {
  readonly userId: string;
  readonly requestId: string;
  readonly signal?: AbortSignal | undefined;
  readonly beforeEmbed?: ((endpoint: EndpointConfig) => Promise<void>) | undefined;
}

export interface DocumentIngester {
  ingest(input: DocumentInput, by: IngestCall): Promise<IngestResult>;
  /** Deletes a document, its chunks and their index entries; false when there was none. */
  remove(id: string): Promise<boolean>;
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : '';
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint failed|duplicate key value/.test(message);
}

/** Builds the ingester over the store, the de-identifier, the index and (optionally) an embedder. */
export function createDocumentIngester(deps: DocumentIngesterDeps): DocumentIngester {
  const { db, fieldCrypto, index, limits } = deps;
  const repo = createDocumentRepo(db);

  async function remove(id: string): Promise<boolean> {
    return db.transaction().execute(async (trx) => {
      const trxRepo = createDocumentRepo(trx);
      await index.remove(trx, await trxRepo.chunkIds(id));
      return trxRepo.delete(id);
    });
  }

  return {
    remove,
    async ingest(input, by) {
      const patientIndex = fieldCrypto.blindIndex(input.patient, 'patient');
      const contentIndex = fieldCrypto.blindIndex(`${input.patient}\u0000${createHash('sha256').update(input.text).digest('hex')}`, 'document-content');
      const existing = await repo.findByContent(patientIndex, contentIndex);
      const label = existing?.label ?? null;
      if (existing !== undefined) {
        return { id: existing.id, chunks: existing.chunkCount, duplicate: true, embedded: existing.embeddingModel !== null, sensitivity: existing.sensitivity, label, phiFound: {} };
      }
      const sourceIndex = input.sourceRef === undefined ? null : fieldCrypto.blindIndex(`${input.patient}\u0000${input.sourceRef}`, 'document-source');
      const previous = sourceIndex === null ? undefined : await repo.findBySource(patientIndex, sourceIndex);

      const chunks = chunkText(input.text, { maxChars: limits.chunkChars, overlapChars: limits.overlapChars });
      if (chunks.length > limits.maxChunks) throw new GatewayError('document_too_large', { detail: { limitChunks: limits.maxChunks } });
      if (chunks.length === 0) throw invalid('empty_text');

      const id = uuidv7(deps.clock.now());
      // Detection over the whole note (names found by context propagate to every mention), then
      // the typed redaction applied chunk by chunk to the spans that touch each chunk.
      const whole = await deps.deidentifier.deidentify(input.text, {
        conversationId: `document:${id}`,
        policy: indexDeidPolicy,
        ...(input.knownPhi === undefined ? {} : { knownPhi: input.knownPhi }),
      });
      const deidTexts: string[] = [];
      for (const chunk of chunks) {
        const result = await applyTransforms(chunk.text, spansWithin(whole.spans, chunk.start, chunk.end), indexDeidPolicy, { conversationId: `document:${id}` });
        deidTexts.push(result.text);
      }
      let type = input.type;
      if (type !== undefined) {
        const typeCheck = await deps.deidentifier.deidentify(type, { conversationId: `document:${id}`, policy: indexDeidPolicy });
        if (typeCheck.spans.length > 0) type = undefined;
      }
      const docLabel = documentLabel(type, input.date);

      let vectors: Float32Array[] | undefined;
      let embeddingSkipped: IngestResult['embeddingSkipped'];
      const embedder = deps.embedder;
      if (embedder === undefined) embeddingSkipped = 'not_configured';
      else if (!embedder.mayEmbed(input.sensitivity)) embeddingSkipped = 'sensitive';
      else {
        try {
          vectors = await embedder.embed(deidTexts, { requestId: by.requestId, signal: by.signal, sensitivity: input.sensitivity, beforeCall: by.beforeEmbed });
          await index.prepare(vectors[0]?.length ?? 0);
        } catch (err) {
          // The door refused this text for that endpoint (residual PHI, a sensitive category, a BAA
          // not in force): the note is still indexed for full text, and the result says why not more.
          if (!isGatewayError(err, 'phi_egress_denied') && !isGatewayError(err, 'baa_not_in_force')) throw err;
          vectors = undefined;
          embeddingSkipped = 'egress_refused';
        }
      }

      const mask = sensitivityMask(input.sensitivity);
      const unit = input.unit ?? null;
      const rows: NewChunk[] = [];
      for (const chunk of chunks) {
        const chunkId = `${id}:${chunk.ordinal}`;
        const vector = vectors?.[chunk.ordinal];
        rows.push({
          id: chunkId,
          documentId: id,
          ordinal: chunk.ordinal,
          patientIndex,
          sensitivityMask: mask,
          unit,
          textEnc: await fieldCrypto.encrypt(chunk.text, documentChunkContext(chunkId), documentDataClass),
          deidText: deidTexts[chunk.ordinal] as string,
          embedding: vector === undefined || embedder === undefined ? undefined : { model: embedder.model, vector },
        });
      }
      try {
        await db.transaction().execute(async (trx) => {
          const trxRepo = createDocumentRepo(trx);
          if (previous !== undefined) {
            await index.remove(trx, await trxRepo.chunkIds(previous.id));
            await trxRepo.delete(previous.id);
          }
          await trxRepo.insert(
            {
              id,
              patientIndex,
              contentIndex,
              sourceIndex,
              source: input.source,
              label: docLabel,
              date: input.date ?? null,
              sensitivity: input.sensitivity,
              sensitivityMask: mask,
              unit,
              charCount: input.text.length,
              chunkCount: rows.length,
              embeddingModel: vectors === undefined || embedder === undefined ? null : embedder.model,
              createdBy: by.userId,
              createdAt: deps.clock.now(),
            },
            rows,
          );
          await index.add(trx, rows.map((row) => ({ id: row.id, documentId: id, deidText: row.deidText, embedding: row.embedding })));
        });
      } catch (err) {
        // The same note ingested at the same moment by another writer: theirs stands.
        if (!isUniqueViolation(err)) throw err;
        const winner = await repo.findByContent(patientIndex, contentIndex);
        if (winner === undefined) throw err;
        return { id: winner.id, chunks: winner.chunkCount, duplicate: true, embedded: winner.embeddingModel !== null, sensitivity: winner.sensitivity, label: winner.label, phiFound: {} };
      }
      return {
        id,
        chunks: rows.length,
        duplicate: false,
        replaced: previous?.id,
        embedded: vectors !== undefined,
        embeddingSkipped,
        sensitivity: input.sensitivity,
        label: docLabel,
        phiFound: whole.counts as Record<string, number>,
      };
    },
  };
}
