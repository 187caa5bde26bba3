// SPDX-License-Identifier: Apache-2.0
/**
 * The review queue's rows (`review_items`, migration 0011). The repository knows the states and
 * the conditions of each transition; the rules around it (who may claim, the audit trail, the
 * Provenance resource) live in review/queue.ts.
 *
 * Concurrency: every transition is ONE conditional UPDATE that names the state it expects (and,
 * for decisions, the `version` the caller read), so two reviewers racing on one item cannot both
 * win — on SQLite a write statement takes the database's write lock before it reads (the
 * effect of `BEGIN IMMEDIATE`, without holding the lock across an await), on PostgreSQL the row
 * lock serialises them and the loser's re-checked WHERE no longer matches. "Claim the next item"
 * picks its row with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent reviewers take
 * different items instead of queueing behind one row lock.
 *
 * Content columns are FieldCrypto ciphertexts bound to (review_items, column, id); see
 * crypto/rotation.ts for their registration.
 */
import { sql, type ExpressionBuilder, type Kysely, type Selectable } from 'kysely';
import type { FieldCrypto } from '../../crypto/field-crypto.js';
import { dialectOf } from '../dialect.js';
import type { ReviewItemsTable } from '../migrations/0011-review.js';
import type { Database } from '../schema.js';
import { patientIndexOf } from './care-team-repo.js';

/** The data class review content is encrypted under. */
export const reviewDataClass = 'review';

export const reviewStatuses = ['queued', 'claimed', 'approved', 'edited', 'rejected'] as const;
export type ReviewStatus = (typeof reviewStatuses)[number];
/** The final states: the answer was released (`approved`, `edited`) or withheld for good (`rejected`). */
export type ReviewDecision = 'approved' | 'edited' | 'rejected';

/** The encrypted columns, by the name bound into each ciphertext's associated data. */
export const reviewEncryptedColumns = {
  patient: 'patient_enc',
  answer: 'answer_enc',
  edited: 'edited_enc',
  reason: 'reason_enc',
  provenance: 'provenance_enc',
} as const;
export type ReviewContentColumn = keyof typeof reviewEncryptedColumns;

/** Where a review ciphertext belongs. */
export function reviewFieldContext(column: ReviewContentColumn, id: string): { table: string; column: string; rowId: string } {
  return { table: 'review_items', column, rowId: id };
}

