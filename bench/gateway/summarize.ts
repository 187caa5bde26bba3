// SPDX-License-Identifier: Apache-2.0
/**
 * The benchmark's arithmetic: medians over rounds, latency added relative to `direct`,
 * throughput ratios, CPU time per request, the goals, and the markdown table.
 * Pure functions over recorded results, so a results folder can be re-summarised.
 */
import type { BodyName, TargetName } from './options.js';

/** One load cell: a target, a body and a concurrency, for one round. */
export interface CellResult {
  readonly target: TargetName;
  readonly body: BodyName;
  readonly concurrency: number;
  readonly round: number;
  /** Successful (2xx) responses. */
  readonly requests: number;
  /** Non-2xx responses, socket errors and timeouts. */
  readonly errors: number;
  readonly durationSec: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** User + system CPU of the gateway process during the cell, or null for `direct`. */
  readonly gatewayCpuMs: number | null;
  readonly mockCpuMs: number;
  readonly gatewayRssMb: number | null;
}

/** Sequential probe of one target with one body. */
export interface TtfbResult {
  readonly target: TargetName;
  readonly body: BodyName;
  readonly n: number;
  readonly non200: number;
  readonly ttfbP50Ms: number;
  readonly ttfbP99Ms: number;
  readonly totalP50Ms: number;
  readonly totalP99Ms: number;
}

/** Medians over the rounds of one target × body × concurrency. */
export interface CellSummary {
  readonly target: TargetName;
  readonly body: BodyName;
  readonly concurrency: number;
  readonly rounds: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly addedP50Ms: number | null;
  readonly addedP99Ms: number | null;
  readonly rpsRatioVsDirect: number | null;
  readonly cpuUsPerRequest: number | null;
  readonly rssMb: number | null;
  readonly errors: number;
}

/** Median of a non-empty list (mean of the middle two for even lengths); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Nearest-rank percentile of a list, `p` in 0..100 (the same rule as the reference harness's
 * probe, so its figures compare).
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** CPU microseconds per successful request; null without a process to sample or without requests. */
export function cpuUsPerRequest(cpuMs: number | null, requests: number): number | null {
  if (cpuMs === null || requests <= 0) return null;
  return (cpuMs * 1000) / requests;
}

/** Groups cells by target × body × concurrency and takes medians; added figures are against `direct`. */
export function summarizeCells(cells: readonly CellResult[]): CellSummary[] {
  const groups = new Map<string, CellResult[]>();
  for (const cell of cells) {
    const key = `${cell.body}|${cell.concurrency}|${cell.target}`;
    const group = groups.get(key);
    if (group) group.push(cell);
    else groups.set(key, [cell]);
  }
  const base = (group: readonly CellResult[]) => ({
    rps: median(group.map((c) => c.rps)),
    p50Ms: median(group.map((c) => c.p50Ms)),
    p99Ms: median(group.map((c) => c.p99Ms)),
  });
  const out: CellSummary[] = [];
  for (const group of groups.values()) {
    const first = group[0] as CellResult;
    const stats = base(group);
    const directGroup = first.target === 'direct' ? undefined : groups.get(`${first.body}|${first.concurrency}|direct`);
    const direct = directGroup ? base(directGroup) : undefined;
    const cpu = group.map((c) => cpuUsPerRequest(c.gatewayCpuMs, c.requests)).filter((v): v is number => v !== null);
    const rss = group.map((c) => c.gatewayRssMb).filter((v): v is number => v !== null);
    out.push({
      target: first.target,
      body: first.body,
      concurrency: first.concurrency,
      rounds: group.length,
      ...stats,
      addedP50Ms: direct ? stats.p50Ms - direct.p50Ms : null,
      addedP99Ms: direct ? stats.p99Ms - direct.p99Ms : null,
      rpsRatioVsDirect: direct && direct.rps > 0 ? stats.rps / direct.rps : null,
      cpuUsPerRequest: cpu.length > 0 ? median(cpu) : null,
      rssMb: rss.length > 0 ? Math.max(...rss) : null,
      errors: group.reduce((sum, c) => sum + c.errors, 0),
    });
  }
  return out;
}

