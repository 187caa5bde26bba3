// SPDX-License-Identifier: Apache-2.0
/**
 * The HTTP layer every network adapter shares: one undici `Pool` per endpoint origin (far
 * cheaper in CPU per request than the global fetch), per-call deadlines and cancellation,
 * and retries with exponential backoff and jitter on 429, 408, 5xx and connection failures —
 * only before anything has been handed to the caller.
 *
 * With an egress proxy configured (`egress.proxyUrl`), every connection goes through it
 * instead: an undici `ProxyAgent` tunnels HTTPS origins with CONNECT and sends plain-HTTP
 * requests (loopback and self-hosted endpoints) to the proxy in absolute form, so the proxy
 * sees every destination the gateway talks to.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, ProxyAgent } from 'undici';
import type { Dispatcher } from 'undici';
import { GatewayError } from '../../kernel/errors.js';
import type { CallOptions } from '../provider.js';
import { badResponse, errorForStatus, providerError, retryHintOf } from './errors.js';

/** Largest vendor answer read into memory for a non-streaming call. */
const maxBufferedBytes = 32 * 1024 * 1024;

export interface UpstreamOptions {
  /** Origin plus optional path prefix, e.g. `https://api.openai.com/v1`. */
  readonly baseUrl: string;
  /** Open connections kept per origin. */
  readonly connections: number;
  /** Longest wait for response headers, and longest silence between streamed chunks. */
  readonly timeoutMs: number;
  readonly maxRetries: number;
  /** First backoff step; doubled per attempt, with jitter. Default 250 ms. */
  readonly retryBaseDelayMs?: number | undefined;
  /** Backoff ceiling; a vendor retry-after beyond it ends the call instead. Default 8 s. */
  readonly retryMaxDelayMs?: number | undefined;
  /** Source of jitter in [0, 1); injectable for tests. */
  readonly random?: (() => number) | undefined;
  /** An http(s):// forward proxy every connection goes through; direct when absent. */
  readonly proxyUrl?: string | undefined;
}

/**
 * A dispatcher that sends everything through the forward proxy at `proxyUrl`: CONNECT tunnels
 * for HTTPS origins, absolute-form requests for plain-HTTP ones (which the proxy can then log).
 */
export function createProxyDispatcher(proxyUrl: string, connections: number): Dispatcher {
  return new ProxyAgent({ uri: proxyUrl, connections, proxyTunnel: false });
}

export interface UpstreamRequest {
  readonly method: 'GET' | 'POST';
  /** Path below the base URL's path, with query string. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | undefined;
}

/** Prepares one attempt; called again on every retry so signatures and tokens stay fresh. */
export type PrepareRequest = () => UpstreamRequest | Promise<UpstreamRequest>;

/**
 * One provider call's cancellation scope: aborted by the caller's signal or when the deadline
 * passes, and able to say which of the two happened when an I/O error surfaces.
 */
export class CallScope {
  readonly signal: AbortSignal;
  readonly deadlineMs: number;
  readonly #controller = new AbortController();
  readonly #caller: AbortSignal;
  readonly #timer: NodeJS.Timeout;
  #deadlineHit = false;
  #expired = false;
  readonly #onCallerAbort = (): void => this.#controller.abort(this.#caller.reason);

  constructor(call: CallOptions, limitMs?: number) {
    this.#caller = call.signal;
    this.signal = this.#controller.signal;
    this.deadlineMs = limitMs === undefined ? call.deadlineMs : Math.min(call.deadlineMs, Date.now() + limitMs);
    if (call.signal.aborted) this.#controller.abort(call.signal.reason);
    else call.signal.addEventListener('abort', this.#onCallerAbort, { once: true });
    this.#timer = setTimeout(() => {
      this.#deadlineHit = true;
      this.#controller.abort(new Error('deadline passed'));
    }, Math.max(0, this.deadlineMs - Date.now()));
    // Open sockets keep the process alive while a call is in flight; this timer need not.
    this.#timer.unref();
  }

