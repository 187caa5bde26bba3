// SPDX-License-Identifier: Apache-2.0
/**
 * Reading the audit log: search by user, patient, endpoint or vendor and time; the per-patient
 * accounting of disclosures (45 CFR 164.528: which vendors received this patient's PHI, when and
 * why); and the breach query (every patient whose PHI a user or vendor touched in a window).
 *
 * Every query filters on the indexed columns of `audit_events` (actor_id, patient_hash,
 * endpoint_id, recorded_at — paired with recorded_at by migration 0007) and parses the canonical
 * JSON body only for the rows it returns. Patients appear as their keyed hash
 * (`fieldCrypto.blindIndex(id, 'audit-patient')`); {@link patientHashOf} hashes a known id the
 * same way, so looking a patient up never stores or logs the id itself.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditEvent } from './record.js';

/** The purpose string the gateway hashes patient references with. */
export const auditPatientHashPurpose = 'audit-patient';

/** Hashes a patient id exactly as the gateway's audit records do. */
export function patientHashOf(keyedHash: (value: string, purpose: string) => string, patientId: string): string {
  return keyedHash(patientId, auditPatientHashPurpose);
}

/** A stored record with its place in the chain. */
export interface StoredAuditRecord {
  readonly seq: number;
  readonly hash: string;
  readonly prevHash: string;
  readonly event: AuditEvent;
}

/** Filters for {@link searchAudit}. Times are epoch ms; `until` is exclusive. */
export interface AuditSearch {
  readonly userId?: string | undefined;
  readonly patientHash?: string | undefined;
  readonly endpointIds?: readonly string[] | undefined;
  readonly eventType?: string | undefined;
  readonly requestId?: string | undefined;
  readonly since?: number | undefined;
  readonly until?: number | undefined;
  /** Resume after this sequence number (paging). */
  readonly afterSeq?: number | undefined;
  /** Default 100, at most 10,000. */
  readonly limit?: number | undefined;
}

type Db = Kysely<Database>;

function toStored(row: { seq: number; hash: string; prev_hash: string; body: string }): StoredAuditRecord {
  return { seq: Number(row.seq), hash: row.hash, prevHash: row.prev_hash, event: JSON.parse(row.body) as AuditEvent };
}

/** Records matching every given filter, oldest first. */
export async function searchAudit(db: Db, search: AuditSearch): Promise<StoredAuditRecord[]> {
  const limit = Math.min(Math.max(1, Math.trunc(search.limit ?? 100)), 10_000);
  if (search.endpointIds !== undefined && search.endpointIds.length === 0) return [];
  let query = db.selectFrom('audit_events').select(['seq', 'hash', 'prev_hash', 'body']);
  if (search.userId !== undefined) query = query.where('actor_id', '=', search.userId);
  if (search.patientHash !== undefined) query = query.where('patient_hash', '=', search.patientHash);
  if (search.endpointIds !== undefined) query = query.where('endpoint_id', 'in', [...search.endpointIds]);
  if (search.eventType !== undefined) query = query.where('event_type', '=', search.eventType);
  if (search.requestId !== undefined) query = query.where('request_id', '=', search.requestId);
  if (search.since !== undefined) query = query.where('recorded_at', '>=', search.since);
  if (search.until !== undefined) query = query.where('recorded_at', '<', search.until);
  if (search.afterSeq !== undefined) query = query.where('seq', '>', search.afterSeq);
  const rows = await query.orderBy('seq').limit(limit).execute();
  return rows.map(toStored);
}

/**
 * Every record in a time window, in chain order, fetched in pages so a large export never holds
 * the log in memory.
 */
export async function* iterateAudit(db: Db, window: { readonly since?: number | undefined; readonly until?: number | undefined; readonly pageSize?: number } = {}): AsyncGenerator<StoredAuditRecord> {
  let afterSeq = 0;
  const pageSize = window.pageSize ?? 1000;
  for (;;) {
    const page = await searchAudit(db, { since: window.since, until: window.until, afterSeq, limit: pageSize });
    yield* page;
    if (page.length < pageSize) return;
    afterSeq = page[page.length - 1]!.seq;
  }
}

