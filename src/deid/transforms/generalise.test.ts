// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { generaliseAge, generaliseDate, generaliseZip, restrictedZip3 } from './generalise.js';

describe('generalisation', () => {
  it('keeps the ZIP3 or zeroes the 17 restricted areas', () => {
    expect(restrictedZip3.size).toBe(17);
    expect(generaliseZip('02139')).toBe('021');
    expect(generaliseZip('02139-4307')).toBe('021');
    expect(generaliseZip('03601')).toBe('000');
    expect(generaliseZip('89301')).toBe('000');
    expect(generaliseZip('Boston')).toBeUndefined();
    expect(generaliseZip('1234')).toBeUndefined();
  });

  it('aggregates ages over 89', () => {
    expect(generaliseAge('92')).toBe('90+');
    expect(generaliseAge('92-year-old')).toBe('90+-year-old');
    expect(generaliseAge('89 years')).toBe('89 years');
    expect(generaliseAge('104 y/o')).toBe('90+ y/o');
  });

  it('reduces dates to the year', () => {
    expect(generaliseDate('March 4, 2021')).toBe('2021');
    expect(generaliseDate('2021-03-04T10:00Z')).toBe('2021');
    expect(generaliseDate('March 4')).toBeUndefined();
    expect(generaliseDate('1/2/1925', 2026)).toBe('1936 or earlier');
    expect(generaliseDate('1/2/1937', 2026)).toBe('1937');
  });
});
