// SPDX-License-Identifier: Apache-2.0
/**
 * The benchmark's knobs, read once from the environment. Everything a run does is decided
 * here, so the summary can print exactly what was measured.
 */

/** Targets the harness knows how to start. `direct` is the baseline every other one is compared to. */
export const TARGET_NAMES = ['direct', 'min-undici', 'phigate', 'portkey'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

/** Request bodies: ~1 KB and ~8 KB synthetic prompts, each also with `"stream": true`. */
export const BODY_NAMES = ['1k', '8k', '1k-stream', '8k-stream'] as const;
export type BodyName = (typeof BODY_NAMES)[number];

/** Load generators: autocannon (an npm devDependency, always there) or wrk when on PATH. */
export const LOADGEN_NAMES = ['autocannon', 'wrk'] as const;
export type LoadgenName = (typeof LOADGEN_NAMES)[number];

/** One run's settings. */
export interface BenchOptions {
  /** Seconds of load per cell (target × body × concurrency × round). */
  readonly durationSec: number;
  readonly rounds: number;
  readonly concurrencies: readonly number[];
  readonly bodies: readonly BodyName[];
  readonly targets: readonly TargetName[];
  readonly loadgen: LoadgenName;
  /** Requests per target and body in the sequential time-to-first-byte probe; 0 skips it. */
  readonly ttfbRequests: number;
  /** Seconds of unrecorded load per target before the first round. */
  readonly warmupSec: number;
  /** Hard limit for the whole run; past it the run stops and reports what it has. */
  readonly maxMinutes: number;
  readonly smoke: boolean;
  /** The phigate CLI script to start (PHIGATE_CLI), e.g. another build; default `bin/phigate.js`. */
  readonly phigateCli: string | undefined;
  /** PROFILE=1: gateways run with `--cpu-prof`, profiles written beside the results (the profiler slows them). */
  readonly profile: boolean;
}

/** Thrown for a knob that cannot be understood; the message names the variable and the value. */
export class OptionsError extends Error {
  override name = 'OptionsError';
}

function list(raw: string | undefined): string[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw.split(/[\s,]+/).filter((part) => part !== '');
}

function positiveNumber(name: string, raw: string | undefined, fallback: number, options: { integer?: boolean; allowZero?: boolean } = {}): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  const ok = Number.isFinite(value) && (options.allowZero ? value >= 0 : value > 0) && (!options.integer || Number.isInteger(value));
  if (!ok) throw new OptionsError(`${name} must be a ${options.integer ? 'whole' : ''} number ${options.allowZero ? '>= 0' : '> 0'}, got "${raw}"`);
  return value;
}

function pick<T extends string>(name: string, raw: string | undefined, allowed: readonly T[], fallback: readonly T[]): T[] {
  const parts = list(raw);
  if (!parts) return [...fallback];
  const out: T[] = [];
  for (const part of parts) {
    const found = allowed.find((candidate) => candidate === part);
    if (!found) throw new OptionsError(`${name}: unknown "${part}" (expected one of ${allowed.join(', ')})`);
    if (!out.includes(found)) out.push(found);
  }
  return out;
}

/**
 * Reads the knobs: DURATION, ROUNDS, CONC, BODIES, TARGETS, LOADGEN, TTFB_N, WARMUP,
 * MAX_MINUTES, PHIGATE_CLI, PROFILE=1 and SMOKE=1 (2 s cells, one round, shorter probe and warm-up; explicit knobs
 * still win). `direct` is always measured, since every added figure is relative to it.
 *
 * @example
 * parseOptions({ SMOKE: '1', TARGETS: 'portkey' }).targets // ['direct', 'portkey']
 */
export function parseOptions(env: Readonly<Record<string, string | undefined>>): BenchOptions {
  const smoke = env['SMOKE'] === '1' || env['SMOKE'] === 'true';
  const durationSec = positiveNumber('DURATION', env['DURATION'], smoke ? 2 : 10);
  const rounds = positiveNumber('ROUNDS', env['ROUNDS'], smoke ? 1 : 3, { integer: true });
  const concurrencies = (list(env['CONC']) ?? ['1', '16', '64']).map((raw) => positiveNumber('CONC', raw, 1, { integer: true }));
  const bodies = pick('BODIES', env['BODIES'], BODY_NAMES, BODY_NAMES);
  const targets = pick('TARGETS', env['TARGETS'], TARGET_NAMES, TARGET_NAMES);
  if (!targets.includes('direct')) targets.unshift('direct');
  const [loadgen] = pick('LOADGEN', env['LOADGEN'], LOADGEN_NAMES, ['autocannon']);
  const ttfbRequests = positiveNumber('TTFB_N', env['TTFB_N'], smoke ? 50 : 300, { integer: true, allowZero: true });
  const warmupSec = positiveNumber('WARMUP', env['WARMUP'], smoke ? 1 : 3, { allowZero: true });
  const cells = rounds * bodies.length * concurrencies.length * targets.length;
  // Each cell also pays a pause and process start-up; the probe and start-up get a fixed allowance.
  const estimateMin = (cells * (durationSec + 2) + targets.length * (warmupSec + 5) + 120) / 60;
  const maxMinutes = positiveNumber('MAX_MINUTES', env['MAX_MINUTES'], Math.ceil(estimateMin * 1.5 + 2));
  return {
    durationSec,
    rounds,
    concurrencies: [...new Set(concurrencies)].sort((a, b) => a - b),
    bodies,
    targets,
    loadgen: loadgen ?? 'autocannon',
    ttfbRequests,
    warmupSec,
    maxMinutes,
    smoke,
    phigateCli: env['PHIGATE_CLI']?.trim() || undefined,
    profile: env['PROFILE'] === '1' || env['PROFILE'] === 'true',
  };
}

/** Rough wall-clock minutes the load cells take, for the header. */
export function estimateMinutes(options: BenchOptions): number {
  const cells = options.rounds * options.bodies.length * options.concurrencies.length * options.targets.length;
  return (cells * (options.durationSec + 1) + options.targets.length * options.warmupSec) / 60;
}
