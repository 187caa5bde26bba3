// SPDX-License-Identifier: Apache-2.0
/**
 * Per-patient keyed date shifting, after Google Cloud Healthcare API's `DateShiftConfig`: the
 * shift in days derives from HMAC(key, patient id), so every date of one patient moves by the
 * same amount (intervals are preserved) and no shift table has to be stored. Dates are parsed
 * from the common written forms and written back in the form they came in.
 */
import { createHmac } from 'node:crypto';

/** Default bound of the shift, in days either way. */
export const defaultMaxShiftDays = 365;

/**
 * The shift for one patient: a whole number of days in [-maxDays, -1] ∪ [1, maxDays], never 0,
 * so a shifted date always differs from the real one.
 */
export function dateShiftDays(key: string | Uint8Array, patientId: string, maxDays: number = defaultMaxShiftDays): number {
  if (!Number.isInteger(maxDays) || maxDays < 1 || maxDays > 36_500) throw new RangeError('maxDays must be an integer in 1..36500');
  const digest = createHmac('sha256', key).update('phigate/date-shift/v1\u0000').update(patientId).digest();
  const v = digest.readUInt32BE(0) % (2 * maxDays);
  return v < maxDays ? v - maxDays : v - maxDays + 1;
}

const monthNames = [
  'january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december',
] as const;

function monthFromWord(word: string): number | undefined {
  const w = word.toLowerCase().replace(/\.$/, '');
  if (w.length < 3) return undefined;
  const i = monthNames.findIndex((m) => m === w || (m.startsWith(w) && (w.length === 3 || (m === 'september' && w === 'sept'))));
  return i < 0 ? undefined : i + 1;
}

function renderMonth(original: string, month: number): string {
  const full = monthNames[month - 1]!;
  const dot = original.endsWith('.');
  const bare = dot ? original.slice(0, -1) : original;
  let word = bare.length >= full.length || bare.length > 4 ? full : full.slice(0, 3);
  if (bare.length === 4 && bare.toLowerCase() === 'sept') word = full.slice(0, 3);
  if (bare === bare.toUpperCase()) word = word.toUpperCase();
  else if (bare[0] === bare[0]!.toUpperCase()) word = word[0]!.toUpperCase() + word.slice(1);
  return word + (dot && word.length < full.length ? '.' : '');
}

function ordinal(day: number): string {
  if (day % 100 >= 11 && day % 100 <= 13) return 'th';
  return ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[day % 10] ?? 'th';
}

