// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import type { BodyName, TargetName } from './options.js';
import { addedTtfb, checkGoals, cpuUsPerRequest, median, percentile, renderMarkdown, summarizeCells } from './summarize.js';
import type { CellResult, CellSummary, TtfbResult } from './summarize.js';

function cell(target: TargetName, body: BodyName, concurrency: number, round: number, figures: Partial<CellResult> = {}): CellResult {
  return {
    target,
    body,
    concurrency,
    round,
    requests: 1000,
    errors: 0,
    durationSec: 1,
    rps: 1000,
    p50Ms: 1,
    p99Ms: 2,
    gatewayCpuMs: target === 'direct' ? null : 100,
    mockCpuMs: 50,
    gatewayRssMb: target === 'direct' ? null : 100,
    ...figures,
  };
}

function probe(target: TargetName, body: BodyName, ttfbP50Ms: number): TtfbResult {
  return { target, body, n: 100, non200: 0, ttfbP50Ms, ttfbP99Ms: ttfbP50Ms * 2, totalP50Ms: ttfbP50Ms, totalP99Ms: ttfbP50Ms * 2 };
}

describe('median and percentile', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('uses the nearest rank and clamps to the largest value', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(51);
    expect(percentile(values, 99)).toBe(100);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('cpuUsPerRequest', () => {
  it('turns CPU milliseconds over a cell into microseconds per request', () => {
    expect(cpuUsPerRequest(120, 2000)).toBe(60);
    expect(cpuUsPerRequest(null, 2000)).toBeNull();
    expect(cpuUsPerRequest(120, 0)).toBeNull();
  });
});

describe('summarizeCells', () => {
  const cells = [
    cell('direct', '1k', 1, 1, { rps: 10_000, p50Ms: 0.1, p99Ms: 0.5 }),
    cell('direct', '1k', 1, 2, { rps: 12_000, p50Ms: 0.2, p99Ms: 0.7 }),
    cell('direct', '1k', 1, 3, { rps: 11_000, p50Ms: 0.3, p99Ms: 0.6 }),
    cell('phigate', '1k', 1, 1, { rps: 4000, p50Ms: 0.6, p99Ms: 2.6, requests: 8000, gatewayCpuMs: 800, gatewayRssMb: 120 }),
    cell('phigate', '1k', 1, 2, { rps: 5000, p50Ms: 0.4, p99Ms: 1.6, requests: 10_000, gatewayCpuMs: 600, gatewayRssMb: 140, errors: 2 }),
    cell('phigate', '1k', 1, 3, { rps: 4500, p50Ms: 0.5, p99Ms: 3.6, requests: 9000, gatewayCpuMs: 900, gatewayRssMb: 130, errors: 1 }),
    cell('portkey', '8k', 16, 1),
  ];
  const summaries = summarizeCells(cells);
  const find = (target: TargetName, body: BodyName, concurrency: number) => summaries.find((s) => s.target === target && s.body === body && s.concurrency === concurrency);

  it('takes medians over rounds and subtracts the direct medians', () => {
    const phigate = find('phigate', '1k', 1);
    expect(phigate?.rounds).toBe(3);
    expect(phigate?.rps).toBe(4500);
    expect(phigate?.p50Ms).toBe(0.5);
    expect(phigate?.p99Ms).toBe(2.6);
    expect(phigate?.addedP50Ms).toBeCloseTo(0.3, 10);
    expect(phigate?.addedP99Ms).toBeCloseTo(2.0, 10);
    expect(phigate?.rpsRatioVsDirect).toBeCloseTo(4500 / 11_000, 10);
  });

  it('reports the median CPU per request, the peak RSS and the summed errors', () => {
    const phigate = find('phigate', '1k', 1);
    expect(phigate?.cpuUsPerRequest).toBe(100);
    expect(phigate?.rssMb).toBe(140);
    expect(phigate?.errors).toBe(3);
  });

  it('leaves relative figures empty for direct and where direct was not measured', () => {
    expect(find('direct', '1k', 1)?.addedP50Ms).toBeNull();
    expect(find('direct', '1k', 1)?.cpuUsPerRequest).toBeNull();
    expect(find('portkey', '8k', 16)?.addedP50Ms).toBeNull();
    expect(find('portkey', '8k', 16)?.rpsRatioVsDirect).toBeNull();
  });
});

describe('addedTtfb', () => {
  it('compares streamed bodies only, against direct with the same body', () => {
    const rows = [probe('direct', '1k-stream', 0.2), probe('phigate', '1k-stream', 0.7), probe('direct', '1k', 0.2), probe('phigate', '1k', 5), probe('phigate', '8k-stream', 1)];
    const added = addedTtfb(rows, 'phigate');
    expect(added).toHaveLength(1);
    expect(added[0]?.body).toBe('1k-stream');
    expect(added[0]?.addedMs).toBeCloseTo(0.5, 10);
  });
});

describe('checkGoals', () => {
  const summary = (target: TargetName, body: BodyName, concurrency: number, figures: Partial<CellSummary>): CellSummary => ({
    target,
    body,
    concurrency,
    rounds: 1,
    rps: 1000,
    p50Ms: 1,
    p99Ms: 2,
    addedP50Ms: null,
    addedP99Ms: null,
    rpsRatioVsDirect: null,
    cpuUsPerRequest: null,
    rssMb: null,
    errors: 0,
    ...figures,
  });

  it('is met only when every body meets the goal, and shows the worst body', () => {
    const summaries = [
      summary('phigate', '1k', 1, { addedP50Ms: 0.4, addedP99Ms: 1 }),
      summary('phigate', '8k', 1, { addedP50Ms: 1.3, addedP99Ms: 4 }),
      summary('phigate', '1k', 16, { rps: 6000, p99Ms: 12 }),
      summary('portkey', '1k', 16, { rps: 1000 }),
      summary('phigate', '8k', 16, { rps: 4000, p99Ms: 25 }),
      summary('portkey', '8k', 16, { rps: 1000 }),
    ];
    const goals = checkGoals(summaries, [probe('direct', '1k-stream', 0.2), probe('phigate', '1k-stream', 0.9)]);
    expect(goals.map((g) => g.met)).toEqual([false, true, true, false, false]);
    expect(goals[0]?.measured).toBe('+1.30 ms (8k)');
    expect(goals[3]?.measured).toBe('4.00× (8k)');
    expect(goals[4]?.measured).toBe('25.00 ms (8k)');
  });

  it('says what is missing instead of judging', () => {
    const goals = checkGoals([summary('portkey', '1k', 16, {})], []);
    expect(goals.every((g) => g.met === null)).toBe(true);
    expect(goals[3]?.measured).toContain('not measured');
  });
});

describe('renderMarkdown', () => {
  it('names targets that could not start and lists cells in the requested target order', () => {
    const summaries = summarizeCells([cell('portkey', '1k', 1, 1), cell('direct', '1k', 1, 1), cell('min-undici', '1k', 1, 1)]);
    const text = renderMarkdown(
      { date: 'd', node: 'v20', cpus: 2, cpuModel: 'cpu', loadgen: 'autocannon', settings: 's', loadavg: '0', unavailable: [{ target: 'phigate', problem: 'could not start: init failed' }] },
      summaries,
      [],
      ['direct', 'min-undici', 'phigate', 'portkey'],
    );
    expect(text).toContain('**phigate could not start: init failed**');
    const rows = text.split('\n').filter((line) => line.startsWith('| 1k | 1 |'));
    expect(rows.map((row) => row.split('|')[3]?.trim())).toEqual(['direct', 'min-undici', 'portkey']);
  });
});
