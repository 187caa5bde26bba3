// SPDX-License-Identifier: Apache-2.0
/**
 * `npm run bench:gateway`: the gateway overhead benchmark (issue 2, item 11). Starts a mock
 * upstream and the targets on loopback, sends the same load to each (interleaved rounds,
 * target order rotated per round), samples each gateway's CPU from /proc around every cell,
 * probes time to first byte sequentially, then prints a markdown report and writes JSON to
 * `bench/gateway/results/<timestamp>/`. Knobs are environment variables (see options.ts and
 * README.md); SMOKE=1 is a quick wiring check.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBody, isStreamBody } from './bodies.js';
import { createChildRegistry } from './children.js';
import { hasWrk, runLoad } from './load.js';
import { MOCK_COMPLETION_TEXT } from './mock-upstream.js';
import { estimateMinutes, OptionsError, parseOptions } from './options.js';
import type { BenchOptions, BodyName, TargetName } from './options.js';
import { readCpuMs, readRssMb } from './procstat.js';
import { renderMarkdown, summarizeCells } from './summarize.js';
import type { CellResult, RunHeader, TtfbResult } from './summarize.js';
import { BENCH_MODEL, removeTempHomesSync, startTarget } from './targets.js';
import type { RunningTarget } from './targets.js';
import { probeTtfb, sendOnce } from './ttfb.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const say = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let options: BenchOptions;
try {
  options = parseOptions(process.env);
} catch (error) {
  if (error instanceof OptionsError) {
    say(`bench:gateway: ${error.message}`);
    process.exit(2);
  }
  throw error;
}
if (options.loadgen === 'wrk' && !hasWrk()) {
  say('bench:gateway: LOADGEN=wrk but wrk is not on PATH (apt-get install wrk), or leave LOADGEN unset for autocannon');
  process.exit(2);
}

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const outDir = join(HERE, 'results', stamp);
mkdirSync(outDir, { recursive: true });
const registry = createChildRegistry(join(outDir, 'servers.log'));
const running: RunningTarget[] = [];

let stopping = false;
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await Promise.allSettled(running.map((target) => target.stop()));
    await registry.stopAll();
    removeTempHomesSync();
  }
  process.exit(code);
}
process.on('exit', () => {
  registry.killAllSync();
  removeTempHomesSync();
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    say(`\nbench:gateway: ${signal}, stopping every child process`);
    void shutdown(130);
  });
}
const deadline = Date.now() + options.maxMinutes * 60_000;
// Past the deadline the loop stops starting cells; this is the backstop if a step hangs.
const hardStop = setTimeout(() => {
  say(`bench:gateway: still running ${options.maxMinutes + 2} min after start (MAX_MINUTES), aborting`);
  void shutdown(3);
}, (options.maxMinutes + 2) * 60_000);
hardStop.unref();

say(
  `bench:gateway: targets ${options.targets.join(' ')}; bodies ${options.bodies.join(' ')}; concurrency ${options.concurrencies.join(' ')}; ` +
    `${options.rounds} round(s) × ${options.durationSec} s per cell (~${estimateMinutes(options).toFixed(1)} min of load, at most ${options.maxMinutes} min); load: ${options.loadgen}`,
);
say(`bench:gateway: writing to ${outDir}`);

const mock = registry.spawn('mock', process.execPath, ['--import', 'tsx', join(HERE, 'mock-upstream.ts'), '0'], { cwd: join(HERE, '..', '..') });
const mockPort = Number((await mock.waitForLine(/^LISTENING (\d+)$/m, 30_000).catch(async () => {
  say(`bench:gateway: the mock upstream did not start: ${mock.tail().trim().slice(-300)}`);
  return shutdown(1);
}))[1]);

const gatewayNodeFlags = options.profile ? ['--cpu-prof', '--cpu-prof-dir', join(outDir, 'profiles')] : [];
if (options.profile) say(`bench:gateway: PROFILE=1, gateways write CPU profiles to ${join(outDir, 'profiles')} on exit (figures are slowed by the profiler)`);
const unavailable: { target: TargetName; problem: string }[] = [];
for (const name of options.targets) {
  say(`starting ${name} …`);
  const started = await startTarget(name, { registry, mockPort, say, phigateCli: options.phigateCli, gatewayNodeFlags });
  if (started.ok) {
    running.push(started.target);
    say(`  ${name}: ${started.target.detail} at ${started.target.url}`);
  } else {
    unavailable.push({ target: name, problem: `could not start: ${started.reason}` });
    say(`  ${name} could not start: ${started.reason}`);
  }
}

const bodies = new Map<BodyName, string>(options.bodies.map((name) => [name, buildBody(name, BENCH_MODEL)]));
const bodyOf = (name: BodyName) => bodies.get(name) as string;

// Every target must return the mock's answer for every body before anything is measured.
for (const target of [...running]) {
  for (const name of options.bodies) {
    let problem: string | undefined;
    try {
      const answer = await sendOnce({ url: target.url, body: bodyOf(name), headers: target.headers });
      const expected = isStreamBody(name) ? '[DONE]' : MOCK_COMPLETION_TEXT;
      if (answer.status !== 200) problem = `HTTP ${answer.status} for body ${name}: ${answer.body.slice(0, 200)}`;
      else if (!answer.body.includes(expected)) problem = `answer for body ${name} lacks the mock's ${isStreamBody(name) ? 'stream end' : 'completion'}`;
      writeFileSync(join(outDir, `sample-${target.name}-${name}.txt`), answer.body);
    } catch (error) {
      problem = `body ${name}: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (problem) {
      say(`  ${target.name} failed its sanity check: ${problem}`);
      unavailable.push({ target: target.name, problem: `failed its sanity check: ${problem}` });
      running.splice(running.indexOf(target), 1);
      await target.stop();
      break;
    }
  }
}
if (!running.some((target) => target.name === 'direct')) {
  say('bench:gateway: the direct baseline does not work; nothing to compare against');
  await shutdown(1);
}

if (options.warmupSec > 0) {
  say(`warming up (${options.warmupSec} s per target, not recorded) …`);
  for (const target of running) {
    await runLoad(registry, options.loadgen, { url: target.url, body: bodyOf(options.bodies[0] as BodyName), headers: target.headers, connections: 16, durationSec: options.warmupSec }, outDir).catch((error: unknown) =>
      say(`  warm-up of ${target.name} failed: ${error instanceof Error ? error.message : String(error)}`),
    );
  }
}

const cells: CellResult[] = [];
const cellsFile = join(outDir, 'cells.jsonl');
let cellNo = 0;
const totalCells = options.rounds * options.bodies.length * options.concurrencies.length * running.length;
let cutShort = false;
rounds: for (let round = 1; round <= options.rounds; round++) {
  for (const body of options.bodies) {
    for (const concurrency of options.concurrencies) {
      const order = running.map((_, i) => running[(i + round - 1) % running.length] as RunningTarget);
      for (const target of order) {
        if (Date.now() > deadline || stopping) {
          cutShort = true;
          break rounds;
        }
        cellNo++;
        if (!running.includes(target)) continue;
        const gw0 = target.pid === null ? null : readCpuMs(target.pid);
        if (target.pid !== null && gw0 === null) {
          say(`[${cellNo}/${totalCells}] ${target.name} is no longer running; dropping it from the rest of the run`);
          unavailable.push({ target: target.name, problem: 'exited during the run; later cells are missing (see servers.log)' });
          running.splice(running.indexOf(target), 1);
          continue;
        }
        const mock0 = readCpuMs(mock.pid);
        try {
          const figures = await runLoad(registry, options.loadgen, { url: target.url, body: bodyOf(body), headers: target.headers, connections: concurrency, durationSec: options.durationSec }, outDir);
          const gw1 = target.pid === null ? null : readCpuMs(target.pid);
          const mock1 = readCpuMs(mock.pid);
          const cell: CellResult = {
            target: target.name,
            body,
            concurrency,
            round,
            ...figures,
            gatewayCpuMs: gw0 !== null && gw1 !== null ? gw1 - gw0 : null,
            mockCpuMs: mock0 !== null && mock1 !== null ? mock1 - mock0 : 0,
            gatewayRssMb: target.pid === null ? null : readRssMb(target.pid),
          };
          cells.push(cell);
          appendFileSync(cellsFile, `${JSON.stringify(cell)}\n`);
          const cpu = cell.gatewayCpuMs !== null && cell.requests > 0 ? ` cpu/req=${Math.round((cell.gatewayCpuMs * 1000) / cell.requests)}µs` : '';
          say(`[${cellNo}/${totalCells}] round ${round} ${body} c=${concurrency} ${target.name}: rps=${cell.rps.toFixed(0)} p50=${cell.p50Ms.toFixed(3)}ms p99=${cell.p99Ms.toFixed(3)}ms errors=${cell.errors}${cpu}`);
        } catch (error) {
          if (stopping) break rounds;
          say(`[${cellNo}/${totalCells}] round ${round} ${body} c=${concurrency} ${target.name}: ${error instanceof Error ? error.message : String(error)}`);
        }
        await sleep(500);
      }
    }
  }
}
if (cutShort) say(`bench:gateway: MAX_MINUTES (${options.maxMinutes}) reached; summarising the cells measured so far`);

const ttfb: TtfbResult[] = [];
if (options.ttfbRequests > 0 && !cutShort && !stopping) {
  say(`sequential probe: ${options.ttfbRequests} requests per target and body …`);
  for (const body of options.bodies) {
    for (const target of running) {
      try {
        const figures = await probeTtfb({ url: target.url, body: bodyOf(body), headers: target.headers }, options.ttfbRequests);
        ttfb.push({ target: target.name, body, ...figures });
        say(`  ttfb ${body} ${target.name}: p50=${figures.ttfbP50Ms.toFixed(3)}ms p99=${figures.ttfbP99Ms.toFixed(3)}ms`);
      } catch (error) {
        say(`  ttfb ${body} ${target.name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  writeFileSync(join(outDir, 'ttfb.json'), `${JSON.stringify(ttfb, null, 2)}\n`);
}

const cpuModel = cpus()[0]?.model.trim() ?? 'unknown';
// The audit commit's fsync makes the state folder's file system part of phigate's figures.
const stateFs = spawnSync('stat', ['-f', '-c', '%T', tmpdir()], { encoding: 'utf8' }).stdout?.trim() || 'unknown';
const header: RunHeader = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpuModel,
  loadgen: options.loadgen === 'wrk' ? 'wrk (1 thread)' : `autocannon ${(JSON.parse(readFileSync(join(HERE, '..', '..', 'node_modules', 'autocannon', 'package.json'), 'utf8')) as { version: string }).version} (own process)`,
  settings:
    `targets: ${running.map((t) => `${t.name} (${t.detail})`).join(', ')} · ${options.rounds} round(s) × ${options.durationSec} s · concurrency ${options.concurrencies.join('/')} · ` +
    `bodies ${options.bodies.join(', ')} · probe ${options.ttfbRequests}/target/body${options.smoke ? ' · SMOKE' : ''}${options.profile ? ' · PROFILE (slowed by the profiler)' : ''}` +
    (running.some((t) => t.name === 'phigate') ? ` · phigate state in ${tmpdir()} (${stateFs})` : ''),
  loadavg: loadavg()
    .map((v) => v.toFixed(2))
    .join(' '),
  unavailable,
};
const summaries = summarizeCells(cells);
const markdown = renderMarkdown(header, summaries, ttfb, options.targets);
writeFileSync(join(outDir, 'summary.md'), `${markdown}\n`);
writeFileSync(join(outDir, 'summary.json'), `${JSON.stringify({ header, options, summaries, ttfb }, null, 2)}\n`);
process.stdout.write(`${markdown}\n`);
say(`bench:gateway: results in ${outDir}`);
await shutdown(0);