/** A date read from text: its fields and how to write a new value in the same form. */
export interface WrittenDate {
  readonly year: number | undefined;
  readonly month: number;
  readonly day: number | undefined;
  /** Writes another date in this one's form (same order, padding, separators, month style). */
  render(year: number, month: number, day: number): string;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function twoDigitYear(yy: number): number {
  return yy < 50 ? 2000 + yy : 1900 + yy;
}

const isoRe = /^(\d{4})([-/])(\d{2})(?:\2(\d{2}))?(T[\d:.]+(?:Z|[+-]\d{2}:?\d{2})?|\s+\d{1,2}:\d{2}(?::\d{2})?)?$/;
const numericRe = /^(\d{1,2})([/.-])(\d{1,2})(?:\2(\d{4}|\d{2}))?$/;
const wordRe = /^(?:the\s+)?(?:(\d{1,2})(st|nd|rd|th)?(\s+of\s+|\s+|-))?([A-Za-z]{3,9}\.?)(?:(\s+|-)(\d{1,2})(st|nd|rd|th)?)?(,?\s*|-)?(\d{4}|'\d{2})?$/i;

/**
 * Parses one date as written in clinical text or FHIR: ISO (2021-03-04, 2021-03, 2021-03-04T10:00Z),
 * US numeric (3/4/21, 03-04-2021, 3/4), and month names (March 4th, 2021; 4 Mar 2021; the 4th of
 * March; Mar 2021). Returns `undefined` for anything else, including bare years, which are not
 * identifying on their own.
 */
export function parseWrittenDate(text: string): WrittenDate | undefined {
  const s = text.trim();
  if (s.length > 64) return undefined;
  const lead = text.slice(0, text.indexOf(s));
  const trail = text.slice(lead.length + s.length);
  const wrap = (f: (y: number, m: number, d: number) => string) => (y: number, m: number, d: number) => lead + f(y, m, d) + trail;

  let m = isoRe.exec(s);
  if (m) {
    const [, y, sep, mo, d, time] = m;
    const year = Number(y);
    const month = Number(mo);
    const day = d === undefined ? undefined : Number(d);
    if (!valid(year, month, day)) return undefined;
    return {
      year, month, day,
      render: wrap((ny, nm, nd) => `${pad(ny, 4)}${sep}${pad(nm, 2)}${day === undefined ? '' : `${sep}${pad(nd, 2)}`}${time ?? ''}`),
    };
  }
  m = numericRe.exec(s);
  if (m) {
    const [, a, sep, b, y] = m;
    let month = Number(a);
    let day = Number(b);
    let dayFirst = false;
    if (month > 12 && day <= 12) [month, day, dayFirst] = [day, month, true];
    const year = y === undefined ? undefined : y.length === 2 ? twoDigitYear(Number(y)) : Number(y);
    // "3/4" alone is as often a fraction or a score as a date; only accept it with a slash.
    if (y === undefined && sep !== '/') return undefined;
    if (!valid(year ?? 2000, month, day)) return undefined;
    const [wm, wd] = dayFirst ? [b!.length, a!.length] : [a!.length, b!.length];
    return {
      year, month, day,
      render: wrap((ny, nm, nd) => {
        const mm = pad(nm, wm);
        const dd = pad(nd, wd);
        const yy = y === undefined ? '' : sep + (y.length === 2 ? pad(ny % 100, 2) : pad(ny, 4));
        return (dayFirst ? `${dd}${sep}${mm}` : `${mm}${sep}${dd}`) + yy;
      }),
    };
  }
  m = wordRe.exec(s);
  if (m) {
    const [, d1, suf1, of, monthWord, sep2, d2, suf2, sep3, y] = m;
    const month = monthFromWord(monthWord!);
    if (month === undefined || (d1 !== undefined && d2 !== undefined)) return undefined;
    const dayText = d1 ?? d2;
    const day = dayText === undefined ? undefined : Number(dayText);
    if (day === undefined && y === undefined) return undefined;
    const year = y === undefined ? undefined : y.startsWith("'") ? twoDigitYear(Number(y.slice(1))) : Number(y);
    if (!valid(year ?? 2000, month, day)) return undefined;
    const the = /^the\s+/i.exec(s)?.[0] ?? '';
    const suffix = suf1 ?? suf2;
    return {
      year, month, day,
      render: wrap((ny, nm, nd) => {
        const dayOut = day === undefined ? '' : String(nd) + (suffix === undefined ? '' : suffix === suffix.toUpperCase() ? ordinal(nd).toUpperCase() : ordinal(nd));
        const monthOut = renderMonth(monthWord!, nm);
        const yearOut = y === undefined ? '' : (sep3 ?? '') + (y.startsWith("'") ? `'${pad(ny % 100, 2)}` : String(ny));
        return d1 !== undefined ? `${the}${dayOut}${of}${monthOut}${yearOut}` : `${monthOut}${day === undefined ? '' : (sep2 ?? ' ') + dayOut}${yearOut}`;
      }),
    };
  }
  return undefined;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function valid(year: number, month: number, day: number | undefined): boolean {
  if (year < 1 || year > 9999 || month < 1 || month > 12) return false;
  return day === undefined || (day >= 1 && day <= daysInMonth(year, month));
}

/**
 * Shifts one written date by `days`, keeping its written form; `undefined` if the text is not a
 * date this module reads (callers then fall back to redaction). A date without a year is shifted
 * within a leap year so 29 February survives; a date without a day is shifted from its 15th.
 */
export function shiftWrittenDate(text: string, days: number): string | undefined {
  const parsed = parseWrittenDate(text);
  if (!parsed) return undefined;
  const base = Date.UTC(parsed.year ?? 2000, parsed.month - 1, parsed.day ?? 15);
  const shifted = new Date(base + days * 86_400_000);
  const year = shifted.getUTCFullYear();
  if (year < 1 || year > 9999) return undefined;
  return parsed.render(year, shifted.getUTCMonth() + 1, shifted.getUTCDate());
}

/** The year of a written date, four digits; `undefined` when the text has no year or is not a date. */
export function writtenDateYear(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d{4}$/.test(trimmed)) return Number(trimmed);
  return parseWrittenDate(text)?.year;
}
