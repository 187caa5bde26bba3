// SPDX-License-Identifier: Apache-2.0
/**
 * Break-glass sessions, their alert outbox and access incidents (`break_glass_sessions`,
 * `access_alert_outbox`, `access_incidents`).
 *
 * A session and one outbox row per alert channel are written in ONE transaction, so an alert
 * is durably queued before access is granted — and access is never granted without one.
 * Outbox rows are claimed with a lease, so several gateway instances can run dispatchers
 * without sending an alert twice at the same time (delivery is at-least-once).
 */
import type { Kysely, Selectable } from 'kysely';
import type { FieldCrypto } from '../../crypto/field-crypto.js';
import { uuidv7 } from '../../kernel/ids.js';
import type { AccessAlertOutboxTable, BreakGlassSessionsTable } from '../migrations/0003-access.js';
import type { Database } from '../schema.js';
import { accessDataClass, patientIndexOf } from './care-team-repo.js';
import type { RepoOptions } from './user-repo.js';

export const reviewOutcomes = ['justified', 'misuse'] as const;
export type ReviewOutcome = (typeof reviewOutcomes)[number];
export type ReviewStatus = 'open' | ReviewOutcome;

export interface BreakGlassSession {
  readonly id: string;
  readonly userId: string;
  readonly category: string;
  readonly purpose: string | null;
  readonly startedAt: number;
  readonly expiresAt: number;
  readonly endedAt: number | null;
  readonly reviewStatus: ReviewStatus;
  readonly reviewedBy: string | null;
  readonly reviewedAt: number | null;
  readonly incidentId: string | null;
}

/** A session with its PHI-adjacent fields decrypted, for the privacy officer's review queue only. */
export interface BreakGlassSessionDetail extends BreakGlassSession {
  readonly patient: string;
  readonly reason: string;
  readonly reviewNote: string | null;
}

export interface NewBreakGlassSession {
  readonly userId: string;
  readonly patient: string;
  readonly category: string;
  readonly reason: string;
  readonly purpose?: string | undefined;
  readonly startedAt: number;
  readonly expiresAt: number;
}

export interface AlertOutboxRow {
  readonly id: string;
  readonly sessionId: string;
  readonly channelId: string;
  /** PHI-free JSON. */
  readonly payload: string;
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly deliveredAt: number | null;
  readonly deadAt: number | null;
  readonly lastError: string | null;
}

export interface AccessIncident {
  readonly id: string;
  readonly kind: string;
  readonly sessionId: string | null;
  readonly userId: string;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly status: string;
}

export interface BreakGlassRepo {
  /**
   * Opens a session and queues its alerts in one transaction. `payloadFor` builds each alert's
   * PHI-free payload from the new session id.
   */
  open(session: NewBreakGlassSession, channelIds: readonly string[], payloadFor: (sessionId: string) => string): Promise<BreakGlassSession>;
  /** The newest session for this user and patient still running at `at`. */
  findActive(userId: string, patient: string, at: number): Promise<BreakGlassSession | undefined>;
  findById(id: string): Promise<BreakGlassSessionDetail | undefined>;
  /** Sessions newest first, by review status and/or user. */
  list(filter?: { status?: ReviewStatus; userId?: string; limit?: number }): Promise<readonly BreakGlassSessionDetail[]>;
  /** Ends a running session early. */
  end(id: string, at?: number): Promise<boolean>;
  /**
   * Closes an open session's review. `misuse` also records an incident, in the same
   * transaction. Returns undefined when there is no such open session.
   */
  review(id: string, review: { outcome: ReviewOutcome; reviewerId: string; note?: string | undefined; at: number }): Promise<BreakGlassSession | undefined>;

  /** Leases up to `limit` due alerts until `leaseUntil`. */
  claimDueAlerts(at: number, leaseUntil: number, limit: number): Promise<readonly AlertOutboxRow[]>;
  markAlertDelivered(id: string, at: number): Promise<void>;
  /** Records a failed attempt: retried at `nextAttemptAt`, or dead when that is null. */
  markAlertFailed(id: string, at: number, error: string, nextAttemptAt: number | null): Promise<void>;
  listAlerts(sessionId?: string): Promise<readonly AlertOutboxRow[]>;

