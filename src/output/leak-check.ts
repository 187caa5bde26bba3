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
import { mergeSpans } from '../deid/detectors/merge.js';
import { parseToken, tokenPattern } from '../deid/tokens.js';
import type { DetectOptions, KnownPhi, PhiCategory, Span } from '../deid/types.js';
import type { AllowedIdentifiers } from './allowed.js';
import { foldedWords, nameWords } from './normalise.js';
import { isCity, sweepNames, sweepStreets } from './sweeps.js';

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
}

export interface LeakChecker {
  check(input: LeakCheckInput): Finding[];
}

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

  const spansOf = (view: string, known: KnownPhi | undefined, memory: LeakMemory): Span[] => {
    const engine = options.detector.detect(view, { language, ...(known ? { knownPhi: known } : {}) });
    const names = sweepNames(view, engine, options.dictionaries, memory.leakedNameWords);
    const streets = sweepStreets(view, [...engine, ...names], options.dictionaries);
    return names.length === 0 && streets.length === 0 ? [...engine] : mergeSpans([...engine, ...names, ...streets]);
  };

  /** Whether a span of a leak category is identifying at all (street level for places). */
  const identifying = (type: PhiCategory, text: string): boolean => {
    if (!leakCategories.has(type)) return false;
    if (type === 'LOCATION') return /\p{N}/u.test(text) && /\p{L}{2}/u.test(text);
    return /[\p{L}\p{N}]/u.test(text);
  };

  const judge = (view: string, span: Span, allowed: AllowedIdentifiers, known: KnownPhi | undefined, memory: LeakMemory): { verdict: Verdict; type: PhiCategory; start: number; end: number } => {
    const text = view.slice(span.start, span.end);
    if (span.type === 'URL') {
      if (!leakCategories.has('URL') || allowed.allows('URL', text)) return { verdict: leakCategories.has('URL') ? 'allowed' : 'ignored', type: 'URL', start: span.start, end: span.end };
      const inner = urlText(text);
      const { view: innerView } = detectionView(inner);
      for (const innerSpan of spansOf(innerView, known, memory)) {
        if (innerSpan.type === 'URL') continue;
        const innerText = innerView.slice(innerSpan.start, innerSpan.end);
        if (identifying(innerSpan.type, innerText) && !allowed.allows(innerSpan.type, innerText)) return { verdict: 'leak', type: innerSpan.type, start: span.start, end: span.end };
      }
      return { verdict: 'ignored', type: 'URL', start: span.start, end: span.end };
    }
    // "to New York": a name-list hit that spells a town is a place, and places above street level are no leak
    if (span.type === 'NAME' && span.confidence < 0.9 && isCity(options.dictionaries, foldedWords(text))) return { verdict: 'ignored', type: 'NAME', start: span.start, end: span.end };
    let { start, end } = span;
    if (idTypes.has(span.type)) ({ start, end } = wholeCode(view, span.start, span.end));
    const whole = view.slice(start, end);
    if (!identifying(span.type, text) && !identifying(span.type, whole)) return { verdict: 'ignored', type: span.type, start, end };
    const own = allowed.allows(span.type, text) || (whole !== text && allowed.allows(span.type, whole));
    return { verdict: own ? 'allowed' : 'leak', type: span.type, start, end };
  };

  return {
    check({ text, from, allowed, known, memory }) {
      const { view, tokens } = detectionView(text);
      const findings: Finding[] = [];
      for (const token of tokens) if (token.end > from) findings.push({ ...token, verdict: 'token' });
      if (!/[\p{L}\p{N}]/u.test(view.slice(from))) return findings;
      const spans = spansOf(view, known, memory);
      const judgeAll = (list: readonly Span[]): boolean => {
        let learned = false;
        for (const span of list) {
          if (span.end <= from) continue;
          const judged = judge(view, span, allowed, known, memory);
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
