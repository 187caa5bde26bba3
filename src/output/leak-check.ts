// SPDX-License-Identifier: Apache-2.0
/**
 * The cross-patient leak check: finds identifiers in a piece of model output with the
 * de-identification engine (plus the output sweeps, sweeps.ts) and classifies each one:
 *
 * - `token` — a phigate token (`[NAME_1]`). Never a leak: re-identification replaces only tokens
 *   this conversation issued, for the caller who sent their values, and leaves others as text;
 * - `allowed` — one of the request's own identifiers (allowed.ts);
 * - `ignored` — a category that does not identify a person across patients (by default dates,
 *   ages, organisations, professions, and places above street level);
 * - `leak` — anything else: another patient's identifier, to be redacted or to block the answer.
 *
 * A URL is not an identifier by itself; it is a leak when its decoded path, query or fragment
 * carries one. Numbers and codes are judged whole: a finding inside a longer code ("98828282"
 * of "98828282-1111-…") stands for the whole code.
 *
 * Findings carry offsets and categories only; nothing here logs, keeps or returns matched text.
 */
import type { Dictionaries } from '../deid/dictionaries/index.js';
import { parseWrittenDate } from '../deid/date-shift.js';
import { mergeSpans } from '../deid/detectors/merge.js';
import { parseToken, tokenPattern } from '../deid/tokens.js';
import type { DetectOptions, KnownPhi, PhiCategory, Span } from '../deid/types.js';
import type { AllowedIdentifiers } from './allowed.js';
import { foldedWords, nameWords } from './normalise.js';
import { isCity, measurement, sweepCodes, sweepNames, sweepReferences, sweepStreets } from './sweeps.js';

export type Verdict = 'token' | 'allowed' | 'ignored' | 'leak';

/** One identifier found in output: where, what kind, and the verdict. Never the text. */
export interface Finding {
  readonly start: number;
  readonly end: number;
  readonly type: PhiCategory;
  readonly verdict: Verdict;
}

/** What the check needs from detection; `createDeidEngine()` satisfies it. */
export interface OutputDetector {
  detect(text: string, options?: DetectOptions): readonly Span[];
}

export interface LeakCheckerOptions {
  readonly detector: OutputDetector;
  readonly dictionaries: Dictionaries;
  /** Categories that identify a person across patients (config `output.leakCategories`). */
  readonly leakCategories: readonly PhiCategory[];
  readonly language?: 'en' | 'es';
}

/** What one answer's check remembers between its parts: words of names found to be leaks. */
export interface LeakMemory {
  readonly leakedNameWords: Set<string>;
}

export function createLeakMemory(): LeakMemory {
  return { leakedNameWords: new Set() };
}

export interface LeakCheckInput {
  /** Context (already checked) followed by the part to check. */
  readonly text: string;
  /** Where the part to check starts; findings end after it. */
  readonly from: number;
  readonly allowed: AllowedIdentifiers;
  readonly known?: KnownPhi | undefined;
  readonly memory: LeakMemory;
  /** Identifiers of other recently served patients found in a text (recent-patients.ts). */
  readonly recent?: ((text: string) => readonly Span[]) | undefined;
  /** Set on the second look inside a long merged span; it does not look again. */
  readonly nested?: boolean;
}

export interface LeakChecker {
  check(input: LeakCheckInput): Finding[];
}

const clinicalWord = /(?:itis|osis|ectomy|otomy|ostomy|plasty|gram|graphy|scopy|emia|oma|ase|pril|olol|sartan|statin|mab|nib|cillin|mycin|cycline|azole|dipine|afil|tidine|ism|ology|pathy|algia|trophy|plasia|cyte|tomy|uria|penia|betes)$/;
const idTypes: ReadonlySet<PhiCategory> = new Set(['MRN', 'SSN', 'HEALTH_PLAN', 'ACCOUNT', 'LICENSE', 'VEHICLE', 'DEVICE', 'ID', 'PHONE', 'FAX', 'BIOMETRIC']);
const codeChar = /[\p{L}\p{N}]/u;

/**
 * The text detection reads: tokens and JSON punctuation become spaces (same length, so offsets
 * hold), so `{"mrn":"123"}` reads like `mrn: 123` and a token never joins a neighbouring name.
 */
