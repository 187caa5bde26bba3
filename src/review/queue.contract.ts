// SPDX-License-Identifier: Apache-2.0
/**
 * The review queue against a real database: the state machine, who may do what, leases and
 * versions, the requester's copy, Provenance and the audit trail. Run on SQLite and PGlite
 * (`queue.test.ts`) and on the PostgreSQL server (`queue.int.test.ts`). Everything below the
 * queue is the production code: repository, field encryption, access service, audit chain.
 */
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAccessService, type AccessService } from '../access/service.js';
import { createSqlAuditSink } from '../audit/sql-sink.js';
import { createAuditWriter, type AuditWriter } from '../audit/writer.js';
import { configSchema } from '../config/schema.js';
import { createFieldCrypto, type EnvelopeFieldCrypto } from '../crypto/envelope.js';
import { createMemoryKms } from '../crypto/testing/memory-kms.js';
import { isGatewayError, type ErrorCode } from '../kernel/errors.js';
import type { ChatResult } from '../providers/types.js';
import { cdsSpec } from '../registry/testing/registry-fixtures.js';
import { useCaseSpecSchema } from '../registry/use-case-spec.js';
import { migrateToLatest } from '../store/migrate.js';
import { createDataKeyRepo } from '../store/repos/data-key-repo.js';
import { createUserRepo } from '../store/repos/user-repo.js';
import type { Database } from '../store/schema.js';
import { createLogger } from '../telemetry/logger.js';
import type { ReviewActor, ReviewRequest } from './audit.js';
import { createReviewQueue, type HoldInput, type ReviewQueue } from './queue.js';

export interface ReviewDbUnderTest {
  readonly db: Kysely<Database>;
  readonly cleanup?: () => Promise<void>;
}

/** Synthetic clinical text; the at-rest checks look for these exact strings. */
export const answerText = 'Start metformin 500 mg twice daily; recheck HbA1c in 3 months. Confidence: 70%';
export const editedText = 'Start metformin 500 mg once daily with the evening meal; recheck HbA1c in 3 months.';
export const rejectReason = 'eGFR 28 on the 12 March panel: metformin is contraindicated.';
export const patient = 'Patient/review-p1';

export const treatmentUseCase = { id: 'med-titration', version: 3, spec: useCaseSpecSchema.parse(cdsSpec({ output: { clinicalLabel: true, humanReview: true } })) };

export function sampleResult(content = answerText): ChatResult {
  return {
    id: 'chatcmpl-review-1',
    object: 'chat.completion',
    created: 1_800_000_000,
    model: 'acme-large',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: 40, completion_tokens: 20, total_tokens: 60 },
  };
}

const actor = (userId: string, roles: readonly string[], kind: 'user' | 'service' = 'user'): ReviewActor => ({ userId, kind, roles, authMethod: 'api_key', apiKeyId: `key-${userId}` });
const as = (a: ReviewActor, requestId = `req-${a.userId}`): ReviewRequest => ({ actor: a, requestId });

export const people = {
  requester: actor('u-req', ['physician']),
  reviewer: actor('u-rev', ['physician']),
  reviewer2: actor('u-rev2', ['physician']),
  nurse: actor('u-nurse', ['nurse']),
  outsider: actor('u-out', ['physician']),
  auditor: actor('u-sec', ['security_officer']),
  service: actor('svc-1', ['physician'], 'service'),
};

export interface QueueFixture {
  readonly db: Kysely<Database>;
  readonly crypto: EnvelopeFieldCrypto;
  readonly audit: AuditWriter;
  readonly access: AccessService;
  readonly queue: ReviewQueue;
  readonly clock: { t: number };
  hold(overrides?: Partial<HoldInput>): Promise<string>;
}

