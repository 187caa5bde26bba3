// SPDX-License-Identifier: Apache-2.0
/**
 * Audit events of the output filter, and the facts it adds to a request's closing record.
 * Categories and counts only: never an identifier, never a link, never a tool name (a tool name
 * the model invented is model output).
 */
import type { AuditEvent } from '../audit/record.js';
import { uuidv7 } from '../kernel/ids.js';
import type { FilterAction } from './response-filter.js';
import { leakCount, type FilterTally } from './text-filter.js';

export const outputAuditEventTypes = {
  /** Another patient's identifiers were found in an answer (redacted or blocked); an incident is open. */
  leak: 'output.leak',
  /** A tool call naming a tool the request did not offer was removed, or blocked the answer. */
  toolCallRemoved: 'output.tool_call_removed',
} as const;

/** The request facts an output event repeats from the request's own records. */
export interface OutputAuditSubject {
  readonly now: number;
  readonly requestId: string;
  readonly instance: string;
  readonly actor: AuditEvent['actor'];
  readonly patientHash: string | undefined;
  readonly purpose: string | undefined;
  readonly useCase: string | undefined;
  readonly endpointId: string | undefined;
  readonly vendor: string | undefined;
  readonly model: string | undefined;
  readonly form: string | undefined;
  readonly streamed: boolean;
}

/** `leak_NAME: 2`, … — one detail key per category. */
export function categoryDetail(tally: FilterTally): Record<string, number> {
  const detail: Record<string, number> = {};
  for (const [category, count] of Object.entries(tally.leaks)) if (count) detail[`leak_${category}`] = count;
  return detail;
}

function base(subject: OutputAuditSubject, type: string, blocked: boolean): AuditEvent {
  return {
    id: uuidv7(subject.now),
    recordedAt: new Date(subject.now).toISOString(),
    type,
    stage: 'completed',
    outcome: blocked ? 'denied' : 'success',
    requestId: subject.requestId,
    status: blocked ? 422 : 200,
    ...(blocked ? { errorCode: 'output_blocked' } : {}),
    actor: subject.actor,
    patientHash: subject.patientHash,
    purpose: subject.purpose,
    useCase: subject.useCase,
    endpointId: subject.endpointId,
    vendor: subject.vendor,
    model: subject.model,
    form: subject.form,
    streamed: subject.streamed,
    instance: subject.instance,
  };
}

/** The `output.leak` event: what was found (categories, counts), what was done, which incident. */
export function outputLeakEvent(subject: OutputAuditSubject, tally: FilterTally, action: FilterAction, incidentId: string): AuditEvent {
  return {
    ...base(subject, outputAuditEventTypes.leak, action === 'blocked'),
    detail: { incidentId, action, leaks: leakCount(tally), leaksInRemovedLinks: tally.leaksInLinks, ...categoryDetail(tally) },
  };
}

/** The `output.tool_call_removed` event. */
export function toolCallRemovedEvent(subject: OutputAuditSubject, tally: FilterTally, action: FilterAction): AuditEvent {
  return {
    ...base(subject, outputAuditEventTypes.toolCallRemoved, action === 'blocked'),
    detail: { action, toolCallsRemoved: tally.toolCallsRemoved },
  };
}

/** What the closing record of a filtered request says about the filter (merged into its `detail`). */
export function closingDetail(tally: FilterTally, action: FilterAction, incidentId: string | undefined): Record<string, string | number> {
  return {
    outputFilter: action,
    outputLeaks: leakCount(tally),
    outputLinksRemoved: tally.linksRemoved,
    outputToolCallsRemoved: tally.toolCallsRemoved,
    outputAllowed: tally.allowed,
    outputTokens: tally.tokens,
    ...(incidentId === undefined ? {} : { outputIncidentId: incidentId }),
  };
}