/** One goal from the issue, with what was measured (the worst body) and whether it holds. */
export interface GoalCheck {
  readonly goal: string;
  /** Human-readable measured value, e.g. "+0.41 ms (8k)", or "not measured (…)". */
  readonly measured: string;
  readonly met: boolean | null;
}

const fmt = (value: number, digits = 2): string => (Number.isFinite(value) ? value.toFixed(digits) : '-');
const signed = (value: number, digits = 2): string => (Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${value.toFixed(digits)}` : '-');

function worst<T>(items: readonly T[], score: (item: T) => number): T | undefined {
  let found: T | undefined;
  for (const item of items) if (found === undefined || score(item) > score(found)) found = item;
  return found;
}

/** Added time to first byte for `target`, per streamed body, against `direct`. */
export function addedTtfb(ttfb: readonly TtfbResult[], target: TargetName): { body: BodyName; addedMs: number }[] {
  const out: { body: BodyName; addedMs: number }[] = [];
  for (const row of ttfb) {
    if (row.target !== target || !row.body.endsWith('-stream')) continue;
    const direct = ttfb.find((d) => d.target === 'direct' && d.body === row.body);
    if (direct) out.push({ body: row.body, addedMs: row.ttfbP50Ms - direct.ttfbP50Ms });
  }
  return out;
}

/**
 * The goals of issue 2 item 11, for phigate: at concurrency 1 added p50 ≤ 1 ms, added p99
 * ≤ 5 ms and added time to first byte ≤ 1 ms; at concurrency 16 throughput ≥ 5× the peer's
 * with p99 ≤ 20 ms. Each is judged on the worst body measured; `met` is null when the
 * needed cells are missing.
 */
export function checkGoals(summaries: readonly CellSummary[], ttfb: readonly TtfbResult[]): GoalCheck[] {
  const at = (target: TargetName, concurrency: number) => summaries.filter((s) => s.target === target && s.concurrency === concurrency);
  const missing = (why: string): { measured: string; met: null } => ({ measured: `not measured (${why})`, met: null });
  const goals: GoalCheck[] = [];

  const c1 = at('phigate', 1);
  const p50 = worst(c1, (s) => s.addedP50Ms ?? Number.NaN);
  goals.push({
    goal: 'concurrency 1: added p50 ≤ 1 ms',
    ...(p50 && p50.addedP50Ms !== null ? { measured: `${signed(p50.addedP50Ms)} ms (${p50.body})`, met: c1.every((s) => (s.addedP50Ms ?? Infinity) <= 1) } : missing('phigate at concurrency 1')),
  });
  const p99 = worst(c1, (s) => s.addedP99Ms ?? Number.NaN);
  goals.push({
    goal: 'concurrency 1: added p99 ≤ 5 ms',
    ...(p99 && p99.addedP99Ms !== null ? { measured: `${signed(p99.addedP99Ms)} ms (${p99.body})`, met: c1.every((s) => (s.addedP99Ms ?? Infinity) <= 5) } : missing('phigate at concurrency 1')),
  });
  const firstByte = addedTtfb(ttfb, 'phigate');
  const slowest = worst(firstByte, (t) => t.addedMs);
  goals.push({
    goal: 'added time to first streamed byte ≤ 1 ms',
    ...(slowest ? { measured: `${signed(slowest.addedMs)} ms (${slowest.body})`, met: firstByte.every((t) => t.addedMs <= 1) } : missing('no streaming probe of phigate')),
  });

  const ours = at('phigate', 16);
  const peer = at('portkey', 16);
  const pairs = ours.flatMap((s) => {
    const other = peer.find((p) => p.body === s.body);
    return other && other.rps > 0 ? [{ body: s.body, ratio: s.rps / other.rps }] : [];
  });
  const lowest = worst(pairs, (pair) => -pair.ratio);
  goals.push({
    goal: 'concurrency 16: throughput ≥ 5× Portkey',
    ...(lowest ? { measured: `${fmt(lowest.ratio)}× (${lowest.body})`, met: pairs.every((pair) => pair.ratio >= 5) } : missing('phigate and portkey at concurrency 16')),
  });
  const tail = worst(ours, (s) => s.p99Ms);
  goals.push({
    goal: 'concurrency 16: p99 ≤ 20 ms',
    ...(tail ? { measured: `${fmt(tail.p99Ms)} ms (${tail.body})`, met: ours.every((s) => s.p99Ms <= 20) } : missing('phigate at concurrency 16')),
  });
  return goals;
}

/** Facts about the run printed above the tables. */
export interface RunHeader {
  readonly date: string;
  readonly node: string;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly loadgen: string;
  readonly settings: string;
  readonly loadavg: string;
  /** Targets asked for but not (fully) measured; `problem` reads after the name, e.g. "could not start: …". */
  readonly unavailable: readonly { target: TargetName; problem: string }[];
}

/** The whole report as markdown: header, goals, the per-cell table and the probe table. */
export function renderMarkdown(header: RunHeader, summaries: readonly CellSummary[], ttfb: readonly TtfbResult[], order: readonly TargetName[]): string {
  const out: string[] = [];
  out.push('## Gateway overhead benchmark', '');
  out.push(`- ${header.date} · node ${header.node} · ${header.cpus} CPUs (${header.cpuModel}) · load: ${header.loadgen}`);
  out.push(`- ${header.settings}`);
  out.push(`- load average: ${header.loadavg}`);
  for (const { target, problem } of header.unavailable) out.push(`- **${target} ${problem}**`);
  out.push('', '### Goals (issue 2, item 11; phigate with authentication and a durable audit record per request)', '');
  out.push('| goal | measured (worst body) | met |', '|---|---|---|');
  for (const goal of checkGoals(summaries, ttfb)) out.push(`| ${goal.goal} | ${goal.measured} | ${goal.met === null ? '–' : goal.met ? 'yes' : 'no'} |`);

  out.push('', '### Load cells', '');
  out.push('Medians over rounds. `+p50`/`+p99`: target minus direct at the same body and concurrency. `CPU/req`: user+system CPU of the gateway process per successful request.', '');
  out.push('| body | conc | target | rps | p50 ms | p99 ms | +p50 ms | +p99 ms | rps vs direct | CPU/req µs | RSS MB | errors |');
  out.push('|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const bodies = [...new Set(summaries.map((s) => s.body))];
  const concurrencies = [...new Set(summaries.map((s) => s.concurrency))].sort((a, b) => a - b);
  for (const body of bodies) {
    for (const concurrency of concurrencies) {
      for (const target of order) {
        const s = summaries.find((x) => x.body === body && x.concurrency === concurrency && x.target === target);
        if (!s) continue;
        const opt = (value: number | null, render: (v: number) => string) => (value === null ? '' : render(value));
        out.push(
          `| ${body} | ${concurrency} | ${target} | ${fmt(s.rps, 0)} | ${fmt(s.p50Ms, 3)} | ${fmt(s.p99Ms, 3)} | ` +
            `${opt(s.addedP50Ms, (v) => signed(v, 3))} | ${opt(s.addedP99Ms, (v) => signed(v, 3))} | ${opt(s.rpsRatioVsDirect, (v) => fmt(v, 3))} | ` +
            `${opt(s.cpuUsPerRequest, (v) => fmt(v, 0))} | ${opt(s.rssMb, (v) => fmt(v, 0))} | ${s.errors} |`,
        );
      }
    }
  }
  if (ttfb.length > 0) {
    out.push('', '### Sequential probe (1 connection, keep-alive)', '');
    out.push('| body | target | n | TTFB p50 ms | TTFB p99 ms | added TTFB p50 ms | total p50 ms | total p99 ms | non-200 |');
    out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const row of ttfb) {
      const direct = ttfb.find((d) => d.target === 'direct' && d.body === row.body);
      const added = row.target === 'direct' || !direct ? '' : signed(row.ttfbP50Ms - direct.ttfbP50Ms, 3);
      out.push(`| ${row.body} | ${row.target} | ${row.n} | ${fmt(row.ttfbP50Ms, 3)} | ${fmt(row.ttfbP99Ms, 3)} | ${added} | ${fmt(row.totalP50Ms, 3)} | ${fmt(row.totalP99Ms, 3)} | ${row.non200} |`);
    }
  }
  return out.join('\n');
}
