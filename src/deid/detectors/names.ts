// SPDX-License-Identifier: Apache-2.0
/**
 * Person names and place names from dictionaries, decided per token in one pass over the text.
 *
 * After PhysioNet deid: a name that is also an ordinary word ("Will", "Hope", "Brown") is found
 * only with context (a title, a neighbouring unambiguous name, "Last, First", a kinship word);
 * eponyms and drug names are kept unless a title or label says otherwise; and a name found once
 * is found everywhere else in the document (propagation).
 */
import type { Span } from '../types.js';
import type { Dictionaries, TokenTrie } from '../dictionaries/index.js';

const kinds = { word: 0, keep: 1, unknown: 2, weak: 3, strong: 4, initial: 5 } as const;
type Kind = (typeof kinds)[keyof typeof kinds];

interface Token {
  start: number;
  /** End of the word, without a possessive "'s". */
  end: number;
  lower: string;
  cap: boolean;
  kind: Kind;
}

const titles = new Set(['dr', 'doctor', 'mr', 'mrs', 'ms', 'miss', 'mx', 'prof', 'professor', 'sr', 'sra', 'srta', 'dra', 'don', 'doña', 'dña', 'nurse', 'mister', 'madam', 'sir', 'rev', 'señor', 'señora']);
const triggers = new Set([
  'named', 'by', 'son', 'daughter', 'wife', 'husband', 'mother', 'father', 'brother', 'sister', 'spouse', 'partner', 'friend', 'dear', 'hi',
  'hello', 'thanks', 'cc', 'attn', 'per', 'with', 'called', 'contact', 'caregiver', 'guardian', 'aunt', 'uncle', 'grandmother', 'grandfather',
  'niece', 'nephew', 'cousin', 'fiancé', 'fiance', 'girlfriend', 'boyfriend', 'colleague', 'neighbor', 'roommate', 'is', 'am', 'por', 'hijo', 'hija',
  'esposo', 'esposa', 'madre', 'padre', 'hermano', 'hermana',
]);
/** Words after a name that turn it into an eponym or a product. */
const eponymHeads = new Set([
  'disease', 'syndrome', 'sign', 'signs', 'test', 'maneuver', 'manoeuvre', 'score', 'scale', 'catheter', 'procedure', 'reflex', 'palsy', 'fracture',
  'phenomenon', 'lymphoma', 'sarcoma', 'tumor', 'tumour', 'criteria', 'classification', 'operation', 'repair', 'method', 'technique', 'position',
  'stockings', 'monitor', 'bag', 'tube', 'forceps', 'retractor', 'clamp', 'incision', 'node', 'nodes', 'ulcer', 'contracture', 'triad', 'law',
  'hernia', 'diverticulum', 'esophagus', 'disorder', 'dementia', 'chorea', 'retractors', 'elevator', 'drape', 'drapes', 'stain', 'staging',
  'enfermedad', 'síndrome', 'sindrome', 'signo', 'prueba', 'escala',
]);
const placePrepositions = new Set(['in', 'from', 'at', 'near', 'to', 'of', 'en', 'de', 'desde', 'hacia', 'visiting', 'moved', 'lives']);
const stateWords = /^(?:AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY)$/;

