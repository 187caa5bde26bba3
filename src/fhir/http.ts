// SPDX-License-Identifier: Apache-2.0
/**
 * One HTTP exchange with the EHR (SMART discovery, token endpoint, FHIR reads and searches),
 * with the IO hygiene every outbound client in phigate has: an injected `fetch`, a time limit per
 * call inside an overall deadline, the caller's AbortSignal, bounded retries only for 429/503
 * answers (before any body was read), no redirects (a bearer token never follows one to another
 * host) and a response size limit enforced while streaming.
 *
 * Errors are GatewayErrors with fixed messages; `detail` carries only the stage, the resource
 * type, the HTTP status and limits — never a URL (it holds patient ids) or a response body.
 */
import { GatewayError, type SafeDetail } from '../kernel/errors.js';
import type { Clock } from '../kernel/clock.js';

/** The subset of WHATWG `fetch` phigate uses; `globalThis.fetch` in production, a local server in tests. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Which exchange failed, for error details and audit records. */
export type FhirStage = 'discovery' | 'token' | 'read' | 'search';

export interface HttpOptions {
  readonly fetch: FetchLike;
  readonly clock: Clock;
  /** Longest wait for one call, body included. */
  readonly timeoutMs: number;
  /** Retries after a 429 or 503 answer. */
  readonly maxRetries: number;
  readonly maxResponseBytes: number;
  /** Waits between retries; injectable so tests need not sleep. Default: a timer. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** What one request may still spend: the caller's signal and an absolute deadline (clock ms). */
export interface CallBudget {
  readonly signal: AbortSignal;
  readonly deadline: number;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/** Longest wait a Retry-After header may ask for; longer waits give up instead. */
const maxRetryAfterMs = 5_000;

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new GatewayError('client_disconnected'));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

function retryDelayMs(headers: Headers, attempt: number, now: number): number {
  const header = headers.get('retry-after');
  if (header !== null) {
    const seconds = Number(header.trim());
    if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, maxRetryAfterMs + 1);
    const at = Date.parse(header);
    if (Number.isFinite(at)) return Math.min(Math.max(0, at - now), maxRetryAfterMs + 1);
  }
  return 100 * 2 ** attempt;
}

/** Reads a body up to `limit` bytes; past it the stream is cancelled and context_too_large thrown. */
async function readLimited(response: Response, limit: number, detail: SafeDetail): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw new GatewayError('context_too_large', { detail: { ...detail, source: 'fhir', limitBytes: limit } });
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw new GatewayError('context_too_large', { detail: { ...detail, source: 'fhir', limitBytes: limit } });
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

type AbortCause = 'timeout' | 'client' | undefined;

/**
 * Performs one exchange. Resolves with any final status (the caller interprets 4xx/5xx);
 * rejects with `fhir_timeout`, `fhir_unavailable` (network failure, or 429/503 after the
 * retries), `fhir_bad_response` (a redirect), `context_too_large` or `client_disconnected`.
 */
export async function exchange(http: HttpOptions, url: string, init: RequestInit, budget: CallBudget, detail: SafeDetail): Promise<HttpAnswer> {
  const sleep = http.sleep ?? defaultSleep;
  for (let attempt = 0; ; attempt += 1) {
    if (budget.signal.aborted) throw new GatewayError('client_disconnected');
    const remaining = budget.deadline - http.clock.now();
    if (remaining <= 0) throw new GatewayError('fhir_timeout', { detail: { ...detail, limit: 'deadline' } });
    const controller = new AbortController();
    let cause: AbortCause;
    const timer = setTimeout(() => {
      cause ??= 'timeout';
      controller.abort();
    }, Math.min(http.timeoutMs, remaining));
    const onClientAbort = (): void => {
      cause ??= 'client';
      controller.abort();
    };
    budget.signal.addEventListener('abort', onClientAbort, { once: true });
    try {
      let response: Response;
      try {
        response = await http.fetch(url, { ...init, signal: controller.signal, redirect: 'manual' });
      } catch (err) {
        if (cause === 'client') throw new GatewayError('client_disconnected', { cause: err });
        if (cause === 'timeout') throw new GatewayError('fhir_timeout', { cause: err, detail: { ...detail, limit: 'call' } });
        throw new GatewayError('fhir_unavailable', { cause: err, detail: { ...detail, reason: 'unreachable' } });
      }
      if (response.status >= 300 && response.status < 400) {
        await response.body?.cancel().catch(() => undefined);
        throw new GatewayError('fhir_bad_response', { detail: { ...detail, reason: 'redirect', status: response.status } });
      }
      if (response.status === 429 || response.status === 503) {
        await response.body?.cancel().catch(() => undefined);
        const delay = retryDelayMs(response.headers, attempt, http.clock.now());
        const retryable = attempt < http.maxRetries && delay <= maxRetryAfterMs && http.clock.now() + delay < budget.deadline;
        if (!retryable) throw new GatewayError('fhir_unavailable', { detail: { ...detail, reason: 'overloaded', status: response.status, attempts: attempt + 1 } });
        clearTimeout(timer);
        await sleep(delay, budget.signal);
        continue;
      }
      try {
        const body = await readLimited(response, http.maxResponseBytes, detail);
        return { status: response.status, headers: response.headers, body };
      } catch (err) {
        if (err instanceof GatewayError) throw err;
        if (cause === 'client') throw new GatewayError('client_disconnected', { cause: err });
        if (cause === 'timeout') throw new GatewayError('fhir_timeout', { cause: err, detail: { ...detail, limit: 'call' } });
        throw new GatewayError('fhir_unavailable', { cause: err, detail: { ...detail, reason: 'connection_lost' } });
      }
    } finally {
      clearTimeout(timer);
      budget.signal.removeEventListener('abort', onClientAbort);
    }
  }
}

/** Parses a JSON body; anything but a JSON object is `fhir_bad_response`. */
export function parseJsonObject(answer: HttpAnswer, detail: SafeDetail): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(answer.body);
  } catch {
    throw new GatewayError('fhir_bad_response', { detail: { ...detail, reason: 'invalid_json' } });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new GatewayError('fhir_bad_response', { detail: { ...detail, reason: 'not_an_object' } });
  }
  return json as Record<string, unknown>;
}

/** Whether a content type is JSON (`application/json`, `application/fhir+json`, with parameters). */
export function isJsonContentType(value: string | null): boolean {
  if (value === null) return false;
  const type = value.split(';')[0]?.trim().toLowerCase();
  return type === 'application/json' || type === 'application/fhir+json';
}