/** A row without its content: ids, states and times only (PHI-free). */
export interface ReviewItem {
  readonly id: string;
  readonly requestId: string;
  readonly status: ReviewStatus;
  readonly version: number;
  readonly useCaseId: string;
  readonly useCaseVersion: number;
  readonly requesterId: string;
  readonly subjectUserId: string;
  readonly hasPatient: boolean;
  readonly purpose: string | null;
  readonly surface: string;
  readonly endpointId: string;
  readonly vendor: string | null;
  readonly model: string;
  readonly answerHmac: string;
  readonly claimedBy: string | null;
  readonly claimedAt: number | null;
  readonly leaseUntil: number | null;
  readonly decidedBy: string | null;
  readonly decidedAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** The decrypted content of one row. */
export interface ReviewContent {
  readonly patient: string | null;
  /** JSON text written by the queue. */
  readonly answer: string;
  readonly edited: string | null;
  readonly reason: string | null;
  readonly provenance: string | null;
}

export interface NewReviewItem {
  readonly id: string;
  readonly requestId: string;
  readonly useCaseId: string;
  readonly useCaseVersion: number;
  readonly requesterId: string;
  readonly subjectUserId: string;
  readonly patient: string | null;
  readonly purpose: string | null;
  readonly surface: string;
  readonly endpointId: string;
  readonly vendor: string | null;
  readonly model: string;
  readonly answerHmac: string;
  /** JSON text. */
  readonly answer: string;
  readonly createdAt: number;
}

export interface ReviewFilter {
  readonly statuses?: readonly ReviewStatus[];
  readonly useCaseId?: string;
  readonly requesterId?: string;
  readonly claimedBy?: string;
  readonly patient?: string;
  /** Only items a reviewer could claim at this instant (queued, or claimed with an expired lease). */
  readonly claimableAt?: number;
  /** Default 100, at most 1000. */
  readonly limit?: number;
}

export interface ClaimInput {
  readonly reviewerId: string;
  readonly at: number;
  readonly leaseUntil: number;
}

export interface DecideInput {
  readonly decision: ReviewDecision;
  readonly reviewerId: string;
  readonly at: number;
  /** The version the reviewer read; the decision is refused if the row moved since. */
  readonly expectedVersion: number;
  /** JSON text of the edited content (`edited` only). */
  readonly edited?: string | undefined;
  /** Why (`rejected` only). */
  readonly reason?: string | undefined;
  /** JSON text of the Provenance resource. */
  readonly provenance: string;
}

export interface ReviewRepo {
  create(item: NewReviewItem): Promise<ReviewItem>;
  findById(id: string): Promise<ReviewItem | undefined>;
  /** Decrypts the row's content. */
  content(id: string): Promise<ReviewContent | undefined>;
  /** Decrypts only the patient reference (null when the request named none). */
  patient(id: string): Promise<string | null | undefined>;
  /** Oldest first. */
  list(filter?: ReviewFilter): Promise<readonly ReviewItem[]>;
  /**
   * Takes (or renews) the lease on one item: succeeds when it is queued, claimed with an expired
   * lease, or already claimed by this reviewer. Undefined when another reviewer holds it or it
   * was decided.
   */
  claim(id: string, input: ClaimInput): Promise<ReviewItem | undefined>;
  /** Claims the oldest claimable item among `candidates`; undefined when none is free. */
  claimNext(candidates: readonly string[], input: ClaimInput): Promise<ReviewItem | undefined>;
  /** Gives a held lease back (the item is queued again). */
  unclaim(id: string, input: { readonly reviewerId: string; readonly at: number; readonly expectedVersion: number }): Promise<ReviewItem | undefined>;
  /**
   * Records a decision: only by the reviewer holding an unexpired lease, only on the version
   * they read. Undefined when any condition fails (the caller re-reads to say which).
   */
  decide(id: string, input: DecideInput): Promise<ReviewItem | undefined>;
}

type Row = Selectable<ReviewItemsTable>;
type Eb = ExpressionBuilder<Database, 'review_items'>;

const toItem = (row: Row): ReviewItem => ({
  id: row.id,
  requestId: row.request_id,
  status: row.status as ReviewStatus,
  version: Number(row.version),
  useCaseId: row.use_case_id,
  useCaseVersion: Number(row.use_case_version),
  requesterId: row.requester_id,
  subjectUserId: row.subject_user_id,
  hasPatient: row.patient_index !== null,
  purpose: row.purpose,
  surface: row.surface,
  endpointId: row.endpoint_id,
  vendor: row.vendor,
  model: row.model,
  answerHmac: row.answer_hmac,
  claimedBy: row.claimed_by,
  claimedAt: row.claimed_at === null ? null : Number(row.claimed_at),
  leaseUntil: row.lease_until === null ? null : Number(row.lease_until),
  decidedBy: row.decided_by,
  decidedAt: row.decided_at === null ? null : Number(row.decided_at),
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
});

/** Queued, or claimed with a lease that ran out by `at`. */
const claimableAt = (eb: Eb, at: number) =>
  eb.or([eb('status', '=', 'queued'), eb.and([eb('status', '=', 'claimed'), eb('lease_until', '<=', at)])]);

export function createReviewRepo(db: Kysely<Database>, crypto: FieldCrypto): ReviewRepo {
  const dialect = dialectOf(db);
  const decrypt = (value: string | null, column: ReviewContentColumn, id: string): Promise<string | null> =>
    value === null ? Promise.resolve(null) : crypto.decryptString(value, reviewFieldContext(column, id));
  const encrypt = (value: string, column: ReviewContentColumn, id: string): Promise<string> => crypto.encrypt(value, reviewFieldContext(column, id), reviewDataClass);

  const claimSet = (input: ClaimInput) => ({
    status: 'claimed',
    claimed_by: input.reviewerId,
    claimed_at: input.at,
    lease_until: input.leaseUntil,
    updated_at: input.at,
    version: sql<number>`version + 1`,
  });

  return {
    async create(item) {
      const row = {
        id: item.id,
        request_id: item.requestId,
        status: 'queued',
        version: 1,
        use_case_id: item.useCaseId,
        use_case_version: item.useCaseVersion,
        requester_id: item.requesterId,
        subject_user_id: item.subjectUserId,
        patient_index: item.patient === null ? null : patientIndexOf(crypto, item.patient),
        patient_enc: item.patient === null ? null : await encrypt(item.patient, 'patient', item.id),
        purpose: item.purpose,
        surface: item.surface,
        endpoint_id: item.endpointId,
        vendor: item.vendor,
        model: item.model,
        answer_hmac: item.answerHmac,
        answer_enc: await encrypt(item.answer, 'answer', item.id),
        edited_enc: null,
        reason_enc: null,
        provenance_enc: null,
        claimed_by: null,
        claimed_at: null,
        lease_until: null,
        decided_by: null,
        decided_at: null,
        created_at: item.createdAt,
        updated_at: item.createdAt,
      };
      await db.insertInto('review_items').values(row).execute();
      return toItem(row);
    },

    async findById(id) {
      const row = await db.selectFrom('review_items').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toItem(row);
    },

    async content(id) {
      const row = await db
        .selectFrom('review_items')
        .select(['patient_enc', 'answer_enc', 'edited_enc', 'reason_enc', 'provenance_enc'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (row === undefined) return undefined;
      return {
        patient: await decrypt(row.patient_enc, 'patient', id),
        answer: (await decrypt(row.answer_enc, 'answer', id)) ?? '',
        edited: await decrypt(row.edited_enc, 'edited', id),
        reason: await decrypt(row.reason_enc, 'reason', id),
        provenance: await decrypt(row.provenance_enc, 'provenance', id),
      };
    },

    async patient(id) {
      const row = await db.selectFrom('review_items').select('patient_enc').where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : decrypt(row.patient_enc, 'patient', id);
    },

    async list(filter = {}) {
      const limit = Math.min(Math.max(1, Math.trunc(filter.limit ?? 100)), 1000);
      let query = db.selectFrom('review_items').selectAll();
      if (filter.statuses !== undefined && filter.statuses.length > 0) query = query.where('status', 'in', [...filter.statuses]);
      if (filter.useCaseId !== undefined) query = query.where('use_case_id', '=', filter.useCaseId);
      if (filter.requesterId !== undefined) query = query.where('requester_id', '=', filter.requesterId);
      if (filter.claimedBy !== undefined) query = query.where('claimed_by', '=', filter.claimedBy);
      if (filter.patient !== undefined) query = query.where('patient_index', '=', patientIndexOf(crypto, filter.patient));
      const at = filter.claimableAt;
      if (at !== undefined) query = query.where((eb) => claimableAt(eb, at));
      const rows = await query.orderBy('created_at').orderBy('id').limit(limit).execute();
      return rows.map(toItem);
    },

    async claim(id, input) {
      const row = await db
        .updateTable('review_items')
        .set(claimSet(input))
        .where('id', '=', id)
        .where((eb) => eb.or([claimableAt(eb, input.at), eb.and([eb('status', '=', 'claimed'), eb('claimed_by', '=', input.reviewerId)])]))
        .returningAll()
        .executeTakeFirst();
      return row === undefined ? undefined : toItem(row);
    },

    async claimNext(candidates, input) {
      if (candidates.length === 0) return undefined;
      const pick = db
        .selectFrom('review_items')
        .select('id')
        .where('id', 'in', [...candidates])
        .where((eb) => claimableAt(eb, input.at))
        .orderBy('created_at')
        .orderBy('id')
        .limit(1)
        .$if(dialect === 'postgres', (qb) => qb.forUpdate().skipLocked());
      const row = await db
        .updateTable('review_items')
        .set(claimSet(input))
        // A scalar subquery runs once (an InitPlan on PostgreSQL). `IN (…)` may be re-run per row
        // there, and each run skips the rows it has just locked: one UPDATE would claim them all.
        .where('id', '=', pick)
        // Re-checked on the row itself: PostgreSQL re-evaluates it after waiting for a row lock.
        .where((eb) => claimableAt(eb, input.at))
        .returningAll()
        .executeTakeFirst();
      return row === undefined ? undefined : toItem(row);
    },

    async unclaim(id, input) {
      const row = await db
        .updateTable('review_items')
        .set({ status: 'queued', claimed_by: null, claimed_at: null, lease_until: null, updated_at: input.at, version: sql<number>`version + 1` })
        .where('id', '=', id)
        .where('status', '=', 'claimed')
        .where('claimed_by', '=', input.reviewerId)
        .where('version', '=', input.expectedVersion)
        .returningAll()
        .executeTakeFirst();
      return row === undefined ? undefined : toItem(row);
    },

    async decide(id, input) {
      const row = await db
        .updateTable('review_items')
        .set({
          status: input.decision,
          decided_by: input.reviewerId,
          decided_at: input.at,
          lease_until: null,
          updated_at: input.at,
          version: sql<number>`version + 1`,
          edited_enc: input.decision === 'edited' && input.edited !== undefined ? await encrypt(input.edited, 'edited', id) : null,
          reason_enc: input.decision === 'rejected' && input.reason !== undefined ? await encrypt(input.reason, 'reason', id) : null,
          provenance_enc: await encrypt(input.provenance, 'provenance', id),
        })
        .where('id', '=', id)
        .where('status', '=', 'claimed')
        .where('claimed_by', '=', input.reviewerId)
        .where('lease_until', '>', input.at)
        .where('version', '=', input.expectedVersion)
        .returningAll()
        .executeTakeFirst();
      return row === undefined ? undefined : toItem(row);
    },
  };
}
