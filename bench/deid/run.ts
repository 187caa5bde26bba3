// SPDX-License-Identifier: Apache-2.0
/**
 * `npm run bench:deid` — recall, precision, PHI-free documents touched and throughput of the
 * detection engine on every JSONL in ../shared/data/deid (read in place) and on the English
 * clinical development set built by dev-set.ts; the best npm peer runs beside it as a yardstick.
 *
 * Options: --limit N (docs per data set), --warmup N (default 50), --no-peer, --only NAME (data
 * set name prefix), --json OUT, --write-dev DIR (save the generated dev set as JSONL there),
 * --repeat N (timing passes; each document's time is its fastest, CPU time the fastest pass's).
 */
import { readFileSync, readdirSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDeidEngine, type DeidEngine } from '../../src/deid/detect.js';
import { buildDevSet, type Doc } from './dev-set.js';
import { Categories, newAcc, prepare, scoreDoc, type Acc, type Prepared } from './score.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = resolve(here, '..', '..');
const sharedData = process.env.PHIGATE_SHARED_DATA ?? resolve(repoRoot, '..', 'shared', 'data');

const args = process.argv.slice(2);
function opt(name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}
const limit = Number(opt('--limit') ?? 0);
const warmup = Number(opt('--warmup') ?? 50);
const only = opt('--only');
const jsonOut = opt('--json');
const writeDev = opt('--write-dev');
const withPeer = !args.includes('--no-peer');
/** Timing passes per data set; each document's time is its fastest pass (steadier on a shared machine). */
const repeat = Math.max(1, Number(opt('--repeat') ?? 1));

/** The peer with the highest Safe Harbor token recall on ../shared/peers/deid (openredaction 1.1.5, defaults). */
const peerName = 'openredaction';
type SpanList = [number, number, string?][];
interface Runner { name: string; run(text: string, language: 'en' | 'es'): SpanList | Promise<SpanList> }

async function loadPeer(): Promise<Runner | undefined> {
  const peerDir = resolve(here, 'peer');
  const require = createRequire(resolve(peerDir, 'package.json'));
  let entry: string;
  try {
    entry = require.resolve('openredaction');
  } catch {
    console.log(`peer ${peerName}: not installed — run \`npm ci --prefix bench/deid/peer\` to include it; continuing without it\n`);
    return undefined;
  }
  const mod = (await import(entry)) as { OpenRedaction: new (o: object) => { detect(t: string): Promise<{ detections: { position: [number, number] }[] }> } };
  const r = new mod.OpenRedaction({});
  return {
    name: peerName,
    async run(text) {
      const out = await r.detect(text);
      return out.detections.map((d) => [d.position[0], d.position[1]] as [number, number]);
    },
  };
}

function readJsonl(path: string): Doc[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Doc);
}

interface Result {
  runner: string;
  acc: Acc;
  times: number[];
  bytes: number;
  docs: number;
  /** Process CPU time inside the detector calls: a steadier figure than wall time on a shared machine. */
  cpuMs: number;
}

async function measure(runner: Runner, prepared: Prepared[], language: 'en' | 'es'): Promise<Result> {
  const acc = newAcc();
  for (let i = 0; i < Math.min(warmup, prepared.length); i++) await runner.run(prepared[i]?.doc.text ?? '', language);
  const times: number[] = [];
  let bytes = 0;
  let cpuMs = 0;
  for (const p of prepared) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const spans = await runner.run(p.doc.text, language);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpuMs += (c.user + c.system) / 1000;
    bytes += p.bytes;
    scoreDoc(p, spans, acc);
  }
  for (let r = 1; r < repeat; r++) {
    let passCpu = 0;
    for (const [i, p] of prepared.entries()) {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await runner.run(p.doc.text, language);
      const t = Number(process.hrtime.bigint() - t0) / 1e6;
      const c = process.cpuUsage(c0);
      passCpu += (c.user + c.system) / 1000;
      if (t < (times[i] ?? Infinity)) times[i] = t;
    }
    cpuMs = Math.min(cpuMs, passCpu);
  }
  return { runner: runner.name, acc, times, bytes, docs: prepared.length, cpuMs };
}

function pct(x: number): string {
  return Number.isFinite(x) ? (100 * x).toFixed(2) : '-';
}
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}
function pad(s: string | number, n: number, left = false): string {
  const t = String(s);
  return left ? t.padEnd(n) : t.padStart(n);
}

