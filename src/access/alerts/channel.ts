// SPDX-License-Identifier: Apache-2.0
/**
 * An alert channel delivers one PHI-free JSON payload (see break-glass.ts `BreakGlassAlert`).
 * Failures throw {@link AlertDeliveryError} with a short code for the outbox row; a remote
 * server's own text is never kept.
 */

export interface AlertChannel {
  readonly id: string;
  readonly kind: 'webhook' | 'smtp' | 'syslog';
  send(payload: string, signal: AbortSignal): Promise<void>;
}

export class AlertDeliveryError extends Error {
  readonly code: string;

  constructor(code: string, options?: { cause?: unknown }) {
    super(`alert delivery failed: ${code}`, options);
    this.name = 'AlertDeliveryError';
    this.code = code;
  }
}

/** A short, PHI-free code for any delivery failure. */
export function deliveryErrorCode(err: unknown): string {
  if (err instanceof AlertDeliveryError) return err.code;
  if (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')) return 'timeout';
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z_]{2,32}$/.test(code) ? code.toLowerCase() : 'error';
}

/** A one-line, human-readable summary of an alert for mail and syslog. */
export function alertSummary(payload: string): { subject: string; fields: Record<string, string> } {
  const parsed = JSON.parse(payload) as Record<string, unknown>;
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) if (typeof value === 'string') fields[key] = value;
  return { subject: `phigate break-glass: ${fields.category ?? 'unknown'} by user ${fields.userId ?? 'unknown'}`, fields };
}
