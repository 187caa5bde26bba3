// SPDX-License-Identifier: Apache-2.0
/**
 * `npm run bench:audit`: the tamper-evidence and crash-safety figures of the audit log, printed
 * as a markdown table and written to bench/audit/results/. See README.md for what each measures.
 *
 * Environment: KILLS (300), LANES (3), CLIENTS (3 per lane), MUTATIONS (10000), MUTATION_LOG
 * (20000 records), RECORDS (1000000 for throughput), SEED (1), SKIP (comma list of
 * kill9,bytes,mutations,alarms,throughput,failclosed).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { kill9Figure } from './kill9.js';
import { falseAlarmFigure, randomMutationFigure, singleByteFigure, type DetectionFigure } from './mutations.js';
import { throughputFigure } from './throughput.js';

const env = process.env;
const num = (name: string, fallback: number): number => (env[name] === undefined ? fallback : Number(env[name]));
const skip = new Set((env.SKIP ?? '').split(',').filter(Boolean));
const seed = num('SEED', 1);
const repo = resolve(import.meta.dirname, '../..');
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const rows: [string, string, string][] = [];
const raw: Record<string, unknown> = {};
const pct = (a: number, b: number): string => (b === 0 ? 'n/a' : `${((100 * a) / b).toFixed(a === b ? 0 : 3)}%`);
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

function detectionRow(name: string, f: DetectionFigure): void {
  const kinds = Object.entries(f.byKind)
    .map(([k, v]) => `${k} ${v.detected}/${v.cases}`)
    .join(', ');
  rows.push([name, `${pct(f.detected, f.cases)} detected (${fmt(f.detected)}/${fmt(f.cases)})`, `${kinds}; cross-checked from record 1: ${f.crossChecked}, mismatches ${f.crossCheckMismatches}; ${secs(f.elapsedMs)}`]);
}

if (!skip.has('bytes')) {
  log('single-byte changes of a 100-record log…');
  const f = singleByteFigure();
  raw.singleByte = f;
  detectionRow('verify: every single-byte change (body, prev_hash, hash) of a 100-record log', f);
}
if (!skip.has('mutations')) {
  const count = num('MUTATIONS', 10_000);
  const size = num('MUTATION_LOG', 20_000);
  log(`${count} random mutations of a ${size}-record log…`);
  const f = randomMutationFigure(count, size, 100, seed);
  raw.mutations = f;
  detectionRow(`verify: ${fmt(count)} random mutations of a ${fmt(size)}-record log (heads every 100)`, f);
}
if (!skip.has('alarms')) {
  log('intact logs…');
  const f = falseAlarmFigure(num('INTACT_LOGS', 200), seed);
  raw.falseAlarms = f;
  rows.push(['verify: false alarms on intact logs', `${f.falseAlarms} of ${f.logs} logs`, `${fmt(f.records)} records, random sizes and head intervals`]);
}
if (!skip.has('throughput')) {
  const records = num('RECORDS', 1_000_000);
  log(`verify throughput on ${fmt(records)} records in SQLite…`);
  const f = await throughputFigure(records, log);
  raw.throughput = { ...f, report: { ok: f.report.ok, failure: f.report.failure, records: f.report.records } };
  rows.push([
    `verify throughput, ${fmt(records)} records (SQLite, ${fmt(f.databaseBytes / 1e6)} MB)`,
    `${fmt(f.verifyRecordsPerMinute)} records/min (${f.report.ok ? 'intact' : 'FAILED'})`,
    `${secs(f.verifyMs)}; peak RSS ${fmt(f.peakRssBytes / 1e6)} MB; signing one head over the whole log: ${fmt(f.checkpointRecordsPerMinute)} records/min`,
  ]);
}
if (!skip.has('failclosed')) {
  log('fail-closed tests through the gateway…');
  const dir = mkdtempSync(join(tmpdir(), 'phigate-bench-fc-'));
  const out = join(dir, 'results.json');
  try {
    await promisify(execFile)(process.execPath, [join(repo, 'node_modules/vitest/vitest.mjs'), 'run', 'test/integration/audit-fail-closed.int.test.ts', '--reporter=json', `--outputFile=${out}`], {
      cwd: repo,
    }).catch(() => undefined);
    const results = JSON.parse(readFileSync(out, 'utf8')) as { testResults: { assertionResults: { title: string; status: string }[] }[] };
    const tests = results.testResults.flatMap((r) => r.assertionResults);
    raw.failClosed = tests;
    for (const t of tests) {
      rows.push([`fail closed: ${t.title.replace(/: 503, nothing forwarded$/, '').replace(/: 503 within the timeout, nothing forwarded$/, '')}`, t.status === 'passed' ? '503 audit_unavailable, 0 forwarded' : t.status === 'skipped' ? 'skipped' : 'FAILED', 'test/integration/audit-fail-closed.int.test.ts']);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
if (!skip.has('kill9')) {
  const kills = num('KILLS', 300);
  log(`kill -9 under load, ${kills} kills…`);
  const f = await kill9Figure({ kills, lanes: num('LANES', 3), clientsPerLane: num('CLIENTS', 3), seed, log });
  raw.kill9 = { ...f, reports: f.reports.map((r) => ({ ok: r.ok, failure: r.failure, records: r.records })) };
  rows.push([
    `kill -9 under load: ${f.kills} kills (${f.killsWhileServing} while serving)`,
    `${f.lost} acknowledged records lost, ${f.chainBreaks} chain breaks`,
    `${fmt(f.acknowledged)} acknowledged requests, ${fmt(f.records)} records, ${f.signedHeads} signed heads verified; ${secs(f.elapsedMs)}`,
  ]);
}

const table = ['| figure | result | detail |', '|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
process.stdout.write(`\n## phigate audit figures\n\n${table}\n`);
const resultsDir = join(import.meta.dirname, 'results');
mkdirSync(resultsDir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
writeFileSync(join(resultsDir, `audit-${stamp}.md`), `${table}\n`);
writeFileSync(join(resultsDir, `audit-${stamp}.json`), `${JSON.stringify(raw, null, 2)}\n`);
