// SPDX-License-Identifier: Apache-2.0
/**
 * Load generator process: runs autocannon against one URL and prints one `LOADJSON {…}`
 * line. It runs apart from the gateways and from the orchestrator. Latencies are recorded
 * from autocannon's per-response event at microsecond resolution, because its own
 * histogram keeps whole milliseconds, too coarse for sub-millisecond added latency.
 *
 * Input (stdin, JSON): `{ url, body, headers, connections, durationSec }`.
 */
import { createRequire } from 'node:module';
import { createHistogram } from 'node:perf_hooks';

interface AutocannonResult {
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
}
interface AutocannonInstance {
  on(event: 'response', listener: (client: unknown, statusCode: number, bytes: number, responseTimeMs: number) => void): void;
}
type Autocannon = (
  options: { url: string; connections: number; duration: number; method: 'POST'; headers: Record<string, string>; body: string; timeout: number },
  done: (error: Error | null, result: AutocannonResult) => void,
) => AutocannonInstance;

interface LoadSpec {
  url: string;
  body: string;
  headers: Record<string, string>;
  connections: number;
  durationSec: number;
}

const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as Autocannon;

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const spec = JSON.parse(Buffer.concat(chunks).toString('utf8')) as LoadSpec;

const histogram = createHistogram({ lowest: 1, highest: 60_000_000, figures: 3 });
let ok = 0;
let non2xx = 0;
const started = process.hrtime.bigint();
const instance = autocannon(
  {
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationSec,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...spec.headers },
    body: spec.body,
    timeout: 10,
  },
  (error, result) => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (error) {
      console.error(`autocannon failed: ${error.message}`);
      process.exit(1);
    }
    const ms = (p: number) => (ok > 0 ? histogram.percentile(p) / 1000 : Number.NaN);
    const figures = { requests: ok, errors: result.errors + result.timeouts + non2xx, durationSec: seconds, rps: ok / seconds, p50Ms: ms(50), p99Ms: ms(99) };
    console.log(`LOADJSON ${JSON.stringify(figures)}`);
  },
);
instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
  if (statusCode >= 200 && statusCode < 300) {
    ok++;
    histogram.record(Math.max(1, Math.round(responseTimeMs * 1000)));
  } else {
    non2xx++;
  }
});
