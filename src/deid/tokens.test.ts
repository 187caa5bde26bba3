// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { formatToken, maxTokenLength, parseToken } from './tokens.js';

describe('tokens', () => {
  it('formats and parses typed tokens', () => {
    expect(formatToken('NAME', 1)).toBe('[NAME_1]');
    expect(parseToken('[HEALTH_PLAN_12]')).toEqual({ type: 'HEALTH_PLAN', sequence: 12 });
    expect(parseToken('[NAME_0]')).toBeUndefined();
    expect(parseToken('[NAMES_1]')).toBeUndefined();
    expect(parseToken('[NAME_1234567]')).toBeUndefined();
    expect(() => formatToken('NAME', 0)).toThrow(RangeError);
    expect(formatToken('ORGANIZATION', 999_999).length).toBe(maxTokenLength);
  });
});