const tokenRe = /\p{L}[\p{L}\p{M}]*(?:['’-]\p{L}[\p{L}\p{M}]*){0,4}\d{0,6}/gu;

/** Finds names and dictionary places; `out` receives spans. */
export interface NameDetector {
  /** `seeds`: lower-cased words of names other detectors found, propagated like its own. */
  detect(text: string, out: Span[], seeds?: ReadonlySet<string>): void;
}

export function createNameDetector(dict: Dictionaries): NameDetector {
  function classify(word: string, cap: boolean): Kind {
    const lower = word.toLowerCase();
    if (!cap) return kinds.word;
    if (word.length === 1) return kinds.initial;
    if (dict.keep.has(lower)) return kinds.keep;
    const isName = dict.firstNames.has(lower) || dict.lastNames.has(lower);
    if (isName) return dict.ambiguousNames.has(lower) ? kinds.weak : kinds.strong;
    if (dict.commonWords.has(lower)) return kinds.word;
    return kinds.unknown;
  }

  function tokenize(text: string): Token[] {
    const tokens: Token[] = [];
    tokenRe.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = tokenRe.exec(text)) !== null) {
      let word = m[0];
      const start = m.index;
      // possessive and Synthea-style numeric suffixes are not part of the name lookup
      let end = start + word.length;
      if (/['’]s$/i.test(word)) {
        word = word.slice(0, -2);
        end -= 2;
      }
      const alpha = word.replace(/\d+$/, '');
      const first = alpha[0] ?? '';
      const cap = first !== first.toLowerCase();
      const allCaps = alpha.length > 1 && alpha === alpha.toUpperCase();
      let kind = classify(alpha, cap);
      // an all-capitals word is a heading more often than a name, unless the dictionary is sure
      if (allCaps && (kind === kinds.unknown || alpha.length <= 4)) kind = kinds.word;
      // "Name:" is a label, not a name
      if (text[end] === ':') kind = kinds.word;
      if (alpha.length !== word.length && kind === kinds.unknown && /\d{2,}$/.test(word) && alpha.length >= 3) kind = kinds.weak;
      tokens.push({ start, end, lower: alpha.toLowerCase(), cap, kind });
    }
    return tokens;
  }

  /** Tokens i and i+1 sit next to each other inside one name ("John Smith", "J. Smith"). */
  function adjacent(text: string, a: Token, b: Token): boolean {
    const gap = text.slice(a.end, b.start);
    if (gap === ' ') return true;
    if (gap === '. ' || gap === '.') return a.end - a.start === 1 || a.lower === 'st';
    return gap === '  ' || gap === ' \n' || (gap === "'s " && false);
  }

  function nameish(t: Token): boolean {
    return t.kind === kinds.strong || t.kind === kinds.weak || t.kind === kinds.unknown || t.kind === kinds.initial;
  }

  function matchCity(tokens: Token[], i: number): number {
    let node: TokenTrie | undefined = dict.cities;
    let best = -1;
    for (let j = i; j < tokens.length && j < i + 5; j++) {
      const t = tokens[j];
      if (!t || !t.cap) break;
      node = node.next.get(t.lower);
      if (!node) break;
      if (node.end) best = j;
    }
    return best;
  }

  return {
    detect(text: string, out: Span[], seeds?: ReadonlySet<string>): void {
      const tokens = tokenize(text);
      const n = tokens.length;
      const isName = new Uint8Array(n);
      // eponym context turns a name into clinical vocabulary
      for (let i = 0; i + 1 < n; i++) {
        const t = tokens[i];
        const next = tokens[i + 1];
        if (!t || !next) continue;
        if ((t.kind === kinds.strong || t.kind === kinds.unknown || t.kind === kinds.weak) && eponymHeads.has(next.lower) && next.start - t.end <= 3) t.kind = kinds.keep;
      }
      for (let i = 0; i < n; i++) {
        const t = tokens[i];
        if (!t) continue;
        const prev = tokens[i - 1];
        // a title or a trigger word: the capitalised run after it is a name whatever its words
        const titled = prev !== undefined && titles.has(prev.lower) && t.cap && t.start - prev.end <= 3;
        const triggered = prev !== undefined && triggers.has(prev.lower) && t.start - prev.end <= 2 && (t.kind === kinds.strong || t.kind === kinds.unknown || t.kind === kinds.weak);
        if (titled || triggered || t.kind === kinds.strong) {
          if (!titled && triggered && t.kind !== kinds.strong) {
            // a trigger needs a name-looking word: an unknown capitalised word at a sentence start is not enough
            const before = text.slice(Math.max(0, t.start - 3), t.start);
            if (/[.!?:\n]\s*$/.test(before) && prev?.lower !== 'by') continue;
          }
          let j = i;
          while (j + 1 < n) {
            const a = tokens[j];
            const b = tokens[j + 1];
            if (!a || !b || !adjacent(text, a, b)) break;
            if (!(nameish(b) || (titled && b.cap && b.kind === kinds.keep))) break;
            if (j - i >= 4) break;
            j++;
          }
          let k = i;
          while (k - 1 >= 0 && !titled) {
            const a = tokens[k - 1];
            const b = tokens[k];
            if (!a || !b || !adjacent(text, a, b) || !nameish(a)) break;
            if (i - k >= 3) break;
            k--;
          }
          for (let x = k; x <= j; x++) isName[x] = 1;
          i = j;
          continue;
        }
        // "Last, First"
        if (t.kind === kinds.unknown || t.kind === kinds.weak) {
          const next = tokens[i + 1];
          if (next && next.kind === kinds.strong && text.slice(t.end, next.start) === ', ' && dict.firstNames.has(next.lower)) {
            isName[i] = 1;
            isName[i + 1] = 1;
          }
        }
      }
      // propagation: every other capitalised occurrence of a word found in a name
      const found = new Set<string>(seeds);
      for (let i = 0; i < n; i++) {
        const t = tokens[i];
        if (isName[i] && t && t.lower.length >= 3 && t.kind !== kinds.keep && t.kind !== kinds.initial && !dict.commonWords.has(t.lower)) found.add(t.lower);
      }
      if (found.size > 0) {
        for (let i = 0; i < n; i++) {
          const t = tokens[i];
          if (t && !isName[i] && t.cap && t.kind !== kinds.keep && found.has(t.lower)) isName[i] = 2;
        }
      }
      // places
      const isPlace = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const t = tokens[i];
        if (!t || !t.cap || isName[i]) continue;
        const last = matchCity(tokens, i);
        if (last < 0) continue;
        const single = last === i;
        if (single && t.kind === kinds.keep) continue;
        const ambiguous = dict.ambiguousCities.has(t.lower) || t.kind === kinds.word || t.kind === kinds.weak;
        if (single && ambiguous) {
          const prev = tokens[i - 1];
          const afterText = text.slice(t.end, t.end + 5);
          const stateAfter = /^,? ?([A-Z]{2})\b/.exec(afterText);
          const okPrev = prev !== undefined && placePrepositions.has(prev.lower) && t.start - prev.end <= 2;
          if (!okPrev && !(stateAfter && stateWords.test(stateAfter[1] ?? ''))) continue;
        }
        for (let x = i; x <= last; x++) isPlace[x] = 1;
        i = last;
      }
      // emit merged runs
      let i = 0;
      while (i < n) {
        const t = tokens[i];
        if (!t) break;
        if (isName[i] || isPlace[i]) {
          const place = !isName[i];
          let j = i;
          while (j + 1 < n && (place ? isPlace[j + 1] && !isName[j + 1] : isName[j + 1])) {
            const a = tokens[j];
            const b = tokens[j + 1];
            if (!a || !b || !adjacent(text, a, b)) break;
            j++;
          }
          const last = tokens[j] ?? t;
          let end = last.end;
          // keep the period of an initial inside the span ("J.")
          if (last.end - last.start === 1 && text[end] === '.') end++;
          const start = t.start;
          const detector = place ? 'dictionary:cities' : isName[i] === 2 ? 'propagation:names' : 'dictionary:names';
          out.push({ start, end, type: place ? 'LOCATION' : 'NAME', detector, confidence: place ? 0.7 : 0.8 });
          i = j + 1;
          continue;
        }
        i++;
      }
    },
  };
}