function report(set: string, cats: Categories, results: Result[]): Record<string, unknown> {
  const [ours] = results;
  if (!ours) return {};
  const a = ours.acc;
  console.log(`\n=== ${set}: ${ours.docs} docs, ${(ours.bytes / 1e6).toFixed(2)} MB, ${a.gold} scored PHI tokens, ${a.phiFreeDocs} PHI-free docs`);
  const peerCols = results.slice(1);
  console.log(
    `${pad('category', 13, true)} ${pad('gold', 6)} ${pad('R%', 7)} ${pad('Rany%', 7)} ${pad('Rchar%', 7)} ${pad('P%', 7)}${peerCols.map(() => ` ${pad('peerR%', 7)}`).join('')}`,
  );
  const order = cats.names.map((c, i) => [c, a.goldByCat[i] ?? 0] as const).filter((x) => x[1] > 0).sort((x, y) => y[1] - x[1]);
  const rows: Record<string, unknown>[] = [];
  for (const [c] of order) {
    const i = cats.names.indexOf(c);
    const g = a.goldByCat[i] ?? 0;
    const flagged = a.flaggedByType.get(c);
    const p = flagged ? flagged[1] / flagged[0] : NaN;
    const r = (a.strictByCat[i] ?? 0) / g;
    const rany = (a.anyByCat[i] ?? 0) / g;
    const rchar = (a.coveredCharsByCat[i] ?? 0) / (a.goldCharsByCat[i] || 1);
    const peers = peerCols.map((x) => ((x.acc.strictByCat[i] ?? 0) / (x.acc.goldByCat[i] || 1)));
    console.log(`${pad(c, 13, true)} ${pad(g, 6)} ${pad(pct(r), 7)} ${pad(pct(rany), 7)} ${pad(pct(rchar), 7)} ${pad(pct(p), 7)}${peers.map((x) => ` ${pad(pct(x), 7)}`).join('')}`);
    rows.push({ category: c, gold: g, recall: r, recall_any: rany, recall_char: rchar, precision_of_type: p });
  }
  console.log(
    `${pad('runner', 36, true)} ${pad('R%', 7)} ${pad('Rany%', 7)} ${pad('Rchar%', 7)} ${pad('P%', 7)} ${pad('touched', 11)} ${pad('MB/s', 7)} ${pad('p50 ms', 7)} ${pad('p99 ms', 7)} ${pad('p99/2KB', 8)} ${pad('cpuMB/s', 8)}`,
  );
  const summary: Record<string, unknown>[] = [];
  for (const x of results) {
    const b = x.acc;
    const total = x.times.reduce((s, t) => s + t, 0);
    const r = b.strict / b.gold;
    const rany = b.anyHit / b.gold;
    const rchar = b.coveredChars / b.goldChars;
    const p = b.flaggedGold / b.flagged;
    const touched = b.phiFreeDocs ? `${b.phiFreeTouched}/${b.phiFreeDocs}` : '-';
    const mbs = x.bytes / 1e6 / (total / 1000);
    console.log(
      `${pad(x.runner, 36, true)} ${pad(pct(r), 7)} ${pad(pct(rany), 7)} ${pad(pct(rchar), 7)} ${pad(pct(p), 7)} ${pad(touched, 11)} ${pad(mbs.toFixed(2), 7)} ${pad(quantile(x.times, 0.5).toFixed(3), 7)} ${pad(quantile(x.times, 0.99).toFixed(3), 7)} ${pad(((quantile(x.times, 0.99) * 2000 * x.docs) / x.bytes).toFixed(3), 8)} ${pad((x.bytes / 1e6 / (x.cpuMs / 1000)).toFixed(2), 8)}`,
    );
    summary.push({ runner: x.runner, recall: r, recall_any: rany, recall_char: rchar, precision: p, phi_free_touched: b.phiFreeTouched, phi_free_docs: b.phiFreeDocs, mb_per_s: mbs, p50_ms: quantile(x.times, 0.5), p99_ms: quantile(x.times, 0.99) });
  }
  return { set, docs: ours.docs, bytes: ours.bytes, categories: rows, runners: summary };
}

async function main(): Promise<void> {
  const sets: { name: string; language: 'en' | 'es'; docs: Doc[] }[] = [];
  const deidDir = resolve(sharedData, 'deid');
  if (existsSync(deidDir)) {
    for (const f of readdirSync(deidDir).filter((x) => x.endsWith('.jsonl')).sort()) {
      sets.push({ name: basename(f), language: f.startsWith('meddocan') ? 'es' : 'en', docs: readJsonl(resolve(deidDir, f)) });
    }
  }
  const notesDir = resolve(sharedData, 'notes');
  if (existsSync(notesDir)) {
    const dev = buildDevSet(notesDir);
    for (const [name, docs] of Object.entries(dev)) sets.push({ name, language: 'en', docs });
    if (writeDev) {
      mkdirSync(writeDev, { recursive: true });
      for (const [name, docs] of Object.entries(dev)) writeFileSync(resolve(writeDev, `${name.replace(/^dev:/, '')}.jsonl`), docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
    }
  }
  const engine: DeidEngine = createDeidEngine();
  createDeidEngine({ language: 'es' });
  const ours: Runner = {
    name: 'phigate deid',
    run: (text, language) => engine.detect(text, { language }).map((s) => [s.start, s.end, s.type] as [number, number, string]),
  };
  const peer = withPeer ? await loadPeer() : undefined;
  console.log(`node ${process.version}; one process, one thread, documents one at a time; warm-up ${warmup} docs; Safe Harbor scoring (../shared/peers/deid/README.md)`);
  const out: Record<string, unknown>[] = [];
  for (const set of sets) {
    if (only && !set.name.startsWith(only)) continue;
    const docs = limit ? set.docs.slice(0, limit) : set.docs;
    const cats = new Categories();
    const prepared = docs.map((d) => prepare(d, cats));
    const results = [await measure(ours, prepared, set.language)];
    if (peer) results.push(await measure(peer, prepared, set.language));
    out.push({ ...report(`${set.name} (${set.language})`, cats, results) });
  }
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ node: process.version, warmup, results: out }, null, 2));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