  /** Ends the call as timed out: the vendor did not answer within the endpoint's timeout. */
  expire(): void {
    if (this.signal.aborted) return;
    this.#expired = true;
    this.#controller.abort(new Error('upstream timeout'));
  }

  /** Milliseconds left before the deadline. */
  remainingMs(): number {
    return this.deadlineMs - Date.now();
  }

  /** Turns whatever an attempt threw into a `provider_*` GatewayError. */
  classify(err: unknown): GatewayError {
    if (this.#deadlineHit || (this.signal.aborted && this.remainingMs() <= 0)) {
      return err instanceof GatewayError && err.code === 'provider_timeout' ? err : providerError('provider_timeout', { reason: 'deadline', cause: err });
    }
    if (this.#expired) return providerError('provider_timeout', { reason: 'upstream_timeout', cause: err });
    if (this.#caller.aborted) return providerError('provider_unavailable', { reason: 'cancelled', cause: err });
    if (err instanceof GatewayError) return err;
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
      return providerError('provider_timeout', { reason: 'upstream_timeout', cause: err });
    }
    if (code === 'UND_ERR_CONNECT_TIMEOUT') return providerError('provider_unavailable', { reason: 'connect_timeout', retryable: true, cause: err });
    return providerError('provider_unavailable', { reason: 'connection_failed', retryable: true, cause: err });
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#caller.removeEventListener('abort', this.#onCallerAbort);
  }
}

export interface Upstream {
  /** Sends prepared requests until one answers 2xx, and returns its body parsed as JSON (`unknown`). */
  json(scope: CallScope, prepare: PrepareRequest): Promise<unknown>;
  /**
   * Opens a streaming response and yields raw body chunks. Adapters wrap the translated
   * stream in `retryingStream` so a failure before their first yield is retried.
   */
  stream(scope: CallScope, prepare: PrepareRequest): AsyncGenerator<Buffer>;
  /** Runs `attempt` with the endpoint's retry policy. */
  withRetries<T>(scope: CallScope, attempt: (n: number) => Promise<T>): Promise<T>;
  /** Repeats `run` while it fails before yielding anything, per the endpoint's retry policy. */
  retryingStream<T>(scope: CallScope, run: (n: number) => AsyncIterable<T>): AsyncGenerator<T>;
  /** The egress proxy's dispatcher, for an adapter's side requests (token exchanges); undefined when direct. */
  readonly proxy: Dispatcher | undefined;
  close(): Promise<void>;
}

/** Creates the pooled client for one endpoint. */
export function createUpstream(options: UpstreamOptions): Upstream {
  const base = new URL(options.baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  const proxy = options.proxyUrl === undefined ? undefined : createProxyDispatcher(options.proxyUrl, options.connections);
  const pool: Dispatcher = proxy ?? new Pool(base.origin, { connections: options.connections });
  const random = options.random ?? Math.random;
  const baseDelay = options.retryBaseDelayMs ?? 250;
  const maxDelay = options.retryMaxDelayMs ?? 8_000;

  async function send(scope: CallScope, prepare: PrepareRequest): Promise<Dispatcher.ResponseData> {
    const request = await prepare();
    const remaining = scope.remainingMs();
    if (remaining <= 0) throw providerError('provider_timeout', { reason: 'deadline' });
    let response: Dispatcher.ResponseData;
    // undici's own timers are coarse (up to a second late); this one bounds time to headers.
    const headersTimer = setTimeout(() => scope.expire(), Math.min(options.timeoutMs, remaining));
    try {
      response = await pool.request({
        // An agent serves many origins and needs to be told which; a pool is bound to one.
        ...(proxy === undefined ? {} : { origin: base.origin }),
        path: basePath + request.path,
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal: scope.signal,
        headersTimeout: options.timeoutMs + 1_000,
        bodyTimeout: options.timeoutMs,
      });
    } catch (err) {
      throw scope.classify(err);
    } finally {
      clearTimeout(headersTimer);
    }
    if (response.statusCode >= 300) {
      // Vendor error bodies can echo prompt text; they are drained, never kept.
      await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      throw errorForStatus(response.statusCode, response.headers);
    }
    return response;
  }

  function delayBefore(scope: CallScope, attempt: number, err: GatewayError): number | undefined {
    const hint = retryHintOf(err);
    if (!hint.retryable || attempt >= options.maxRetries) return undefined;
    const ceiling = Math.min(maxDelay, baseDelay * 2 ** attempt);
    // Equal jitter: never zero, never in lock-step with other gateway instances.
    const backoff = ceiling / 2 + random() * (ceiling / 2);
    // A vendor asking for a longer pause than our ceiling is better told to the caller (its
    // retry-after travels on the error) than waited out while a client holds a connection.
    if (hint.retryAfterMs !== undefined && hint.retryAfterMs > maxDelay) return undefined;
    const wait = hint.retryAfterMs ?? backoff;
    return Date.now() + wait >= scope.deadlineMs ? undefined : wait;
  }

  async function pause(scope: CallScope, ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: scope.signal });
    } catch (err) {
      throw scope.classify(err);
    }
  }

  async function withRetries<T>(scope: CallScope, attempt: (n: number) => Promise<T>): Promise<T> {
    for (let n = 0; ; n++) {
      try {
        return await attempt(n);
      } catch (err) {
        const mapped = scope.classify(err);
        const wait = delayBefore(scope, n, mapped);
        if (wait === undefined) throw mapped;
        await pause(scope, wait);
      }
    }
  }

  async function* retryingStream<T>(scope: CallScope, run: (n: number) => AsyncIterable<T>): AsyncGenerator<T> {
    for (let n = 0; ; n++) {
      let yielded = false;
      try {
        for await (const item of run(n)) {
          yielded = true;
          yield item;
        }
        return;
      } catch (err) {
        const mapped = scope.classify(err);
        const wait = yielded ? undefined : delayBefore(scope, n, mapped);
        if (wait === undefined) throw mapped;
        await pause(scope, wait);
      }
    }
  }

  return {
    json: (scope, prepare) =>
      withRetries(scope, async () => {
        const response = await send(scope, prepare);
        let text: string;
        try {
          const buffer = await readLimited(response.body, maxBufferedBytes);
          text = buffer.toString('utf8');
        } catch (err) {
          throw err instanceof GatewayError ? err : scope.classify(err);
        }
        try {
          return JSON.parse(text) as unknown;
        } catch {
          throw badResponse('invalid_json');
        }
      }),
    async *stream(scope, prepare) {
      const response = await send(scope, prepare);
      const chunks = response.body[Symbol.asyncIterator]();
      try {
        for (;;) {
          // An idle limit that runs only while waiting on the vendor, never while the caller
          // holds a chunk (a slow client is not a slow vendor).
          const idle = setTimeout(() => scope.expire(), options.timeoutMs);
          let next: IteratorResult<unknown>;
          try {
            next = await chunks.next();
          } finally {
            clearTimeout(idle);
          }
          if (next.done) return;
          yield next.value as Buffer;
        }
      } catch (err) {
        throw scope.classify(err);
      } finally {
        if (!response.body.destroyed) response.body.destroy();
      }
    },
    withRetries,
    retryingStream,
    proxy,
    close: () => pool.close(),
  };
}

async function readLimited(body: AsyncIterable<unknown>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) throw badResponse('response_too_large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** Joins a base URL's path and a relative path with exactly one slash. */
export function joinPath(...parts: readonly string[]): string {
  return parts.map((part, index) => (index === 0 ? part.replace(/\/+$/, '') : part.replace(/^\/+|\/+$/g, ''))).join('/');
}
