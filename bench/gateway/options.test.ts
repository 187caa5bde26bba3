// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { estimateMinutes, OptionsError, parseOptions } from './options.js';

describe('parseOptions', () => {
  it('defaults to the full matrix the issue asks for', () => {
    const options = parseOptions({});
    expect(options).toMatchObject({ durationSec: 10, rounds: 3, concurrencies: [1, 16, 64], loadgen: 'autocannon', ttfbRequests: 300, smoke: false });
    expect(options.bodies).toEqual(['1k', '8k', '1k-stream', '8k-stream']);
    expect(options.targets).toEqual(['direct', 'min-undici', 'phigate', 'portkey']);
  });

  it('shortens everything in SMOKE mode, but explicit knobs still win', () => {
    expect(parseOptions({ SMOKE: '1' })).toMatchObject({ durationSec: 2, rounds: 1, ttfbRequests: 50, smoke: true });
    expect(parseOptions({ SMOKE: '1', DURATION: '5' }).durationSec).toBe(5);
  });

  it('reads lists separated by spaces or commas, deduplicated and sorted where order is meaningless', () => {
    const options = parseOptions({ CONC: '64,1 16 1', BODIES: '8k-stream 1k', TARGETS: 'portkey,phigate' });
    expect(options.concurrencies).toEqual([1, 16, 64]);
    expect(options.bodies).toEqual(['8k-stream', '1k']);
    expect(options.targets).toEqual(['direct', 'portkey', 'phigate']);
  });

  it('rejects what it does not understand, naming the variable and the value', () => {
    expect(() => parseOptions({ TARGETS: 'kong' })).toThrow(OptionsError);
    expect(() => parseOptions({ TARGETS: 'kong' })).toThrow(/TARGETS: unknown "kong"/);
    expect(() => parseOptions({ DURATION: '0' })).toThrow(/DURATION/);
    expect(() => parseOptions({ ROUNDS: '1.5' })).toThrow(/ROUNDS/);
    expect(() => parseOptions({ CONC: '16 x' })).toThrow(/CONC.*"x"/);
    expect(() => parseOptions({ LOADGEN: 'ab' })).toThrow(/LOADGEN/);
  });

  it('bounds the run: MAX_MINUTES defaults above the estimate and can be set', () => {
    const options = parseOptions({});
    expect(options.maxMinutes).toBeGreaterThan(estimateMinutes(options));
    expect(parseOptions({ MAX_MINUTES: '7' }).maxMinutes).toBe(7);
    expect(parseOptions({ TTFB_N: '0' }).ttfbRequests).toBe(0);
  });
});
