// SPDX-License-Identifier: Apache-2.0
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dateShiftDays, parseWrittenDate, shiftWrittenDate, writtenDateYear } from './date-shift.js';

describe('date shift', () => {
  it('derives a stable, non-zero, bounded shift per patient and key', () => {
    const a = dateShiftDays('key-1', 'patient-1');
    expect(dateShiftDays('key-1', 'patient-1')).toBe(a);
    expect(a).not.toBe(0);
    expect(Math.abs(a)).toBeLessThanOrEqual(365);
    const shifts = new Set(Array.from({ length: 50 }, (_, i) => dateShiftDays('key-1', `p${i}`)));
    expect(shifts.size).toBeGreaterThan(40);
    expect(dateShiftDays('key-2', 'patient-1')).not.toBe(dateShiftDays('key-3', 'patient-1'));
    fc.assert(fc.property(fc.string(), fc.integer({ min: 1, max: 1000 }), (id, max) => {
      const d = dateShiftDays('k', id, max);
      return d !== 0 && Math.abs(d) <= max && Number.isInteger(d);
    }));
    expect(() => dateShiftDays('k', 'p', 0)).toThrow(RangeError);
  });

  it.each([
    ['2021-03-04', 10, '2021-03-14'],
    ['2021-03-04T10:00:00+01:00', -4, '2021-02-28T10:00:00+01:00'],
    ['2020-12-25', 10, '2021-01-04'],
    ['2021-03', 20, '2021-04'],
    ['3/4/21', 1, '3/5/21'],
    ['03-04-2021', 30, '04-03-2021'],
    ['03/04/2021', 365, '03/04/2022'],
    ['25/12/2020', 7, '01/01/2021'],
    ['3/4', 1, '3/5'],
    ['March 4th, 2021', 1, 'March 5th, 2021'],
    ['March 4, 2021', 28, 'April 1, 2021'],
    ['Mar 4', 30, 'Apr 3'],
    ['4 Mar 2021', -4, '28 Feb 2021'],
    ['the 4th of March', 18, 'the 22nd of March'],
    ['MARCH 2021', 20, 'APRIL 2021'],
    ['Sept. 30, 2020', 1, 'Oct. 1, 2020'],
    ["Mar 4 '21", 1, "Mar 5 '21"],
    ['Feb 29', 1, 'Mar 1'],
  ])('shifts %s by %i days to %s', (input, days, expected) => {
    expect(shiftWrittenDate(input, days)).toBe(expected);
  });

  it('preserves intervals between dates of one patient', () => {
    const d = dateShiftDays('k', 'p');
    const a = new Date(shiftWrittenDate('2021-01-10', d)!).getTime();
    const b = new Date(shiftWrittenDate('2021-03-01', d)!).getTime();
    expect((b - a) / 86_400_000).toBe(50);
  });

  it('refuses what is not a date', () => {
    for (const s of ['2021', 'hello', '13/13/2021', '2021-02-30', '3-4', 'May', 'x'.repeat(100), '', '12.5']) {
      expect(shiftWrittenDate(s, 3)).toBeUndefined();
    }
    expect(parseWrittenDate('Mayo 4')).toBeUndefined();
  });

  it('reads the year of a written date', () => {
    expect(writtenDateYear('3/4/21')).toBe(2021);
    expect(writtenDateYear('March 4, 1931')).toBe(1931);
    expect(writtenDateYear('2019')).toBe(2019);
    expect(writtenDateYear('March 4')).toBeUndefined();
  });

  it('does not backtrack on long adversarial input', () => {
    expect(parseWrittenDate('1'.repeat(50_000))).toBeUndefined();
    expect(parseWrittenDate(`the ${'1 '.repeat(30)}`)).toBeUndefined();
  });
});
