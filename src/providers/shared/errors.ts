// SPDX-License-Identifier: Apache-2.0
/**
 * Vendor failures mapped to the `provider_*` codes. Vendor bodies never reach the message or
 * the detail: only the upstream status and a fixed reason string do, so nothing a vendor echoes
 * back (which may include prompt text) can leak into logs or responses.
 */
import { GatewayError } from '../../kernel/errors.js';

type ProviderCode = 'provider_timeout' | 'provider_unavailable' | 'provider_rate_limited' | 'provider_bad_response' | 'provider_rejected';

interface RetryHint {
  readonly retryable: boolean;
  /** Vendor-requested wait before the next attempt (retry-after), when given. */
  readonly retryAfterMs: number | undefined;
}

const hints = new WeakMap<GatewayError, RetryHint>();

/** Builds a provider error; `reason` is a fixed, PHI-free token chosen by phigate code. */
export function providerError(
  code: ProviderCode,
  options: { reason?: string; status?: number; retryable?: boolean; retryAfterMs?: number; cause?: unknown } = {},
): GatewayError {
  const detail: Record<string, string | number> = {};
  if (options.reason !== undefined) detail.reason = options.reason;
  if (options.status !== undefined) detail.upstreamStatus = options.status;
  const headers =
    code === 'provider_rate_limited' && options.retryAfterMs !== undefined
      ? { 'retry-after': String(Math.max(1, Math.ceil(options.retryAfterMs / 1000))) }
      : undefined;
  const err = new GatewayError(code, {
    detail,
    ...(options.cause === undefined ? {} : { cause: options.cause }),
    ...(headers ? { headers } : {}),
  });
  hints.set(err, { retryable: options.retryable ?? false, retryAfterMs: options.retryAfterMs });
  return err;
}

/** Whether a failed attempt may be repeated, and after how long the vendor asked us to wait. */
export function retryHintOf(err: unknown): RetryHint {
  return (err instanceof GatewayError ? hints.get(err) : undefined) ?? { retryable: false, retryAfterMs: undefined };
}

/** Parses `retry-after-ms`, then `retry-after` (seconds or an HTTP date). */
export function parseRetryAfter(headers: Readonly<Record<string, string | string[] | undefined>>, now = Date.now()): number | undefined {
  const ms = first(headers['retry-after-ms']);
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return Number(ms);
  const value = first(headers['retry-after']);
  if (value === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Maps a non-2xx upstream status to a provider error. 429, 408 and 5xx may be retried. */
export function errorForStatus(status: number, headers: Readonly<Record<string, string | string[] | undefined>>): GatewayError {
  const retryAfterMs = parseRetryAfter(headers);
  const base = { status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  if (status === 429) return providerError('provider_rate_limited', { ...base, reason: 'rate_limited', retryable: true });
  if (status === 408) return providerError('provider_timeout', { ...base, reason: 'upstream_timeout', retryable: true });
  if (status === 401 || status === 403) return providerError('provider_unavailable', { ...base, reason: 'upstream_auth_failed' });
  if (status >= 500) return providerError('provider_unavailable', { ...base, reason: 'upstream_error', retryable: true });
  return providerError('provider_rejected', { ...base, reason: 'upstream_rejected' });
}

/**
 * The answer could not be read: not JSON, or not the shape the vendor documents. Callers pass
 * no JSON.parse error as `cause`: V8 quotes the offending input in its message, and that
 * input is vendor text that may carry PHI.
 */
export function badResponse(reason: string, cause?: unknown): GatewayError {
  return providerError('provider_bad_response', { reason, ...(cause === undefined ? {} : { cause }) });
}

/**
 * Whether a failed call may move on to a fallback endpoint (of equal PHI clearance — the
 * caller's egress step must re-seal the payload for it). Rejections are the request's fault
 * and cancellations the caller's, so neither falls back.
 */
export function shouldFallBack(err: unknown): boolean {
  if (!(err instanceof GatewayError)) return false;
  if (err.code === 'provider_rejected') return false;
  if (err.code === 'provider_unavailable' && err.detail?.reason === 'cancelled') return false;
  return err.code === 'provider_unavailable' || err.code === 'provider_timeout' || err.code === 'provider_rate_limited' || err.code === 'provider_bad_response';
}
