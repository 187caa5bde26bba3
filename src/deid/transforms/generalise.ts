// SPDX-License-Identifier: Apache-2.0
/**
 * Safe Harbor generalisation (45 CFR 164.514(b)(2)(i)): ages over 89 become "90+", dates keep
 * only their year, ZIP codes keep their first three digits unless the three-digit area has
 * 20,000 people or fewer, in which case it becomes "000".
 */
import { writtenDateYear } from '../date-shift.js';

/** ZIP3 areas with 20,000 or fewer people (Census 2000), which Safe Harbor requires to be 000. */
export const restrictedZip3: ReadonlySet<string> = new Set([
  '036', '059', '063', '102', '203', '556', '692', '790', '821', '823', '830', '831', '878', '879', '884', '890', '893',
]);

/** The Safe Harbor form of a ZIP code: first three digits, or "000"; `undefined` if `text` is not a US ZIP. */
export function generaliseZip(text: string): string | undefined {
  const m = /^\s*(\d{3})\d{2}(?:-?\d{4})?\s*$/.exec(text);
  if (!m) return undefined;
  return restrictedZip3.has(m[1]!) ? '000' : m[1]!;
}

/** Ages over 89 become "90+" (the number only; surrounding words stay); younger ages are returned unchanged. */
export function generaliseAge(text: string): string {
  return text.replace(/\d{1,3}(?:\.\d+)?/g, (n) => (Number(n) >= 90 ? '90+' : n));
}

/**
 * A date reduced to its year; `undefined` when no year can be read. With `referenceYear`, years
 * that reveal an age over 89 are aggregated into "<= referenceYear-90" as Safe Harbor asks.
 */
export function generaliseDate(text: string, referenceYear?: number): string | undefined {
  const year = writtenDateYear(text);
  if (year === undefined) return undefined;
  if (referenceYear !== undefined && year <= referenceYear - 90) return `${referenceYear - 90} or earlier`;
  return String(year);
}