/** A queue over a migrated database with the fixture's users and care team. */
export async function createQueueFixture(db: Kysely<Database>, shared?: { crypto: EnvelopeFieldCrypto }): Promise<QueueFixture> {
  await migrateToLatest(db);
  const clock = { t: 1_800_000_000_000 };
  const crypto = shared?.crypto ?? (await createFieldCrypto({ kms: createMemoryKms(), keyStore: createDataKeyRepo(db) }));
  const audit = await createAuditWriter({ sink: createSqlAuditSink(db), writeTimeoutMs: 10_000 });
  const config = configSchema.parse({ review: { leaseMinutes: 10 } });
  const deps = {
    config,
    store: { db, fieldCrypto: crypto },
    audit,
    clock: { now: () => clock.t },
    keyedHash: (value: string, purpose: string) => crypto.blindIndex(value, purpose),
    instanceId: 'test-1',
    logger: createLogger({ level: 'silent' }),
  };
  const access = createAccessService(deps, { channels: [] });
  const queue = createReviewQueue(deps, { access });
  if (shared === undefined) {
    const users = createUserRepo(db, { now: () => clock.t });
    for (const p of Object.values(people)) await users.create({ id: p.userId, name: p.userId, roles: [...p.roles], kind: p.kind });
    for (const userId of ['u-req', 'u-rev', 'u-rev2', 'u-nurse']) {
      await access.careTeams.assign({ userId, patient, teamRole: 'attending', startAt: clock.t - 1000, source: 'api', createdBy: 'test' });
    }
    await access.careTeams.setProfile('u-rev', { npi: '1234567893' });
  }
  return {
    db,
    crypto,
    audit,
    access,
    queue,
    clock,
    async hold(overrides = {}) {
      const held = await queue.hold({
        request: as(people.requester, 'req-original'),
        subjectUserId: people.requester.userId,
        patient,
        purpose: 'TREAT',
        useCase: treatmentUseCase,
        surface: 'chat.completion',
        endpoint: { id: 'acme-us', vendor: 'acme-ai' },
        upstreamModel: 'acme-large-2025-06-01',
        result: sampleResult(),
        citations: [{ documentId: 'DocumentReference/note-17', chunkId: 'c2', label: 'Progress note, 2026-Q1' }, { documentId: 'doc-lab-3', chunkId: 'c1' }],
        jsonMode: false,
        ...overrides,
      });
      return held.id;
    },
  };
}

/** Resolves to the error code a call failed with (and fails the test when it succeeded). */
export async function codeOf(promise: Promise<unknown>): Promise<ErrorCode | 'no error'> {
  try {
    await promise;
    return 'no error';
  } catch (err) {
    if (isGatewayError(err)) return err.code;
    throw err;
  }
}

interface AuditRow {
  readonly type: string;
  readonly outcome: string;
  readonly errorCode?: string;
  readonly actor?: { userId: string };
  readonly patientHash?: string;
  readonly responseHmac?: string;
  readonly detail?: Record<string, unknown>;
}

export async function reviewAudit(db: Kysely<Database>): Promise<{ rows: AuditRow[]; bodies: string[] }> {
  const rows = await db.selectFrom('audit_events').select(['body']).where('event_type', 'like', 'review.%').orderBy('seq').execute();
  return { rows: rows.map((r) => JSON.parse(r.body) as AuditRow), bodies: rows.map((r) => r.body) };
}

