// SPDX-License-Identifier: Apache-2.0
/**
 * Crash safety: gateways run as child processes under load (a few clients sending chat
 * completions to the echo endpoint) and are killed with SIGKILL at random moments — mostly while
 * serving, some during start-up — and restarted, `kills` times in all over `lanes` independent
 * state folders. Every request answered 200 is remembered with its `x-request-id`. Afterwards
 * each lane's log is verified (chain, columns, signed heads made by the checkpointer while it
 * was being killed) and every acknowledged request must have its completed audit record.
 *
 * The child is bundled once with esbuild (dependencies stay external) so a restart costs a
 * process start, not a TypeScript compile.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { Agent, request } from 'undici';
import { parse, stringify } from 'yaml';
import { loadAuditPublicKeys } from '../../src/audit/checkpoints.js';
import { verifyAuditLog, type VerifyReport } from '../../src/audit/verify.js';
import { loadLocalKeyFileKms } from '../../src/crypto/kms/local-keyfile.js';
import { initHome } from '../../src/main.js';
import { openStore } from '../../src/store/store.js';
import { createRandom } from './synthetic-log.js';

export interface Kill9Options {
  readonly kills: number;
  readonly lanes: number;
  readonly clientsPerLane: number;
  readonly seed: number;
  readonly log?: (line: string) => void;
}

export interface Kill9Figure {
  readonly kills: number;
  readonly killsWhileServing: number;
  readonly acknowledged: number;
  readonly lost: number;
  readonly chainBreaks: number;
  readonly records: number;
  readonly signedHeads: number;
  readonly reports: readonly VerifyReport[];
  readonly elapsedMs: number;
}

const repo = resolve(import.meta.dirname, '../..');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

async function bundleChild(): Promise<{ file: string; cleanup(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'phigate-kill9-bundle-'));
  // External packages resolve through node_modules next to the bundle.
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const file = join(dir, 'gateway-child.mjs');
  await build({ entryPoints: [join(repo, 'bench/audit/gateway-child.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: file, logLevel: 'warning' });
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

interface Lane {
  readonly home: string;
  readonly port: number;
  readonly apiKey: string;
  readonly agent: Agent;
  readonly acknowledged: string[];
  child?: ChildProcess | undefined;
}

async function startLane(): Promise<Lane> {
  const home = join(mkdtempSync(join(tmpdir(), 'phigate-kill9-')), 'state');
  const init = await initHome(home, {});
  const port = await freePort();
  const file = join(home, 'phigate.yaml');
  const config = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, stringify({ ...config, server: { ...(config.server as object), port }, logging: { level: 'silent', accessLog: false } }));
  const agent = new Agent({ connect: { ca: readFileSync(init.caCertPath, 'utf8') }, headersTimeout: 10_000, bodyTimeout: 10_000 });
  return { home, port, apiKey: init.apiKey, agent, acknowledged: [] };
}

function spawnChild(bundle: string, lane: Lane): { child: ChildProcess; ready: Promise<boolean> } {
  const child = spawn(process.execPath, [bundle, lane.home, String(lane.port), '200'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const ready = new Promise<boolean>((done) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('READY')) done(true);
    });
    child.once('exit', () => done(false));
  });
  return { child, ready };
}

async function client(lane: Lane, stop: { stopped: boolean }): Promise<void> {
  let n = 0;
  while (!stop.stopped) {
    try {
      const response = await request(`https://127.0.0.1:${lane.port}/v1/chat/completions`, {
        method: 'POST',
        dispatcher: lane.agent,
        headers: { authorization: `Bearer ${lane.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: `Follow-up note ${n++}: continue current plan.` }] }),
      });
      const body = await response.body.text();
      const id = response.headers['x-request-id'];
      // Acknowledged = the whole 200 answer arrived; only then may the client rely on it.
      if (response.statusCode === 200 && typeof id === 'string' && body.includes('"choices"')) lane.acknowledged.push(id);
    } catch {
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

export async function kill9Figure(options: Kill9Options): Promise<Kill9Figure> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const random = createRandom(options.seed);
  const bundle = await bundleChild();
  const lanes = await Promise.all(Array.from({ length: options.lanes }, () => startLane()));
  const stop = { stopped: false };
  const clients = lanes.flatMap((lane) => Array.from({ length: options.clientsPerLane }, () => client(lane, stop)));
  let kills = 0;
  let killsWhileServing = 0;
  try {
    await Promise.all(
      lanes.map(async (lane, index) => {
        const share = Math.floor(options.kills / options.lanes) + (index < options.kills % options.lanes ? 1 : 0);
        for (let k = 0; k < share; k++) {
          const { child, ready } = spawnChild(bundle.file, lane);
          const exited = new Promise<void>((done) => child.once('exit', () => done()));
          if (random.next() < 0.15) {
            // Some kills land during start-up: migrations, key loading, the first checkpoint.
            await new Promise((r) => setTimeout(r, random.int(1500)));
          } else {
            const up = await ready;
            if (up) killsWhileServing++;
            await new Promise((r) => setTimeout(r, 100 + random.int(900)));
          }
          child.kill('SIGKILL');
          await exited;
          kills++;
          if (kills % 25 === 0) log(`  ${kills} kills, ${lanes.reduce((s, l) => s + l.acknowledged.length, 0)} acknowledged`);
        }
      }),
    );
  } finally {
    stop.stopped = true;
    await Promise.all(clients);
    bundle.cleanup();
  }

  let lost = 0;
  let chainBreaks = 0;
  let records = 0;
  let signedHeads = 0;
  const reports: VerifyReport[] = [];
  for (const lane of lanes) {
    const kms = await loadLocalKeyFileKms(join(lane.home, 'keys/local-kek'));
    const store = await openStore({ url: 'sqlite:phigate.db', baseDir: lane.home, kms });
    try {
      const report = await verifyAuditLog({ db: store.db, publicKeys: await loadAuditPublicKeys(store.db) });
      reports.push(report);
      if (!report.ok) chainBreaks++;
      records += report.records;
      signedHeads += report.headsChecked;
      const completed = new Set<string>();
      for (let i = 0; i < lane.acknowledged.length; i += 500) {
        const rows = await store.db
          .selectFrom('audit_events')
          .select('request_id')
          .where('request_id', 'in', lane.acknowledged.slice(i, i + 500))
          .where('stage', '=', 'completed')
          .where('outcome', '=', 'success')
          .execute();
        for (const row of rows) completed.add(row.request_id);
      }
      lost += lane.acknowledged.filter((id) => !completed.has(id)).length;
    } finally {
      await store.close();
      await lane.agent.close();
      rmSync(resolve(lane.home, '..'), { recursive: true, force: true });
    }
  }
  return {
    kills,
    killsWhileServing,
    acknowledged: lanes.reduce((s, l) => s + l.acknowledged.length, 0),
    lost,
    chainBreaks,
    records,
    signedHeads,
    reports,
    elapsedMs: performance.now() - started,
  };
}
