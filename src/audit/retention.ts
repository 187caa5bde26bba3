// SPDX-License-Identifier: Apache-2.0
/**
 * Retention: how long audit records and inference content live, and the only ways they end.
 *
 * - Audit records are kept at least 6 years (45 CFR 164.316(b)(2); default 7). The one purge path
 *   is {@link purgeExpiredAuditRecords}: it refuses a cutoff younger than the retention period,
 *   refuses while a legal hold covers the records, and removes only a prefix of the chain (the
 *   oldest records), so what remains still verifies from its first record's prevHash. The
 *   append-only triggers of migration 0002 refuse every DELETE today; the purge runs inside a
 *   transaction that names its cutoff (`phigate.audit_purge_before`), for a trigger that allows
 *   exactly that path.
 * - Inference content (prompts and answers, kept only when a use case turns it on) is encrypted
 *   under one data key per UTC day. Purging a day destroys its wrapped key (crypto-shredding) and
 *   then deletes the rows: a copy in a backup is unreadable without the key. Default 30 days.
 *   A use case may keep its content for fewer days (`inferenceLogRetentionDays`): each row
 *   carries that figure and the purge deletes the row once it is that old. Its day key, and so
 *   any backup copy, still lives until the day's key is destroyed on the global schedule. A use
 *   case asking for more days than the global schedule is capped by it: the day key goes first.
 * - A legal hold suspends both purges for what it covers: everything (`all`), one patient
 *   (audit patient hash) or one user.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Kms, WrappedKey } from '../crypto/kms.js';
import { uuidv7 } from '../kernel/ids.js';
import { dialectOf } from '../store/dialect.js';
import type { Database } from '../store/schema.js';

type Db = Kysely<Database>;

/** HIPAA's floor for documentation retention. */
export const minimumAuditRetentionYears = 6;

/** Why a purge was refused; PHI-free. */
export class RetentionError extends Error {
  readonly code: 'retention_too_short' | 'cutoff_within_retention' | 'legal_hold';
  constructor(code: RetentionError['code'], message: string) {
    super(message);
    this.name = 'RetentionError';
    this.code = code;
  }
}

/** The oldest time a record may have and still be kept: `years` calendar years before `now` (UTC). */
export function auditRetentionCutoff(now: number, years: number): number {
  if (!Number.isInteger(years) || years < minimumAuditRetentionYears) {
    throw new RetentionError('retention_too_short', `audit retention must be at least ${minimumAuditRetentionYears} years`);
  }
  const d = new Date(now);
  d.setUTCFullYear(d.getUTCFullYear() - years);
  return d.getTime();
}

// ---------------------------------------------------------------------------------------------
// Legal holds

export type LegalHoldScope = 'all' | 'patient' | 'user';

export interface LegalHold {
  readonly id: string;
  readonly scope: LegalHoldScope;
  /** The audit patient hash (`patient`) or user id (`user`); undefined for `all`. */
  readonly subject: string | undefined;
  readonly reason: string;
  readonly createdBy: string;
  readonly createdAt: number;
}

/** Places a hold. `reason` is a case or matter reference, never PHI. */
export async function placeLegalHold(db: Db, input: { scope: LegalHoldScope; subject?: string; reason: string; by: string; now: number }): Promise<LegalHold> {
  if ((input.scope === 'all') !== (input.subject === undefined)) throw new Error('legal hold: a patient or user hold names its subject; an "all" hold does not');
  const hold: LegalHold = { id: uuidv7(input.now), scope: input.scope, subject: input.subject, reason: input.reason, createdBy: input.by, createdAt: input.now };
  await db
    .insertInto('audit_legal_holds')
    .values({ id: hold.id, scope: hold.scope, subject_hash: hold.subject ?? null, reason: hold.reason, created_by: hold.createdBy, created_at: hold.createdAt, released_at: null, released_by: null })
    .execute();
  return hold;
}

