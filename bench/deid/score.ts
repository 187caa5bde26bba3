// SPDX-License-Identifier: Apache-2.0
/**
 * Token-level scoring, ported line for line from ../shared/peers/deid/score.mjs (prepare,
 * scoreDoc, the --safe-harbor exclusions) so the figures compare with the peer bench.
 */
import type { Doc } from './dev-set.js';

const shTypes = new Set(['OTHER', 'PROFESSION']);
const shOrig = new Set(['PAIS', 'LOCATION_COUNTRY']);

/** Safe Harbor scoring: left out spans count neither as misses nor as false alarms. */
export function isExcluded(s: { type: string; orig_type?: string }, text: string): boolean {
  if (shTypes.has(s.type) || (s.orig_type !== undefined && shOrig.has(s.orig_type))) return true;
  if (s.type === 'AGE') {
    const m = /\d+/.exec(text);
    if (m && Number(m[0]) <= 89) return true;
  }
  return false;
}

export interface Prepared {
  readonly doc: Doc;
  readonly bytes: number;
  /** Indexes of non-space gold PHI characters. */
  readonly goldIdx: Int32Array;
  /** Triples start, end, category index (-1 none, -2 excluded). */
  readonly toks: Int32Array;
  /** No scored gold PHI at all. */
  readonly phiFree: boolean;
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
  for (let i = 0; i < n; i++) if ((goldCat[i] ?? -1) >= 0 && !/\s/.test(doc.text[i] ?? ' ')) gidx.push(i);
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
  return { doc, bytes: Buffer.byteLength(doc.text, 'utf8'), goldIdx: Int32Array.from(gidx), toks: Int32Array.from(toks), phiFree: !spans.some((s) => !s.neutral) };
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
    if (any) {
      acc.flagged++;
      const key = flaggedType ?? '?';
      const row = acc.flaggedByType.get(key) ?? [0, 0];
      row[0]++;
      if (cat >= 0) row[1]++;
      acc.flaggedByType.set(key, row);
    }
    if (cat >= 0) {
      acc.gold++;
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
        acc.strict++;
        acc.strictByCat[cat] = (acc.strictByCat[cat] ?? 0) + 1;
      }
      if (any) {
        acc.anyHit++;
        acc.flaggedGold++;
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