export function describeReviewQueueContract(name: string, open: () => Promise<ReviewDbUnderTest>): void {
  describe(`review queue: ${name}`, () => {
    let under: ReviewDbUnderTest;
    let fx: QueueFixture;
    let queue: ReviewQueue;
    const { requester, reviewer, reviewer2, nurse, outsider, auditor, service } = people;

    beforeEach(async () => {
      under = await open();
      fx = await createQueueFixture(under.db);
      queue = fx.queue;
    });

    afterEach(async () => {
      await fx.audit.drain();
      await under.db.destroy();
      await under.cleanup?.();
    });

    it('queued → claimed → approved: released to the requester as the model wrote it, every step audited with its reviewer', async () => {
      const id = await fx.hold();
      expect((await queue.fetch(as(requester), id)).item.status).toBe('queued');
      const claimed = await queue.claim(as(reviewer), id);
      expect(claimed).toMatchObject({ status: 'claimed', claimedBy: 'u-rev', version: 2, leaseUntil: fx.clock.t + 10 * 60_000 });
      fx.clock.t += 60_000;
      const approved = await queue.approve(as(reviewer), id, { version: 2 });
      expect(approved).toMatchObject({ status: 'approved', decidedBy: 'u-rev', decidedAt: fx.clock.t, version: 3, leaseUntil: null });

      const released = await queue.fetch(as(requester), id);
      expect(released.item.status).toBe('approved');
      expect(released.answer?.result.choices[0]?.message.content).toBe(answerText);
      expect(released.answer?.confidence).toBe(0.7);
      expect(released.edited).toBeUndefined();

      const { rows, bodies } = await reviewAudit(fx.db);
      expect(rows.map((r) => [r.type, r.outcome, r.actor?.userId])).toEqual([
        ['review.create', 'success', 'u-req'],
        ['review.fetch', 'success', 'u-req'],
        ['review.claim', 'success', 'u-rev'],
        ['review.approve', 'success', 'u-rev'],
        ['review.fetch', 'success', 'u-req'],
      ]);
      expect(rows.every((r) => r.detail?.reviewId === id)).toBe(true);
      expect(rows[3]?.detail).toMatchObject({ fromStatus: 'claimed', toStatus: 'approved', version: 3, useCaseVersion: 3, provenanceId: id });
      const patientHash = fx.crypto.blindIndex(patient, 'audit-patient');
      expect(rows.every((r) => r.patientHash === patientHash)).toBe(true);
      // Ids, states and keyed hashes only: no answer, no patient id.
      for (const body of bodies) for (const secret of [answerText, 'metformin', patient]) expect(body).not.toContain(secret);
    });

    it('edit: the reviewer\'s version is released, both versions are kept, and the audit carries keyed hashes of each', async () => {
      const id = await fx.hold();
      await queue.claim(as(reviewer), id);
      expect((await queue.edit(as(reviewer), id, { content: editedText })).status).toBe('edited');
      const released = await queue.fetch(as(requester), id);
      expect(released.edited).toBe(editedText);
      expect(released.answer?.result.choices[0]?.message.content).toBe(answerText);
      const shown = await queue.show(as(reviewer2), id);
      expect(shown).toMatchObject({ status: 'edited', edited: editedText, patient });
      expect(shown.answer.result.choices[0]?.message.content).toBe(answerText);
      const { rows } = await reviewAudit(fx.db);
      const edit = rows.find((r) => r.type === 'review.edit');
      expect(edit?.responseHmac).toBe(fx.crypto.blindIndex(editedText, 'audit-response'));
      expect(rows.find((r) => r.type === 'review.create')?.responseHmac).toBe(fx.crypto.blindIndex(JSON.stringify(sampleResult().choices), 'audit-response'));
    });

    it('reject: the answer is never released; the requester reads the reason', async () => {
      const id = await fx.hold();
      await queue.claim(as(reviewer), id);
      expect(await codeOf(queue.reject(as(reviewer), id, { reason: '   ' }))).toBe('invalid_request');
      expect((await queue.reject(as(reviewer), id, { reason: rejectReason })).status).toBe('rejected');
      const released = await queue.fetch(as(requester), id);
      expect(released).toMatchObject({ reason: rejectReason });
      expect(released.answer).toBeUndefined();
      expect(await codeOf(queue.approve(as(reviewer), id))).toBe('review_already_decided');
      expect(await codeOf(queue.claim(as(reviewer2), id))).toBe('review_already_decided');
    });

    it('who may review: review:decide, the patient through the care team, a person, never the requester', async () => {
      const id = await fx.hold();
      expect(await codeOf(queue.claim(as(requester), id))).toBe('review_self_decision');
      expect(await codeOf(queue.show(as(requester), id))).toBe('review_self_decision');
      expect(await codeOf(queue.claim(as(nurse), id))).toBe('permission_denied');
      expect(await codeOf(queue.claim(as(outsider), id))).toBe('patient_access_denied');
      expect(await codeOf(queue.claim(as(service), id))).toBe('permission_denied');
      expect(await codeOf(queue.claim(as(auditor), id))).toBe('permission_denied');
      expect(await codeOf(queue.approve(as(reviewer), id))).toBe('review_claim_required');
      expect(await codeOf(queue.claim(as(reviewer), 'no-such-id'))).toBe('review_not_found');
      // A unit colleague may review too.
      await fx.access.careTeams.upsertUnit('ward-9', 'default');
      await fx.access.careTeams.addUnitMember('ward-9', 'u-out', fx.clock.t - 1);
      await fx.access.careTeams.placePatient('ward-9', patient, fx.clock.t - 1);
      expect((await queue.claim(as(outsider), id)).claimedBy).toBe('u-out');
      // Every refusal is in the audit log, with its code and the person refused.
      const { rows } = await reviewAudit(fx.db);
      const denied = rows.filter((r) => r.outcome === 'denied').map((r) => [r.type, r.errorCode, r.actor?.userId]);
      expect(denied).toEqual([
        ['review.claim', 'review_self_decision', 'u-req'],
        ['review.read', 'review_self_decision', 'u-req'],
        ['review.claim', 'permission_denied', 'u-nurse'],
        ['review.claim', 'patient_access_denied', 'u-out'],
        ['review.claim', 'permission_denied', 'svc-1'],
        ['review.claim', 'permission_denied', 'u-sec'],
        ['review.approve', 'review_claim_required', 'u-rev'],
        ['review.claim', 'review_not_found', 'u-rev'],
      ]);
    });

    it('leases: one holder at a time; an expired lease can be re-claimed and its old holder can no longer decide', async () => {
      const id = await fx.hold();
      await queue.claim(as(reviewer), id);
      expect(await codeOf(queue.claim(as(reviewer2), id))).toBe('review_not_claimable');
      // Claiming again renews one's own lease.
      fx.clock.t += 5 * 60_000;
      expect((await queue.claim(as(reviewer), id)).leaseUntil).toBe(fx.clock.t + 10 * 60_000);
      fx.clock.t += 10 * 60_000;
      expect(await codeOf(queue.approve(as(reviewer), id))).toBe('review_lease_expired');
      const taken = await queue.claim(as(reviewer2), id);
      expect(taken).toMatchObject({ claimedBy: 'u-rev2', status: 'claimed' });
      expect(await codeOf(queue.approve(as(reviewer), id))).toBe('review_claim_required');
      expect((await queue.approve(as(reviewer2), id)).decidedBy).toBe('u-rev2');
      const { rows } = await reviewAudit(fx.db);
      expect(rows.filter((r) => r.type === 'review.claim' && r.outcome === 'success').map((r) => r.detail?.takenOverFrom)).toEqual([undefined, undefined, 'u-rev']);
    });

    it('versions: a decision on a stale read is refused; unclaim puts the item back in the queue', async () => {
      const id = await fx.hold();
      const claimed = await queue.claim(as(reviewer), id);
      expect(await codeOf(queue.approve(as(reviewer), id, { version: claimed.version - 1 }))).toBe('review_version_conflict');
      const back = await queue.unclaim(as(reviewer), id, { version: claimed.version });
      expect(back).toMatchObject({ status: 'queued', claimedBy: null, leaseUntil: null, version: claimed.version + 1 });
      expect(await codeOf(queue.unclaim(as(reviewer), id))).toBe('review_claim_required');
      expect((await queue.claim(as(reviewer2), id)).claimedBy).toBe('u-rev2');
    });

    it('a reviewer who left the care team after claiming cannot decide', async () => {
      const id = await fx.hold();
      await queue.claim(as(reviewer), id);
      const [assignment] = await fx.access.careTeams.list({ userId: 'u-rev' });
      await fx.access.careTeams.end(assignment?.id ?? '', fx.clock.t - 1);
      expect(await codeOf(queue.approve(as(reviewer), id))).toBe('patient_access_denied');
    });

    it('two reviewers racing for one item: exactly one claim wins', async () => {
      const id = await fx.hold();
      const outcomes = await Promise.all([queue.claim(as(reviewer), id), queue.claim(as(reviewer2), id)].map((p) => codeOf(p)));
      expect(outcomes.sort()).toEqual(['no error', 'review_not_claimable']);
      const items = await fx.db.selectFrom('review_items').select(['status', 'claimed_by', 'version']).execute();
      expect(items).toHaveLength(1);
      expect(items[0]?.version).toBe(2);
    });

    it('claim next: the oldest item the reviewer may decide; racing reviewers take different items', async () => {
      const ids = [];
      for (let i = 0; i < 6; i++) {
        fx.clock.t += 1;
        ids.push(await fx.hold());
      }
      // One for a patient the reviewers do not care for: never offered to them.
      const foreign = await fx.hold({ patient: 'Patient/someone-else' });
      const first = await queue.claimNext(as(reviewer));
      expect(first?.id).toBe(ids[0]);
      const racing = await Promise.all(Array.from({ length: 6 }, (_, i) => queue.claimNext(as(i % 2 === 0 ? reviewer : reviewer2))));
      const claimed = racing.flatMap((r) => (r === undefined ? [] : [r.id]));
      expect(claimed).toHaveLength(5);
      expect(new Set(claimed).size).toBe(5);
      expect([first?.id, ...claimed].sort()).toEqual([...ids].sort());
      expect(claimed).not.toContain(foreign);
      expect(await queue.claimNext(as(reviewer))).toBeUndefined();
      // Expired leases come back round.
      fx.clock.t += 11 * 60_000;
      expect((await queue.claimNext(as(reviewer2)))?.id).toBe(ids[0]);
    });

    it('list: the reviewer\'s patients, not their own requests; filters by status, use case and holder', async () => {
      const a = await fx.hold();
      const b = await fx.hold({ useCase: { ...treatmentUseCase, id: 'other-use' } });
      await fx.hold({ patient: 'Patient/someone-else' });
      expect((await queue.list(as(reviewer))).map((s) => s.id)).toEqual([a, b]);
      expect(await queue.list(as(requester))).toEqual([]);
      expect(await queue.list(as(outsider))).toEqual([]);
      expect(await codeOf(queue.list(as(nurse)))).toBe('permission_denied');
      expect((await queue.list(as(reviewer), { useCaseId: 'other-use' })).map((s) => s.id)).toEqual([b]);
      await queue.claim(as(reviewer), a);
      expect((await queue.list(as(reviewer), { mine: true })).map((s) => s.id)).toEqual([a]);
      expect((await queue.list(as(reviewer), { statuses: ['queued'] })).map((s) => s.id)).toEqual([b]);
      const summary = (await queue.list(as(reviewer)))[0] as unknown as Record<string, unknown>;
      expect(Object.keys(summary)).not.toContain('answerHmac');
    });

    it('the requester\'s copy: nobody else sees it, and not after the requester lost the patient', async () => {
      const id = await fx.hold();
      expect(await codeOf(queue.fetch(as(reviewer), id))).toBe('review_not_found');
      await queue.claim(as(reviewer), id);
      await queue.approve(as(reviewer), id);
      const [assignment] = await fx.access.careTeams.list({ userId: 'u-req' });
      await fx.access.careTeams.end(assignment?.id ?? '', fx.clock.t - 1);
      expect(await codeOf(queue.fetch(as(requester), id))).toBe('patient_access_denied');
    });

    it('records a FHIR Provenance for each decision, readable by reviewers and auditors', async () => {
      const id = await fx.hold();
      expect(await codeOf(queue.provenance(as(reviewer), id))).toBe('review_not_decided');
      await queue.claim(as(reviewer), id);
      await queue.edit(as(reviewer), id, { content: editedText });
      const resource = await queue.provenance(as(auditor), id);
      expect(resource).toMatchObject({ resourceType: 'Provenance', id, activity: { coding: [{ code: 'UPDATE', display: 'revise' }] }, policy: ['urn:phigate:use-case:med-titration:v3'] });
      expect(resource.agent.map((a) => a.type.coding[0]?.code)).toEqual(['author', 'assembler', 'verifier', 'author']);
      expect(resource.agent[2]?.who.identifier).toEqual({ system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567893' });
      expect(resource.entity?.map((e) => [e.role, e.what.reference ?? e.what.identifier?.value])).toEqual([
        ['source', 'DocumentReference/note-17'],
        ['source', 'doc-lab-3'],
        ['revision', `${id}/model`],
      ]);
      expect(await codeOf(queue.provenance(as(outsider), id))).toBe('patient_access_denied');
      expect(JSON.stringify(resource)).not.toContain(editedText);
    });

    it('keeps no plaintext at rest: patient, answer, edit, reason and Provenance are ciphertexts bound to their row', async () => {
      const edited = await fx.hold();
      await queue.claim(as(reviewer), edited);
      await queue.edit(as(reviewer), edited, { content: editedText });
      const rejected = await fx.hold();
      await queue.claim(as(reviewer), rejected);
      await queue.reject(as(reviewer), rejected, { reason: rejectReason });
      const rows = await fx.db.selectFrom('review_items').selectAll().execute();
      const text = JSON.stringify(rows);
      for (const secret of [answerText, 'metformin', editedText, rejectReason, patient, 'note-17', 'doc-lab-3']) expect(text).not.toContain(secret);
      for (const row of rows) for (const column of ['patient_enc', 'answer_enc', 'provenance_enc'] as const) expect(String(row[column])).toMatch(/^v1\./);
      // A ciphertext copied onto another row does not open there.
      const [one, two] = rows;
      await fx.db.updateTable('review_items').set({ answer_enc: one?.answer_enc ?? '' }).where('id', '=', two?.id ?? '').execute();
      await expect(queue.show(as(reviewer), two?.id ?? '')).rejects.toThrow();
    });
  });
}