export function detectionView(text: string): { view: string; tokens: { start: number; end: number; type: PhiCategory }[] } {
  const tokens: { start: number; end: number; type: PhiCategory }[] = [];
  let view = text;
  if (text.includes('[')) {
    view = text.replace(tokenPattern(), (token, offset: number) => {
      const parsed = parseToken(token);
      if (!parsed) return token;
      tokens.push({ start: offset, end: offset + token.length, type: parsed.type });
      return ' '.repeat(token.length);
    });
  }
  return { view: view.replace(/["{}[\]\\]/g, ' '), tokens };
}

/** The whole code a finding sits in: letters and digits joined by "-" or "_" ("98828282" → the full UUID). */
function wholeCode(view: string, start: number, end: number): { start: number; end: number } {
  let s = start;
  let e = end;
  for (;;) {
    if (s > 0 && codeChar.test(view[s - 1] ?? '')) s--;
    else if (s > 1 && /[-_]/.test(view[s - 1] ?? '') && codeChar.test(view[s - 2] ?? '')) s -= 2;
    else break;
  }
  for (;;) {
    if (e < view.length && codeChar.test(view[e] ?? '')) e++;
    else if (e + 1 < view.length && /[-_]/.test(view[e] ?? '') && codeChar.test(view[e + 1] ?? '')) e += 2;
    else break;
  }
  return { start: s, end: e };
}

/** A URL's path, query and fragment as words: percent-decoding, `+`, and separators become spaces. */
export function urlText(url: string): string {
  let decoded = url;
  for (let round = 0; round < 3; round++) {
    try {
      const next = decodeURIComponent(decoded.replace(/\+/g, ' '));
      if (next === decoded) break;
      decoded = next;
    } catch {
      break;
    }
  }
  const afterHost = decoded.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '').replace(/^www\.[^/?#]*/i, '');
  return afterHost.replace(/[/?#&=;,]+/g, ' : ').replace(/[_.]+/g, ' ');
}

/** Builds a checker; reuse it across requests (the detector and dictionaries are shared). */
export function createLeakChecker(options: LeakCheckerOptions): LeakChecker {
  const leakCategories: ReadonlySet<PhiCategory> = new Set(options.leakCategories);
  const language = options.language ?? 'en';

  const spansOf = (view: string, known: KnownPhi | undefined, memory: LeakMemory, recent: LeakCheckInput['recent']): Span[] => {
    // Detection runs without the patient's known values on purpose: the engine merges a known span
    // with whatever overlaps it, and a merged span could carry another identifier in with the
    // patient's own. Every finding is compared with the patient context afterwards instead.
    void known;
    const detected = options.detector.detect(view, { language });
    // Forms of other patients this gateway served join the engine's spans, so one category names them.
    const others = recent?.(view) ?? [];
    const references = sweepReferences(view, options.dictionaries);
    const engine = others.length === 0 && references.length === 0 ? detected : mergeSpans([...detected, ...others, ...references]);
    const names = sweepNames(view, engine, options.dictionaries, memory.leakedNameWords);
    const streets = sweepStreets(view, [...engine, ...names], options.dictionaries);
    const codes = sweepCodes(view, [...engine, ...names, ...streets]);
    return names.length === 0 && streets.length === 0 && codes.length === 0 ? [...engine] : mergeSpans([...engine, ...names, ...streets, ...codes]);
  };

  /**
   * The engine's name guesses (dictionary and context, not labels or known values) that are not
   * names after all: a town after a place word or an address ("in Boston", "…Suite 50, Worcester"),
   * or one clinical word in no name list ("with Prediabetes"). A word of a name already found to be
   * another patient's stays a leak; the patient's own words stay allowed.
   */
  const nameGuess = (view: string, span: Span, text: string, allowed: AllowedIdentifiers, memory: LeakMemory): Verdict | undefined => {
    if (allowed.allows('NAME', text)) return 'allowed';
    const words = nameWords(text);
    if (words.some((word) => memory.leakedNameWords.has(word))) return 'leak';
    const before = view.slice(Math.max(0, span.start - 24), span.start);
    const dict = options.dictionaries;
    if (isCity(dict, foldedWords(text)) && (/\b(?:in|from|to|at|near|of|visiting|outside|around)\s{1,3}$/i.test(before) || /\d[\p{L}\d .#-]{0,40},\s{0,2}$/u.test(before))) return 'ignored';
    if (words.length === 1) {
      const word = words[0] as string;
      const listed = dict.firstNames.has(word) || dict.lastNames.has(word);
      const stem = word.replace(/^(?:pre|post|hyper|hypo|anti|non|sub|peri|intra|inter|poly|pseudo|neuro|cardio|gastro)/, '');
      if (!listed && (dict.keep.has(word) || clinicalWord.test(word) || (stem !== word && (dict.commonWords.has(stem) || dict.keep.has(stem))))) return 'ignored';
    }
    return undefined;
  };

  /** Whether a span of a leak category is identifying at all (street level for places). */
  const identifying = (type: PhiCategory, text: string): boolean => {
    if (!leakCategories.has(type)) return false;
    if (type === 'LOCATION') return /\p{N}/u.test(text) && /\p{L}{2}/u.test(text);
    return /[\p{L}\p{N}]/u.test(text);
  };

  const judge = (view: string, span: Span, input: LeakCheckInput): { verdict: Verdict; type: PhiCategory; start: number; end: number } => {
    const { allowed, known, memory, recent } = input;
    const text = view.slice(span.start, span.end);
    if (span.type === 'URL') {
      if (!leakCategories.has('URL') || allowed.allows('URL', text)) return { verdict: leakCategories.has('URL') ? 'allowed' : 'ignored', type: 'URL', start: span.start, end: span.end };
      // ".../fhir/Patient/p-other": the reference is read as written, before the path is split into words
      for (const reference of sweepReferences(text, options.dictionaries)) {
        const referenceText = text.slice(reference.start, reference.end);
        if (identifying('ID', referenceText) && !allowed.allows('ID', referenceText)) return { verdict: 'leak', type: 'ID', start: span.start, end: span.end };
      }
      const inner = urlText(text);
      const { view: innerView } = detectionView(inner);
      for (const innerSpan of spansOf(innerView, known, memory, recent)) {
        if (innerSpan.type === 'URL') continue;
        const innerText = innerView.slice(innerSpan.start, innerSpan.end);
        if (identifying(innerSpan.type, innerText) && !allowed.allows(innerSpan.type, innerText)) return { verdict: 'leak', type: innerSpan.type, start: span.start, end: span.end };
      }
      return { verdict: 'ignored', type: 'URL', start: span.start, end: span.end };
    }
    if (span.type === 'NAME' && span.confidence < 0.9) {
      const verdict = nameGuess(view, span, text, allowed, memory);
      if (verdict !== undefined) return { verdict, type: 'NAME', start: span.start, end: span.end };
    }
    // A "licence" or "id" that reads as a calendar day ("mg/dL on 2017-12-09") is a date.
    if (idTypes.has(span.type) && /^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}$/.test(text.trim()) && parseWrittenDate(text) !== undefined) {
      return { verdict: leakCategories.has('DATE') && !allowed.allows('DATE', text) ? 'leak' : leakCategories.has('DATE') ? 'allowed' : 'ignored', type: 'DATE', start: span.start, end: span.end };
    }
    // "1000MG", "2x3cm": a dose or a size is no code
    if (idTypes.has(span.type) && span.type !== 'PHONE' && span.type !== 'FAX' && measurement.test(text.replace(/[\s-]/g, ''))) return { verdict: 'ignored', type: span.type, start: span.start, end: span.end };
    let { start, end } = span;
    if (idTypes.has(span.type)) ({ start, end } = wholeCode(view, span.start, span.end));
    const whole = view.slice(start, end);
    if (!identifying(span.type, text) && !identifying(span.type, whole)) return { verdict: 'ignored', type: span.type, start, end };
    const own = allowed.allows(span.type, text) || (whole !== text && allowed.allows(span.type, whole));
    return { verdict: own ? 'allowed' : 'leak', type: span.type, start, end };
  };

  const this_: LeakChecker = {
    check(input) {
      const { text, from, allowed, memory } = input;
      const { view, tokens } = detectionView(text);
      const findings: Finding[] = [];
      for (const token of tokens) if (token.end > from) findings.push({ ...token, verdict: 'token' });
      if (!/[\p{L}\p{N}]/u.test(view.slice(from))) return findings;
      const spans = spansOf(view, input.known, memory, input.recent);
      const judgeAll = (list: readonly Span[]): boolean => {
        let learned = false;
        for (const span of list) {
          if (span.end <= from) continue;
          const judged = judge(view, span, input);
          // The engine merges overlapping spans under the most confident one's category, so a long
          // span judged harmless (a "date" or an address line) is checked again on its own: another
          // identifier it swallowed is still found.
          if (judged.verdict !== 'leak' && !input.nested && /\s\S+\s\S+\s/.test(view.slice(span.start, span.end))) {
            const inner = this_.check({ ...input, text: text.slice(span.start, span.end), from: 0, nested: true });
            const innerLeaks = inner.filter((f) => f.verdict === 'leak');
            if (innerLeaks.length > 0) {
              for (const f of innerLeaks) findings.push({ ...f, start: f.start + span.start, end: f.end + span.start });
              learned = true;
              continue;
            }
          }
          findings.push({ start: judged.start, end: judged.end, type: judged.type, verdict: judged.verdict });
          if (judged.verdict !== 'leak' || judged.type !== 'NAME') continue;
          for (const word of nameWords(view.slice(span.start, span.end))) {
            if (word.length >= 3 && !memory.leakedNameWords.has(word) && !allowed.allows('NAME', word)) {
              memory.leakedNameWords.add(word);
              learned = true;
            }
          }
        }
        return learned;
      };
      // A name found to be a leak is looked for again in the same part ("Bob Keeling … Keeling's").
      if (judgeAll(spans)) judgeAll(sweepNames(view, spans, options.dictionaries, memory.leakedNameWords).filter((s) => !spans.some((t) => t.start < s.end && s.start < t.end)));
      return findings.sort((a, b) => a.start - b.start);
    },
  };
  return this_;
}

/**
 * Replaces every leak in `text[from…]` with `marker`, keeping JSON string quotes and backslashes
 * (so tool-call arguments stay parseable). Overlapping or touching leaks become one marker.
 */
export function redactLeaks(text: string, from: number, findings: readonly Finding[], marker: string): string {
  const leaks = findings
    .filter((f) => f.verdict === 'leak' && f.end > from)
    .map((f) => ({ start: Math.max(f.start, from), end: f.end }))
    .sort((a, b) => a.start - b.start);
  let out = '';
  let at = from;
  for (const leak of leaks) {
    if (leak.end <= at) continue;
    const start = Math.max(leak.start, at);
    out += text.slice(at, start);
    out += text.slice(start, leak.end).replace(/[^"\\\n]+/g, marker);
    at = leak.end;
  }
  return out + text.slice(at);
}
