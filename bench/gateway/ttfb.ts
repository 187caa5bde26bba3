// SPDX-License-Identifier: Apache-2.0
/**
 * Sequential requests over one keep-alive connection, timing the first response byte apart
 * from the whole response: a load generator sees only the whole, which hides a gateway that
 * holds back the first streamed chunk.
 */
import { Agent, request } from 'node:http';
import { percentile } from './summarize.js';

/** What one request saw. */
export interface Exchange {
  readonly status: number;
  readonly ttfbMs: number;
  readonly totalMs: number;
  readonly body: string;
}

/** Where and what to send. Loopback URLs only. */
export interface RequestSpec {
  readonly url: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

function assertLoopback(url: URL): void {
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) throw new Error('refusing a non-loopback URL');
}

/** Sends one POST and times it. `keepBody` false skips collecting the answer text. */
export function exchange(spec: RequestSpec, agent: Agent, keepBody: boolean, timeoutMs = 10_000): Promise<Exchange> {
  const url = new URL(spec.url);
  assertLoopback(url);
  const body = Buffer.from(spec.body);
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    let first = 0n;
    const parts: Buffer[] = [];
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: 'POST',
        agent,
        timeout: timeoutMs,
        headers: { 'content-type': 'application/json', 'content-length': body.length, ...spec.headers },
      },
      (res) => {
        res.on('data', (part: Buffer) => {
          if (first === 0n) first = process.hrtime.bigint();
          if (keepBody) parts.push(part);
        });
        res.on('end', () => {
          const end = process.hrtime.bigint();
          if (first === 0n) first = end;
          resolve({ status: res.statusCode ?? 0, ttfbMs: Number(first - started) / 1e6, totalMs: Number(end - started) / 1e6, body: Buffer.concat(parts).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** One request on a fresh connection, answer text kept: the sanity check before measuring. */
export async function sendOnce(spec: RequestSpec): Promise<Exchange> {
  const agent = new Agent({ keepAlive: false });
  try {
    return await exchange(spec, agent, true);
  } finally {
    agent.destroy();
  }
}

/** Probe figures in milliseconds. */
export interface ProbeFigures {
  readonly n: number;
  readonly non200: number;
  readonly ttfbP50Ms: number;
  readonly ttfbP99Ms: number;
  readonly totalP50Ms: number;
  readonly totalP99Ms: number;
}

/** `count` sequential requests (after up to 20 unrecorded ones) over one keep-alive connection. */
export async function probeTtfb(spec: RequestSpec, count: number): Promise<ProbeFigures> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < Math.min(20, count); i++) await exchange(spec, agent, false);
    const ttfb: number[] = [];
    const total: number[] = [];
    let non200 = 0;
    for (let i = 0; i < count; i++) {
      const result = await exchange(spec, agent, false);
      if (result.status !== 200) non200++;
      ttfb.push(result.ttfbMs);
      total.push(result.totalMs);
    }
    return { n: count, non200, ttfbP50Ms: percentile(ttfb, 50), ttfbP99Ms: percentile(ttfb, 99), totalP50Ms: percentile(total, 50), totalP99Ms: percentile(total, 99) };
  } finally {
    agent.destroy();
  }
}