/** One disclosure of a patient's PHI to a vendor, for the accounting. */
export interface Disclosure {
  readonly at: string;
  readonly requestId: string;
  readonly seq: number;
  readonly endpointId: string;
  readonly vendor: string | undefined;
  readonly model: string | undefined;
  readonly userId: string | undefined;
  readonly onBehalfOf: string | undefined;
  readonly purpose: string | undefined;
  readonly useCase: string | undefined;
  /** How the PHI left: raw, deidentified, pseudonymised, phi_free. */
  readonly form: string | undefined;
  readonly phiCategories: Readonly<Record<string, number>> | undefined;
  readonly breakGlass: boolean;
  /** The closing record's outcome: success, failure, or pending if none was found. */
  readonly outcome: string;
}

/**
 * The accounting of disclosures for one patient: every vendor call that carried this patient's
 * data, from the `disclosure` record written before the call, completed by the closing record's
 * outcome. `vendorOf` maps an endpoint id to its vendor when the record predates the vendor field.
 */
export async function accountingOfDisclosures(
  db: Db,
  patientHash: string,
  options: { readonly since?: number | undefined; readonly until?: number | undefined; readonly vendorOf?: (endpointId: string) => string | undefined } = {},
): Promise<Disclosure[]> {
  let query = db
    .selectFrom('audit_events')
    .select(['seq', 'hash', 'prev_hash', 'body', 'stage', 'request_id'])
    .where('patient_hash', '=', patientHash)
    .where('endpoint_id', 'is not', null);
  if (options.since !== undefined) query = query.where('recorded_at', '>=', options.since);
  if (options.until !== undefined) query = query.where('recorded_at', '<', options.until);
  const rows = await query.orderBy('seq').execute();
  const outcomes = new Map<string, string>();
  for (const row of rows) if (row.stage !== 'disclosure') outcomes.set(row.request_id, (JSON.parse(row.body) as AuditEvent).outcome);
  const out: Disclosure[] = [];
  for (const row of rows) {
    if (row.stage !== 'disclosure') continue;
    const event = JSON.parse(row.body) as AuditEvent;
    const endpointId = event.endpointId as string;
    out.push({
      at: event.recordedAt,
      requestId: event.requestId,
      seq: Number(row.seq),
      endpointId,
      vendor: event.vendor ?? options.vendorOf?.(endpointId),
      model: event.model,
      userId: event.actor?.userId,
      onBehalfOf: event.onBehalfOf?.userId,
      purpose: event.purpose,
      useCase: event.useCase,
      form: event.form,
      phiCategories: event.phiCategories,
      breakGlass: event.breakGlass === true,
      outcome: outcomes.get(event.requestId) ?? 'pending',
    });
  }
  return out;
}

/** Who the breach query is about: one user, or one vendor's endpoints. */
export type BreachSubject = { readonly userId: string } | { readonly endpointIds: readonly string[] };

/** One affected patient. */
export interface AffectedPatient {
  readonly patientHash: string;
  readonly records: number;
  readonly firstAt: number;
  readonly lastAt: number;
}

/**
 * The breach query: every patient whose PHI `subject` touched in [since, until), with how many
 * records and when. Grouped in the database, so it reads only the index range of the subject.
 */
export async function breachQuery(db: Db, subject: BreachSubject, window: { readonly since: number; readonly until: number }): Promise<AffectedPatient[]> {
  let query = db
    .selectFrom('audit_events')
    .select((eb) => ['patient_hash', eb.fn.countAll<string | number>().as('records'), eb.fn.min('recorded_at').as('first_at'), eb.fn.max('recorded_at').as('last_at')])
    .where('recorded_at', '>=', window.since)
    .where('recorded_at', '<', window.until)
    .where('patient_hash', 'is not', null);
  if ('userId' in subject) {
    query = query.where('actor_id', '=', subject.userId);
  } else {
    if (subject.endpointIds.length === 0) return [];
    query = query.where('endpoint_id', 'in', [...subject.endpointIds]);
  }
  const rows = await query.groupBy('patient_hash').orderBy('patient_hash').execute();
  return rows.map((row) => ({ patientHash: row.patient_hash as string, records: Number(row.records), firstAt: Number(row.first_at), lastAt: Number(row.last_at) }));
}
