// SPDX-License-Identifier: Apache-2.0
/**
 * Token-level scoring, ported line for line from ../shared/peers/deid/score.mjs (prepare,
 * scoreDoc, the --safe-harbor exclusions) so the figures compare with the peer bench.
 */
import type { Doc } from './dev-set.js';
import { countries } from '../../src/deid/dictionaries/keep.js';

const shTypes = new Set(['OTHER', 'PROFESSION']);
const shOrig = new Set(['PAIS', 'LOCATION_COUNTRY']);
/**
 * Categories reported per category but kept out of the overall Safe Harbor figures: a company or
 * institution name is not one of the 18 identifiers (facilities are, and both corpora label those
 * LOCATION — MEDDOCAN HOSPITAL/CENTRO_SALUD, Presidio has none).
 */
export const informationalTypes: ReadonlySet<string> = new Set(['ORGANIZATION']);

/** Countries and US states: Presidio's GPE labels them, Safe Harbor does not remove them. */
const regionNames = new Set([
  ...countries.split(/\s+/).filter(Boolean),
  'united states', 'united states of america', 'united kingdom', 'south africa', 'new zealand', 'saudi arabia', 'sri lanka', 'costa rica',
  'puerto rico', 'el salvador', 'dominican republic', 'czech republic', 'south korea', 'north korea', 'united arab emirates', 'hong kong',
  'ivory coast', 'papua new guinea', 'trinidad and tobago', 'bosnia and herzegovina', 'north macedonia', 'greenland', 'faroe islands',
  'new hampshire', 'new jersey', 'new mexico', 'new york', 'north carolina', 'north dakota', 'south carolina', 'south dakota', 'rhode island',
  'west virginia', 'us', 'u.s.', 'u.s.a.', 'uk', 'u.k.', 'martinique', 'guadeloupe', 'reunion', 'macedonia', 'greenlander',
]);

/** Safe Harbor scoring: left out spans count neither as misses nor as false alarms. */
export function isExcluded(s: { type: string; orig_type?: string }, text: string): boolean {
  if (shTypes.has(s.type) || (s.orig_type !== undefined && shOrig.has(s.orig_type))) return true;
  // ../shared/data/deid/README.md: leave out LOCATION spans that are countries or states (Presidio GPE)
  if (s.orig_type === 'GPE' && regionNames.has(text.trim().toLowerCase().replace(/^the\s+/, ''))) return true;
  // Safe Harbor keeps the year of a date: a bare year ("founded in 1977") is no identifier
  if (s.type === 'DATE' && /^\s*(?:in\s+)?\d{4}\s*$/i.test(text)) return true;
  if (s.type === 'AGE') {
    const m = /\d+/.exec(text);
    if (m && Number(m[0]) <= 89) return true;
  }
  return false;
}

/**
 * orig_type of the dev set's pre-existing identifiers in third-party notes (real dates, "Dr. X"
 * placeholders): neutral in scoring, and a document carrying one is not counted as PHI-free.
 */
export const leftoverType = 'LEFTOVER';

export interface Prepared {
  readonly doc: Doc;
  readonly bytes: number;
  /** Indexes of non-space gold PHI characters. */
  readonly goldIdx: Int32Array;
  /** Triples start, end, category index (-1 none, -2 excluded). */
  readonly toks: Int32Array;
  /** No scored gold PHI at all. */
  readonly phiFree: boolean;
  /** Per category index: informational (kept out of the overall figures). */
  readonly info: readonly boolean[];
  /** Indexes of the gold characters (a subset of goldIdx) of informational categories. */
  readonly infoChars: Int32Array;
}

export class Categories {
  readonly names: string[] = [];
  private readonly map = new Map<string, number>();
  index(c: string): number {
    let i = this.map.get(c);
    if (i === undefined) {
      i = this.names.length;
      this.map.set(c, i);
      this.names.push(c);
    }
    return i;
  }
}

export function prepare(doc: Doc, cats: Categories): Prepared {
  const n = doc.text.length;
  const goldCat = new Int32Array(n).fill(-1);
  const spans = doc.phi.map((s) => ({ ...s, neutral: isExcluded(s, doc.text.slice(s.start, s.end)) }));
  for (const s of spans) {
    if (s.neutral) continue;
    const ci = cats.index(s.type);
    for (let i = s.start; i < s.end; i++) if ((goldCat[i] ?? 0) < 0) goldCat[i] = ci;
  }
  for (const s of spans) {
    if (!s.neutral) continue;
    for (let i = s.start; i < s.end; i++) if (goldCat[i] === -1) goldCat[i] = -2;
  }
  const gidx: number[] = [];
  const infoIdx: number[] = [];
  for (let i = 0; i < n; i++) {
    const g = goldCat[i] ?? -1;
    if (g >= 0 && !/\s/.test(doc.text[i] ?? ' ')) {
      gidx.push(i);
      if (informationalTypes.has(cats.names[g] ?? '')) infoIdx.push(i);
    }
  }
  const toks: number[] = [];
  const re = /\w+/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(doc.text)) !== null) {
    const s = m.index;
    const e = s + m[0].length;
    let cat = -1;
    for (let i = s; i < e; i++) {
      const g = goldCat[i] ?? -1;
      if (g >= 0) {
        cat = g;
        break;
      }
      if (g === -2) cat = -2;
    }
    toks.push(s, e, cat);
  }
  return { doc, bytes: Buffer.byteLength(doc.text, 'utf8'), goldIdx: Int32Array.from(gidx), toks: Int32Array.from(toks), phiFree: !spans.some((s) => !s.neutral) && !doc.phi.some((s) => s.orig_type === leftoverType),
    info: cats.names.map((c) => informationalTypes.has(c)), infoChars: Int32Array.from(infoIdx) };
}

