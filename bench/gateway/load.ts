// SPDX-License-Identifier: Apache-2.0
/**
 * Runs one load cell in a separate process (autocannon through `load-worker.ts`, or wrk with
 * `post.lua`) and returns its figures. The load generator never shares a process with a
 * gateway, and each cell is bounded: a generator still running well past the cell's
 * duration is killed.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ChildRegistry } from './children.js';
import type { LoadgenName } from './options.js';

/** One cell's load. */
export interface LoadSpec {
  readonly url: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly connections: number;
  readonly durationSec: number;
}

/** What the load generator measured; latencies of successful responses only. */
export interface LoadFigures {
  readonly requests: number;
  readonly errors: number;
  readonly durationSec: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

const WORKER = fileURLToPath(new URL('./load-worker.ts', import.meta.url));
const LUA = fileURLToPath(new URL('./post.lua', import.meta.url));

/** Whether `wrk` is on PATH. */
export function hasWrk(): boolean {
  return spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;
}

/** Runs one cell with the chosen generator. `scratchDir` holds wrk's body file. */
export async function runLoad(registry: ChildRegistry, loadgen: LoadgenName, spec: LoadSpec, scratchDir: string): Promise<LoadFigures> {
  const child =
    loadgen === 'wrk'
      ? (() => {
          const bodyFile = `${scratchDir}/body-${Buffer.byteLength(spec.body)}.json`;
          writeFileSync(bodyFile, spec.body);
          const headers = Object.entries(spec.headers)
            .map(([name, value]) => `${name}: ${value}`)
            .join('|');
          return registry.spawn('wrk', 'wrk', ['-t1', `-c${spec.connections}`, `-d${spec.durationSec}s`, '--timeout', '10s', '-s', LUA, spec.url], {
            env: { ...process.env, BODY_FILE: bodyFile, GW_HEADERS: headers },
          });
        })()
      : registry.spawn('autocannon', process.execPath, ['--import', 'tsx', WORKER], { stdin: JSON.stringify(spec) });
  const killer = setTimeout(() => void child.stop(1000), (spec.durationSec + 30) * 1000);
  try {
    const code = await child.exited;
    const line = /^(?:LOADJSON|WRKJSON) (\{.*\})$/m.exec(child.stdout());
    if (!line?.[1]) throw new Error(`${loadgen} failed (exit ${String(code)}): ${child.tail().trim().slice(-300)}`);
    const raw = JSON.parse(line[1]) as { requests: number; errors: number; durationSec: number; p50Ms: number; p99Ms: number; rps?: number };
    return { ...raw, rps: raw.rps ?? raw.requests / raw.durationSec };
  } finally {
    clearTimeout(killer);
  }
}
