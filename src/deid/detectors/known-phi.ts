// SPDX-License-Identifier: Apache-2.0
/**
 * Known-PHI boost: the request's own patient values and their written variants (case, initials,
 * "Last, First", date formats, phone and id formatting) are always found. One expression is built
 * per call from the (few) values, so the text is still scanned once.
 */
import type { KnownPhi, PhiCategory, Span } from '../types.js';

const monthNames = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** "999-94-5397" → an expression that also matches "999945397" and "999 94 5397". */
function separated(value: string, separators: string): string | undefined {
  const chars = value.replace(/[^\p{L}\p{N}]/gu, '');
  if (chars.length < 4 || chars.length > 64) return undefined;
  return [...chars].map(escape).join(`${separators}`);
}

function dateVariants(value: string): string[] {
  const out = new Set<string>([value]);
  const iso = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(value);
  let y = 0;
  let mo = 0;
  let d = 0;
  if (iso) [y, mo, d] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
  else if (us) [mo, d, y] = [Number(us[1]), Number(us[2]), Number(us[3])];
  else {
    const t = Date.parse(value);
    if (!Number.isNaN(t)) {
      const dt = new Date(t);
      [y, mo, d] = [dt.getUTCFullYear(), dt.getUTCMonth() + 1, dt.getUTCDate()];
    }
  }
  if (y && mo >= 1 && mo <= 12 && d >= 1 && d <= 31) {
    const pad = (x: number): string => String(x).padStart(2, '0');
    const yy = pad(y % 100);
    const name = monthNames[mo - 1] ?? '';
    const short = name.slice(0, 3);
    const ord = d % 10 === 1 && d !== 11 ? 'st' : d % 10 === 2 && d !== 12 ? 'nd' : d % 10 === 3 && d !== 13 ? 'rd' : 'th';
    for (const v of [
      `${y}-${pad(mo)}-${pad(d)}`, `${pad(mo)}/${pad(d)}/${y}`, `${mo}/${d}/${y}`, `${mo}/${d}/${yy}`, `${pad(mo)}/${pad(d)}/${yy}`,
      `${pad(d)}/${pad(mo)}/${y}`, `${d}/${mo}/${y}`, `${pad(mo)}-${pad(d)}-${y}`, `${mo}-${d}-${y}`, `${d}.${mo}.${y}`, `${pad(d)}.${pad(mo)}.${y}`,
      `${name} ${d}, ${y}`, `${name} ${d} ${y}`, `${name} ${d}${ord}, ${y}`, `${short} ${d}, ${y}`, `${short}. ${d}, ${y}`, `${d} ${name} ${y}`,
      `${d} ${short} ${y}`, `the ${d}${ord} of ${name}, ${y}`, `${name} ${d}${ord}`, `${name} ${d}`, `${d} ${name}`, `${short} ${d}`,
    ]) out.add(v);
  }
  return [...out];
}

function nameVariants(value: string): { full: string[]; parts: string[] } {
  const clean = value.replace(/\s+/g, ' ').trim();
  const words = clean.split(/[\s,]+/).filter(Boolean);
  const full = new Set<string>([clean]);
  const parts = new Set<string>();
  const stripped = words.map((w) => w.replace(/\d+$/, ''));
  for (const list of [words, stripped]) {
    if (list.length >= 2) {
      const first = list[0] ?? '';
      const last = list[list.length - 1] ?? '';
      full.add(list.join(' '));
      full.add(`${last}, ${first}`);
      full.add(`${last},${first}`);
      full.add(`${first[0] ?? ''}. ${last}`);
      full.add(`${first[0] ?? ''} ${last}`);
      full.add(`${last} ${first[0] ?? ''}`);
      full.add(`${first} ${last}`);
    }
    for (const w of list) if (w.replace(/\./g, '').length >= 2) parts.add(w);
  }
  return { full: [...full].filter((f) => f.length >= 2), parts: [...parts] };
}

/** Finds the known values in `text` and appends their spans to `out`. */
export function detectKnownPhi(text: string, known: KnownPhi, out: Span[]): void {
  const entries: { source: string; type: PhiCategory }[] = [];
  const add = (source: string | undefined, type: PhiCategory): void => {
    if (source) entries.push({ source, type });
  };
  for (const name of known.names ?? []) {
    const { full, parts } = nameVariants(name);
    for (const f of full) add(escape(f).replace(/ /g, '\\s{1,3}'), 'NAME');
    for (const p of parts) add(`${escape(p)}(?:\\d{1,6})?`, 'NAME');
  }
  for (const date of known.dates ?? []) for (const v of dateVariants(date.trim())) add(escape(v).replace(/ /g, '\\s{1,3}'), 'DATE');
  for (const id of known.identifiers ?? []) {
    add(escape(id.value.trim()), id.type);
    add(separated(id.value, '[\\s./-]{0,2}'), id.type);
  }
  for (const phone of known.phones ?? []) {
    const digits = phone.replace(/\D/g, '');
    const national = digits.length === 11 && digits.startsWith('1') ? digits.slice(1) : digits;
    add(separated(national, '[\\s().-]{0,3}'), 'PHONE');
  }
  for (const email of known.emails ?? []) add(escape(email.trim()), 'EMAIL');
  for (const address of known.addresses ?? []) {
    add(escape(address.trim()).replace(/\s+/g, '\\s{1,3}'), 'LOCATION');
    for (const part of address.split(/[,\n]/)) {
      const p = part.trim();
      if (p.length >= 3) add(escape(p).replace(/\s+/g, '\\s{1,3}'), 'LOCATION');
    }
  }
  if (entries.length === 0) return;
  entries.sort((a, b) => b.source.length - a.source.length);
  const re = new RegExp(`(?<![\\p{L}\\p{N}])(?:${entries.map((e, i) => `(?<k${i}>${e.source})`).join('|')})(?![\\p{L}\\p{N}])`, 'giu');
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    let type: PhiCategory = 'ID';
    const groups = m.groups ?? {};
    for (let i = 0; i < entries.length; i++) {
      if (groups[`k${i}`] !== undefined) {
        type = entries[i]?.type ?? 'ID';
        break;
      }
    }
    out.push({ start: m.index, end: m.index + m[0].length, type, detector: 'known-phi', confidence: 1 });
  }
}