/** Releases a hold; true when it was active. */
export async function releaseLegalHold(db: Db, id: string, by: string, now: number): Promise<boolean> {
  const result = await db.updateTable('audit_legal_holds').set({ released_at: now, released_by: by }).where('id', '=', id).where('released_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Every hold not yet released. */
export async function activeLegalHolds(db: Db): Promise<LegalHold[]> {
  const rows = await db.selectFrom('audit_legal_holds').selectAll().where('released_at', 'is', null).orderBy('created_at').execute();
  return rows.map((r) => ({ id: r.id, scope: r.scope as LegalHoldScope, subject: r.subject_hash ?? undefined, reason: r.reason, createdBy: r.created_by, createdAt: Number(r.created_at) }));
}

// ---------------------------------------------------------------------------------------------
// Audit record purge

export interface AuditPurgePlan {
  /** Records with seq ≤ this are removed; 0 when nothing may be. */
  readonly throughSeq: number;
  readonly records: number;
  readonly cutoff: number;
  /** Why the prefix stops where it does. */
  readonly stoppedBy: 'cutoff' | 'legal_hold' | 'end_of_log';
}

/**
 * Which prefix of the chain may go: every record up to (not including) the first one that is
 * younger than the cutoff or covered by an active hold. Refuses outright under an `all` hold or a
 * cutoff inside the retention period.
 */
export async function planAuditPurge(db: Db, options: { now: number; retentionYears: number; before?: number }): Promise<AuditPurgePlan> {
  const cutoff = auditRetentionCutoff(options.now, options.retentionYears);
  const before = options.before ?? cutoff;
  if (before > cutoff) throw new RetentionError('cutoff_within_retention', 'refusing to purge audit records younger than the retention period');
  const holds = await activeLegalHolds(db);
  if (holds.some((h) => h.scope === 'all')) throw new RetentionError('legal_hold', 'a legal hold covers the whole audit log');
  const firstYoung = await db.selectFrom('audit_events').select((eb) => eb.fn.min('seq').as('seq')).where('recorded_at', '>=', before).executeTakeFirst();
  const patients = holds.filter((h) => h.scope === 'patient').map((h) => h.subject as string);
  const users = holds.filter((h) => h.scope === 'user').map((h) => h.subject as string);
  let firstHeld: number | undefined;
  if (patients.length > 0 || users.length > 0) {
    const row = await db
      .selectFrom('audit_events')
      .select((eb) => eb.fn.min('seq').as('seq'))
      .where((eb) => eb.or([...(patients.length > 0 ? [eb('patient_hash', 'in', patients)] : []), ...(users.length > 0 ? [eb('actor_id', 'in', users)] : [])]))
      .executeTakeFirst();
    firstHeld = row?.seq === null || row?.seq === undefined ? undefined : Number(row.seq);
  }
  const last = await db.selectFrom('audit_events').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
  const lastSeq = last?.seq === null || last?.seq === undefined ? 0 : Number(last.seq);
  const young = firstYoung?.seq === null || firstYoung?.seq === undefined ? undefined : Number(firstYoung.seq);
  const stops: [number, AuditPurgePlan['stoppedBy']][] = [[lastSeq, 'end_of_log']];
  if (young !== undefined) stops.push([young - 1, 'cutoff']);
  if (firstHeld !== undefined) stops.push([firstHeld - 1, 'legal_hold']);
  stops.sort((a, b) => a[0] - b[0]);
  const [throughSeq, stoppedBy] = stops[0] as [number, AuditPurgePlan['stoppedBy']];
  const first = await db.selectFrom('audit_events').select((eb) => eb.fn.min('seq').as('seq')).executeTakeFirst();
  const firstSeq = first?.seq === null || first?.seq === undefined ? 1 : Number(first.seq);
  return { throughSeq: Math.max(0, throughSeq), records: Math.max(0, throughSeq - firstSeq + 1), cutoff: before, stoppedBy };
}

/**
 * Removes the planned prefix. The only code path that deletes audit records; the database
 * triggers must allow it and nothing else (see the file comment).
 */
export async function purgeExpiredAuditRecords(db: Db, options: { now: number; retentionYears: number; before?: number }): Promise<AuditPurgePlan> {
  const plan = await planAuditPurge(db, options);
  if (plan.records === 0) return plan;
  await db.transaction().execute(async (trx) => {
    if (dialectOf(trx) === 'postgres') await sql`select set_config('phigate.audit_purge_before', ${String(plan.cutoff)}, true)`.execute(trx);
    await trx.deleteFrom('audit_events').where('seq', '<=', plan.throughSeq).where('recorded_at', '<', plan.cutoff).execute();
  });
  return plan;
}

// ---------------------------------------------------------------------------------------------
// Inference content log

export interface InferenceContentInput {
  readonly requestId: string;
  readonly kind: 'prompt' | 'response';
  readonly content: string;
  readonly useCase?: string | undefined;
  readonly patientHash?: string | undefined;
  readonly actorId?: string | undefined;
  /**
   * Days this row's use case keeps content; the purge deletes the row once it is that old.
   * Capped by the log's own schedule (the day key is destroyed then, whatever this says).
   */
  readonly retentionDays?: number | undefined;
}

export interface ContentPurgeResult {
  readonly daysDestroyed: readonly string[];
  /** Rows deleted: those of destroyed days, and those past their own use case's shorter retention. */
  readonly rowsDeleted: number;
  /** Days past their schedule kept because a legal hold covers them. */
  readonly daysHeld: readonly string[];
}

export interface InferenceContentLog {
  /** Encrypts and stores one prompt or answer; returns its id. */
  record(input: InferenceContentInput): Promise<string>;
  /** The plaintext, or undefined when the row is gone or its day key was destroyed. */
  read(id: string): Promise<string | undefined>;
  /**
   * Destroys the keys of days older than the schedule (unless held), then deletes their rows;
   * then deletes the rows past their own (shorter) retention, except those a legal hold covers.
   */
  purge(): Promise<ContentPurgeResult>;
}

export interface InferenceContentLogOptions {
  readonly db: Db;
  readonly kms: Kms;
  readonly now: () => number;
  /** Default 30. */
  readonly retentionDays?: number;
}

const dayMs = 86_400_000;
const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const aad = (id: string, day: string, kind: string): Buffer => Buffer.from(`inference_content_log|${id}|${day}|${kind}`, 'utf8');

/** The encrypted inference content log with per-day keys (see the file comment). */
export function createInferenceContentLog(options: InferenceContentLogOptions): InferenceContentLog {
  const { db, kms } = options;
  const retentionDays = options.retentionDays ?? 30;
  const keys = new Map<string, Uint8Array>();
  const context = (day: string) => ({ purpose: 'inference-content', day });

  async function keyFor(day: string, create: boolean): Promise<Uint8Array | undefined> {
    const cached = keys.get(day);
    if (cached) return cached;
    const row = await db.selectFrom('inference_content_keys').selectAll().where('day', '=', day).executeTakeFirst();
    if (row) {
      if (row.wrapped === null) return undefined;
      const key = await kms.unwrapDataKey(JSON.parse(row.wrapped) as WrappedKey, context(day));
      keys.set(day, key);
      return key;
    }
    if (!create) return undefined;
    const generated = await kms.generateDataKey(context(day));
    // Another instance may have made the day's key first; whichever row won is the key.
    await db
      .insertInto('inference_content_keys')
      .values({ day, kms_key_id: generated.wrapped.kekId, wrapped: JSON.stringify(generated.wrapped), created_at: options.now(), destroyed_at: null })
      .onConflict((oc) => oc.column('day').doNothing())
      .execute();
    return keyFor(day, false);
  }

  return {
    async record(input) {
      const now = options.now();
      const day = utcDay(now);
      const key = await keyFor(day, true);
      if (key === undefined) throw new Error('inference content: the key for today was destroyed');
      const id = uuidv7(now);
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(aad(id, day, input.kind));
      const body = Buffer.concat([cipher.update(input.content, 'utf8'), cipher.final()]);
      await db
        .insertInto('inference_content_log')
        .values({
          id,
          request_id: input.requestId,
          recorded_at: now,
          day,
          use_case: input.useCase ?? null,
          patient_hash: input.patientHash ?? null,
          actor_id: input.actorId ?? null,
          kind: input.kind,
          retention_days: input.retentionDays ?? null,
          content_enc: Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64'),
        })
        .execute();
      return id;
    },

    async read(id) {
      const row = await db.selectFrom('inference_content_log').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) return undefined;
      const key = await keyFor(row.day, false);
      if (key === undefined) return undefined;
      const raw = Buffer.from(row.content_enc, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAAD(aad(row.id, row.day, row.kind));
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
    },

    async purge() {
      const now = options.now();
      const lastExpiredDay = utcDay(now - retentionDays * dayMs - dayMs);
      const holds = await activeLegalHolds(db);
      const expired = await db.selectFrom('inference_content_keys').select('day').where('day', '<=', lastExpiredDay).where('wrapped', 'is not', null).orderBy('day').execute();
      const destroyed: string[] = [];
      const held: string[] = [];
      let rowsDeleted = 0;
      for (const { day } of expired) {
        if (await isDayHeld(db, day, holds)) {
          held.push(day);
          continue;
        }
        // The key goes first: from this commit on the day's ciphertexts are noise, wherever copies are.
        await db.updateTable('inference_content_keys').set({ wrapped: null, destroyed_at: now }).where('day', '=', day).execute();
        keys.delete(day);
        const result = await db.deleteFrom('inference_content_log').where('day', '=', day).executeTakeFirst();
        rowsDeleted += Number(result.numDeletedRows);
        destroyed.push(day);
      }
      rowsDeleted += await deleteRowsPastTheirRetention(db, now, holds);
      return { daysDestroyed: destroyed, rowsDeleted, daysHeld: held };
    },
  };
}

/**
 * Deletes the rows older than their own retention (`retention_days`), keeping every row a legal
 * hold covers. Rows without a figure follow the day-key schedule only.
 */
async function deleteRowsPastTheirRetention(db: Db, now: number, holds: readonly LegalHold[]): Promise<number> {
  if (holds.some((h) => h.scope === 'all')) return 0;
  const patients = holds.filter((h) => h.scope === 'patient').map((h) => h.subject as string);
  const users = holds.filter((h) => h.scope === 'user').map((h) => h.subject as string);
  // One delete per distinct figure keeps the cutoff a plain parameter (no column arithmetic).
  const figures = await db.selectFrom('inference_content_log').select('retention_days').distinct().where('retention_days', 'is not', null).execute();
  let deleted = 0;
  for (const { retention_days: days } of figures) {
    if (days === null) continue;
    const result = await db
      .deleteFrom('inference_content_log')
      .where('retention_days', '=', days)
      .where('recorded_at', '<=', now - Number(days) * dayMs)
      .where((eb) =>
        eb.and([
          ...(patients.length > 0 ? [eb.or([eb('patient_hash', 'is', null), eb('patient_hash', 'not in', patients)])] : []),
          ...(users.length > 0 ? [eb.or([eb('actor_id', 'is', null), eb('actor_id', 'not in', users)])] : []),
        ]),
      )
      .executeTakeFirst();
    deleted += Number(result.numDeletedRows);
  }
  return deleted;
}

async function isDayHeld(db: Db, day: string, holds: readonly LegalHold[]): Promise<boolean> {
  if (holds.some((h) => h.scope === 'all')) return true;
  const patients = holds.filter((h) => h.scope === 'patient').map((h) => h.subject as string);
  const users = holds.filter((h) => h.scope === 'user').map((h) => h.subject as string);
  if (patients.length === 0 && users.length === 0) return false;
  const row = await db
    .selectFrom('inference_content_log')
    .select('id')
    .where('day', '=', day)
    .where((eb) => eb.or([...(patients.length > 0 ? [eb('patient_hash', 'in', patients)] : []), ...(users.length > 0 ? [eb('actor_id', 'in', users)] : [])]))
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
