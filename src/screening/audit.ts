// SPDX-License-Identifier: Apache-2.0
/**
 * The audit event of injection screening (`screening.injection`), written when any piece of a
 * request scored at or above its channel's threshold: what was done (blocked, dropped, flagged),
 * on which channels, the highest score per channel, the rule ids that matched and how many pieces
 * were screened (scores in thousandths). Never text: no prompt, no chunk, no matched phrase.
 */
import type { AuditEvent } from '../audit/record.js';
import { uuidv7 } from '../kernel/ids.js';
import type { ScreeningChannel } from './rules.js';

export const screeningAuditEventTypes = {
  injection: 'screening.injection',
} as const;

/** What happened to one screened piece. */
export type ScreeningOutcome = 'blocked' | 'dropped' | 'flagged';

/** One detection, as recorded: channel, where it was, what was done, score and rule ids. */
export interface ScreeningFinding {
  readonly channel: ScreeningChannel;
  /** `user`, `pasted`, `tool`, `retrieved`, `fhir_context` or `context`. */
  readonly source: string;
  readonly outcome: ScreeningOutcome;
  readonly score: number;
  readonly ruleIds: readonly string[];
}

export interface ScreeningAuditInput {
  readonly now: number;
  readonly requestId: string;
  readonly instance: string;
  readonly actor: AuditEvent['actor'];
  readonly patientHash: string | undefined;
  readonly purpose: string | undefined;
  readonly useCase: string | undefined;
  readonly model: string | undefined;
  readonly accessBasis?: string | undefined;
  readonly breakGlass?: { readonly breakGlass?: true; readonly breakGlassSessionId?: string };
  /** Pieces screened per channel. */
  readonly screened: Readonly<Record<ScreeningChannel, number>>;
  readonly findings: readonly ScreeningFinding[];
}

// The audit chain's canonical JSON holds integers only, so scores are recorded in thousandths.
const permille = (score: number): number => Math.round(score * 1000);

/** The event: `refused`/`denied` (400) when a finding blocked the request, `completed`/`success` otherwise. */
export function screeningAuditEvent(input: ScreeningAuditInput): AuditEvent {
  const blocked = input.findings.some((f) => f.outcome === 'blocked');
  const count = (outcome: ScreeningOutcome): number => input.findings.filter((f) => f.outcome === outcome).length;
  const maxScore = (channel: ScreeningChannel): number => permille(Math.max(0, ...input.findings.filter((f) => f.channel === channel).map((f) => f.score)));
  const detail: Record<string, string | number | boolean> = {
    blocked: count('blocked'),
    dropped: count('dropped'),
    flagged: count('flagged'),
    screenedDirect: input.screened.direct,
    screenedIndirect: input.screened.indirect,
    channels: [...new Set(input.findings.map((f) => f.channel))].sort().join(','),
    sources: [...new Set(input.findings.map((f) => f.source))].sort().join(','),
    ruleIds: [...new Set(input.findings.flatMap((f) => f.ruleIds))].sort().join(','),
    maxScoreDirectPermille: maxScore('direct'),
    maxScoreIndirectPermille: maxScore('indirect'),
  };
  return {
    id: uuidv7(input.now),
    recordedAt: new Date(input.now).toISOString(),
    type: screeningAuditEventTypes.injection,
    stage: blocked ? 'refused' : 'completed',
    outcome: blocked ? 'denied' : 'success',
    requestId: input.requestId,
    status: blocked ? 400 : 200,
    errorCode: blocked ? 'prompt_injection_detected' : undefined,
    actor: input.actor,
    patientHash: input.patientHash,
    purpose: input.purpose,
    useCase: input.useCase,
    model: input.model,
    instance: input.instance,
    accessBasis: input.accessBasis,
    ...(input.breakGlass ?? {}),
    detail,
  };
}
