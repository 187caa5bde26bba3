// SPDX-License-Identifier: Apache-2.0
/**
 * Downstream actions: an application reports what it did with an answer — accepted it into the
 * chart, placed an order, sent a message, or discarded it — against the request id the gateway
 * gave that answer. The report becomes an `audit.downstream` record in the same chain, carrying
 * the original request id and the original patient hash, so the request's trail (disclosure,
 * completion, downstream action) reads as one story.
 *
 * Only the principal that made the original request may report on it; for anyone else the
 * answer is the same refusal whether or not the request exists. A free-text note may hold PHI,
 * so only its keyed hash is recorded.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { GatewayError } from '../kernel/errors.js';
import { uuidv7 } from '../kernel/ids.js';
import type { Database } from '../store/schema.js';
import { auditToolEventTypes } from './catalogue.js';
import type { AuditEvent } from './record.js';
import { searchAudit, type StoredAuditRecord } from './search.js';

/** What an application may report. */
export const downstreamActions = ['accepted_into_chart', 'order_placed', 'message_sent', 'discarded'] as const;
export type DownstreamAction = (typeof downstreamActions)[number];

/** The body of `POST /v1/audit/downstream`. */
export const downstreamReportSchema = z.strictObject({
  request_id: z.string().min(1).max(128),
  action: z.enum(downstreamActions),
  note: z.string().max(4000).optional(),
});
export type DownstreamReport = z.infer<typeof downstreamReportSchema>;

export interface DownstreamReporter {
  readonly userId: string;
  readonly kind: 'user' | 'service';
  readonly roles: readonly string[];
  readonly authMethod: string;
  readonly apiKeyId?: string | undefined;
}

export interface DownstreamContext {
  readonly db: Kysely<Database>;
  readonly keyedHash: (value: string, purpose: string) => string;
  readonly now: number;
  readonly instance: string;
  /** The reporting call's own request id. */
  readonly requestId: string;
  readonly client?: AuditEvent['client'];
}

/**
 * Checks that `reporter` made `report.request_id` and builds the `audit.downstream` record.
 * Throws `permission_denied` when the request is unknown or was made by someone else.
 */
export async function buildDownstreamEvent(context: DownstreamContext, reporter: DownstreamReporter, report: DownstreamReport): Promise<AuditEvent> {
  const original = await searchAudit(context.db, { requestId: report.request_id, limit: 50 });
  const made = original.filter((record) => record.event.type !== auditToolEventTypes.downstream);
  if (made.length === 0 || made.some((record) => record.event.actor?.userId !== reporter.userId)) throw new GatewayError('permission_denied');
  const first = made[0] as StoredAuditRecord;
  return {
    id: uuidv7(context.now),
    recordedAt: new Date(context.now).toISOString(),
    type: auditToolEventTypes.downstream,
    stage: 'completed',
    outcome: 'success',
    requestId: context.requestId,
    status: 200,
    actor: { userId: reporter.userId, kind: reporter.kind, roles: reporter.roles, authMethod: reporter.authMethod, apiKeyId: reporter.apiKeyId },
    patientHash: first.event.patientHash,
    purpose: first.event.purpose,
    useCase: first.event.useCase,
    downstream: {
      requestId: report.request_id,
      action: report.action,
      noteHmac: report.note === undefined ? undefined : context.keyedHash(report.note, 'audit-downstream-note'),
    },
    client: context.client,
    instance: context.instance,
  };
}

/** A request's whole trail: its own records and every downstream action reported on it, in chain order. */
export async function requestTrail(db: Kysely<Database>, requestId: string): Promise<StoredAuditRecord[]> {
  const own = await searchAudit(db, { requestId, limit: 10_000 });
  const patientHash = own.find((record) => record.event.patientHash !== undefined)?.event.patientHash;
  const reports = await searchAudit(db, { eventType: auditToolEventTypes.downstream, ...(patientHash === undefined ? {} : { patientHash }), limit: 10_000 });
  const linked = reports.filter((record) => record.event.downstream?.requestId === requestId);
  return [...own, ...linked].sort((a, b) => a.seq - b.seq);
}