  listIncidents(): Promise<readonly AccessIncident[]>;
}

export function createBreakGlassRepo(db: Kysely<Database>, crypto: FieldCrypto, options: RepoOptions = {}): BreakGlassRepo {
  const now = options.now ?? Date.now;
  const ctx = (column: string, rowId: string) => ({ table: 'break_glass_sessions', column, rowId });

  const toSession = (row: Selectable<BreakGlassSessionsTable>): BreakGlassSession => ({
    id: row.id,
    userId: row.user_id,
    category: row.category,
    purpose: row.purpose,
    startedAt: Number(row.started_at),
    expiresAt: Number(row.expires_at),
    endedAt: row.ended_at === null ? null : Number(row.ended_at),
    reviewStatus: row.review_status as ReviewStatus,
    reviewedBy: row.reviewed_by,
    reviewedAt: row.reviewed_at === null ? null : Number(row.reviewed_at),
    incidentId: row.incident_id,
  });

  const toDetail = async (row: Selectable<BreakGlassSessionsTable>): Promise<BreakGlassSessionDetail> => ({
    ...toSession(row),
    patient: await crypto.decryptString(row.patient_enc, ctx('patient', row.id)),
    reason: await crypto.decryptString(row.reason_enc, ctx('reason', row.id)),
    reviewNote: row.review_note_enc === null ? null : await crypto.decryptString(row.review_note_enc, ctx('review_note', row.id)),
  });

  const toAlert = (row: Selectable<AccessAlertOutboxTable>): AlertOutboxRow => ({
    id: row.id,
    sessionId: row.session_id,
    channelId: row.channel_id,
    payload: row.payload,
    attempts: Number(row.attempts),
    nextAttemptAt: Number(row.next_attempt_at),
    deliveredAt: row.delivered_at === null ? null : Number(row.delivered_at),
    deadAt: row.dead_at === null ? null : Number(row.dead_at),
    lastError: row.last_error,
  });

  return {
    async open(session, channelIds, payloadFor) {
      const id = uuidv7(session.startedAt);
      const row = {
        id,
        user_id: session.userId,
        patient_index: patientIndexOf(crypto, session.patient),
        patient_enc: await crypto.encrypt(session.patient, ctx('patient', id), accessDataClass),
        category: session.category,
        reason_enc: await crypto.encrypt(session.reason, ctx('reason', id), accessDataClass),
        purpose: session.purpose ?? null,
        started_at: session.startedAt,
        expires_at: session.expiresAt,
        ended_at: null,
        review_status: 'open',
        reviewed_by: null,
        reviewed_at: null,
        review_note_enc: null,
        incident_id: null,
      };
      const payload = payloadFor(id);
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('break_glass_sessions').values(row).execute();
        for (const channelId of channelIds) {
          await trx
            .insertInto('access_alert_outbox')
            .values({
              id: uuidv7(session.startedAt),
              session_id: id,
              channel_id: channelId,
              payload,
              created_at: session.startedAt,
              attempts: 0,
              next_attempt_at: session.startedAt,
              lease_until: null,
              delivered_at: null,
              dead_at: null,
              last_error: null,
            })
            .execute();
        }
      });
      return toSession(row);
    },
    async findActive(userId, patient, at) {
      const row = await db
        .selectFrom('break_glass_sessions')
        .selectAll()
        .where('user_id', '=', userId)
        .where('patient_index', '=', patientIndexOf(crypto, patient))
        .where('started_at', '<=', at)
        .where('expires_at', '>', at)
        .where('ended_at', 'is', null)
        .orderBy('started_at', 'desc')
        .executeTakeFirst();
      return row === undefined ? undefined : toSession(row);
    },
    async findById(id) {
      const row = await db.selectFrom('break_glass_sessions').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toDetail(row);
    },
    async list(filter = {}) {
      let query = db.selectFrom('break_glass_sessions').selectAll();
      if (filter.status !== undefined) query = query.where('review_status', '=', filter.status);
      if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId);
      const rows = await query.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(filter.limit ?? 500).execute();
      return Promise.all(rows.map(toDetail));
    },
    async end(id, at = now()) {
      const result = await db
        .updateTable('break_glass_sessions')
        .set({ ended_at: at })
        .where('id', '=', id)
        .where('ended_at', 'is', null)
        .where('expires_at', '>', at)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async review(id, review) {
      const noteEnc = review.note === undefined ? null : await crypto.encrypt(review.note, ctx('review_note', id), accessDataClass);
      return db.transaction().execute(async (trx) => {
        const row = await trx.selectFrom('break_glass_sessions').selectAll().where('id', '=', id).where('review_status', '=', 'open').executeTakeFirst();
        if (row === undefined) return undefined;
        let incidentId: string | null = null;
        if (review.outcome === 'misuse') {
          incidentId = uuidv7(review.at);
          await trx
            .insertInto('access_incidents')
            .values({ id: incidentId, kind: 'break_glass_misuse', session_id: id, user_id: row.user_id, created_by: review.reviewerId, created_at: review.at, status: 'open', note_enc: null })
            .execute();
        }
        const changes = { review_status: review.outcome, reviewed_by: review.reviewerId, reviewed_at: review.at, review_note_enc: noteEnc, incident_id: incidentId };
        // The status guard makes two concurrent reviews settle on exactly one.
        const result = await trx.updateTable('break_glass_sessions').set(changes).where('id', '=', id).where('review_status', '=', 'open').executeTakeFirst();
        if (result.numUpdatedRows === 0n) throw new Error('break-glass session was reviewed concurrently');
        return toSession({ ...row, ...changes });
      });
    },

    async claimDueAlerts(at, leaseUntil, limit) {
      const due = await db
        .selectFrom('access_alert_outbox')
        .selectAll()
        .where('delivered_at', 'is', null)
        .where('dead_at', 'is', null)
        .where('next_attempt_at', '<=', at)
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', at)]))
        .orderBy('next_attempt_at')
        .limit(limit)
        .execute();
      const claimed: AlertOutboxRow[] = [];
      for (const row of due) {
        const result = await db
          .updateTable('access_alert_outbox')
          .set({ lease_until: leaseUntil })
          .where('id', '=', row.id)
          .where('delivered_at', 'is', null)
          .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', at)]))
          .executeTakeFirst();
        if (result.numUpdatedRows > 0n) claimed.push(toAlert(row));
      }
      return claimed;
    },
    async markAlertDelivered(id, at) {
      await db
        .updateTable('access_alert_outbox')
        .set((eb) => ({ delivered_at: at, lease_until: null, attempts: eb('attempts', '+', 1), last_error: null }))
        .where('id', '=', id)
        .execute();
    },
    async markAlertFailed(id, at, error, nextAttemptAt) {
      await db
        .updateTable('access_alert_outbox')
        .set((eb) => ({
          attempts: eb('attempts', '+', 1),
          lease_until: null,
          last_error: error.slice(0, 64),
          next_attempt_at: nextAttemptAt ?? at,
          dead_at: nextAttemptAt === null ? at : null,
        }))
        .where('id', '=', id)
        .execute();
    },
    async listAlerts(sessionId) {
      let query = db.selectFrom('access_alert_outbox').selectAll();
      if (sessionId !== undefined) query = query.where('session_id', '=', sessionId);
      return (await query.orderBy('created_at').orderBy('id').execute()).map(toAlert);
    },

    async listIncidents() {
      const rows = await db.selectFrom('access_incidents').selectAll().orderBy('created_at', 'desc').execute();
      return rows.map((row) => ({
        id: row.id,
        kind: row.kind,
        sessionId: row.session_id,
        userId: row.user_id,
        createdBy: row.created_by,
        createdAt: Number(row.created_at),
        status: row.status,
      }));
    },
  };
}