export interface Acc {
  goldChars: number;
  coveredChars: number;
  goldCharsByCat: number[];
  coveredCharsByCat: number[];
  tokens: number;
  gold: number;
  strict: number;
  anyHit: number;
  flagged: number;
  flaggedGold: number;
  goldByCat: number[];
  strictByCat: number[];
  anyByCat: number[];
  /** Flagged tokens per detected type, and how many of them are gold PHI. */
  flaggedByType: Map<string, [number, number]>;
  phiFreeDocs: number;
  phiFreeTouched: number;
}

export function newAcc(): Acc {
  return {
    goldChars: 0, coveredChars: 0, goldCharsByCat: [], coveredCharsByCat: [], tokens: 0, gold: 0, strict: 0, anyHit: 0, flagged: 0, flaggedGold: 0,
    goldByCat: [], strictByCat: [], anyByCat: [], flaggedByType: new Map(), phiFreeDocs: 0, phiFreeTouched: 0,
  };
}

/** Scores one document; `spans` are [start, end, type?]. */
export function scoreDoc(p: Prepared, spans: readonly (readonly [number, number, string?])[], acc: Acc): void {
  const n = p.doc.text.length;
  const mask = new Uint8Array(n + 1);
  const typeAt: (string | undefined)[] = [];
  for (const sp of spans) {
    let s = Math.max(0, Math.floor(sp[0]));
    const e = Math.min(n, Math.floor(sp[1]));
    for (; s < e; s++) {
      mask[s] = 1;
      if (sp[2]) typeAt[s] = sp[2];
    }
  }
  const gi = p.goldIdx;
  acc.goldChars += gi.length;
  // per-category character recall needs the category of each gold character: take it from its token
  for (let k = 0; k < gi.length; k++) if (mask[gi[k] ?? 0]) acc.coveredChars++;
  acc.goldChars -= p.infoChars.length;
  for (let k = 0; k < p.infoChars.length; k++) if (mask[p.infoChars[k] ?? 0]) acc.coveredChars--;
  const t = p.toks;
  for (let k = 0; k < t.length; k += 3) {
    const s = t[k] ?? 0;
    const e = t[k + 1] ?? 0;
    const cat = t[k + 2] ?? -1;
    if (cat === -2) continue;
    let any = 0;
    let all = 1;
    let flaggedType: string | undefined;
    for (let i = s; i < e; i++) {
      if (mask[i]) {
        any = 1;
        flaggedType ??= typeAt[i];
      } else all = 0;
    }
    const info = cat >= 0 && (p.info[cat] ?? false);
    if (any && !info) acc.flagged++;
    if (any) {
      const key = flaggedType ?? '?';
      const row = acc.flaggedByType.get(key) ?? [0, 0];
      row[0]++;
      if (cat >= 0) row[1]++;
      acc.flaggedByType.set(key, row);
    }
    if (cat >= 0) {
      if (!info) acc.gold++;
      acc.goldByCat[cat] = (acc.goldByCat[cat] ?? 0) + 1;
      let gc = 0;
      let cc = 0;
      for (let i = s; i < e; i++) {
        gc++;
        if (mask[i]) cc++;
      }
      acc.goldCharsByCat[cat] = (acc.goldCharsByCat[cat] ?? 0) + gc;
      acc.coveredCharsByCat[cat] = (acc.coveredCharsByCat[cat] ?? 0) + cc;
      if (all) {
        if (!info) acc.strict++;
        acc.strictByCat[cat] = (acc.strictByCat[cat] ?? 0) + 1;
      }
      if (any) {
        if (!info) {
          acc.anyHit++;
          acc.flaggedGold++;
        }
        acc.anyByCat[cat] = (acc.anyByCat[cat] ?? 0) + 1;
      }
    }
  }
  acc.tokens += t.length / 3;
  if (p.phiFree) {
    acc.phiFreeDocs++;
    if (spans.length > 0) acc.phiFreeTouched++;
  }
}
