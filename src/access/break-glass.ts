// SPDX-License-Identifier: Apache-2.0
/**
 * Break-glass: emergency access to a patient outside the care team, for pre-identified users
 * only, with a reason, a time box, an alarm and a later review.
 *
 * Order matters: the session row and one alert per configured channel are written in one
 * transaction BEFORE the request that opened it is allowed on; delivery happens afterwards in
 * the background (alerts/dispatcher.ts). The free-text reason is encrypted at rest, never
 * logged, never put in an alert or an audit record.
 */
import { GatewayError } from '../kernel/errors.js';
import type { BreakGlassRepo, BreakGlassSession } from '../store/repos/break-glass-repo.js';

/** Reason categories a break-glass session must name. */
export const breakGlassCategories = ['emergency_treatment', 'patient_safety', 'system_downtime', 'disaster_response'] as const;
export type BreakGlassCategory = (typeof breakGlassCategories)[number];

export const minReasonLength = 8;
export const maxReasonLength = 1000;

/** The header a request opens break-glass with: `x-phigate-break-glass: <category>:<free text>`. */
export const breakGlassHeader = 'x-phigate-break-glass';

export interface BreakGlassRequest {
  readonly category: BreakGlassCategory;
  readonly reason: string;
}

/** Validates a category and reason; the error names the problem, never the text. */
export function validateBreakGlassRequest(category: string, reason: string, field = 'reason'): BreakGlassRequest {
  if (!(breakGlassCategories as readonly string[]).includes(category)) {
    throw new GatewayError('invalid_request', { detail: { field: 'category', expected: breakGlassCategories.join('|') } });
  }
  const text = reason.trim();
  if (text.length < minReasonLength || text.length > maxReasonLength) {
    throw new GatewayError('invalid_request', { detail: { field, expected: `${minReasonLength}-${maxReasonLength} characters of free text` } });
  }
  return { category: category as BreakGlassCategory, reason: text };
}

/** Parses the break-glass header (`<category>:<free text>`). */
export function parseBreakGlassHeader(value: string): BreakGlassRequest {
  const colon = value.indexOf(':');
  if (colon < 0) throw new GatewayError('invalid_header', { detail: { header: breakGlassHeader, expected: '<category>:<reason>' } });
  const category = value.slice(0, colon).trim().toLowerCase();
  try {
    return validateBreakGlassRequest(category, value.slice(colon + 1), breakGlassHeader);
  } catch {
    throw new GatewayError('invalid_header', { detail: { header: breakGlassHeader, expected: `<${breakGlassCategories.join('|')}>:<${minReasonLength}-${maxReasonLength} characters>` } });
  }
}

/** The alert sent to every channel: PHI-free (ids, category, times, the audit log's keyed patient hash). */
export interface BreakGlassAlert {
  readonly type: 'phigate.break_glass.started';
  readonly sessionId: string;
  readonly userId: string;
  readonly category: BreakGlassCategory;
  readonly purpose: string | null;
  readonly startedAt: string;
  readonly expiresAt: string;
  /** Same keyed hash as the audit record's `patientHash`, so the two can be joined. */
  readonly patientHash: string;
  readonly instance: string;
}

export interface OpenBreakGlassOptions {
  readonly repo: BreakGlassRepo;
  readonly userId: string;
  readonly patient: string;
  readonly request: BreakGlassRequest;
  readonly purpose?: string | undefined;
  readonly now: number;
  readonly minutes: number;
  readonly channelIds: readonly string[];
  readonly patientHash: string;
  readonly instance: string;
}

/** Opens a session with its alerts queued in the same transaction. */
export async function openBreakGlass(options: OpenBreakGlassOptions): Promise<BreakGlassSession> {
  const startedAt = options.now;
  const expiresAt = startedAt + options.minutes * 60_000;
  return options.repo.open(
    {
      userId: options.userId,
      patient: options.patient,
      category: options.request.category,
      reason: options.request.reason,
      purpose: options.purpose,
      startedAt,
      expiresAt,
    },
    options.channelIds,
    (sessionId) => {
      const alert: BreakGlassAlert = {
        type: 'phigate.break_glass.started',
        sessionId,
        userId: options.userId,
        category: options.request.category,
        purpose: options.purpose ?? null,
        startedAt: new Date(startedAt).toISOString(),
        expiresAt: new Date(expiresAt).toISOString(),
        patientHash: options.patientHash,
        instance: options.instance,
      };
      return JSON.stringify(alert);
    },
  );
}

/** Clamps a requested duration to the configured maximum; the default when none is asked. */
export function sessionMinutes(requested: number | undefined, limits: { defaultMinutes: number; maxMinutes: number }): number {
  if (requested === undefined) return Math.min(limits.defaultMinutes, limits.maxMinutes);
  return Math.max(1, Math.min(Math.floor(requested), limits.maxMinutes));
}
