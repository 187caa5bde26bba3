// SPDX-License-Identifier: Apache-2.0
/**
 * The patients this gateway process served recently, as a second way to find another patient's
 * identifiers in an answer. Detection (leak-check.ts) finds identifiers by their shape and the
 * name lists; it cannot tell that "bob keeling", written in lower case and made of two ordinary
 * words, is a person. But when the gateway has served Bob Keeling, it knows that pair is a
 * patient's name — so an answer for anyone else that contains it is a cross-patient leak,
 * whatever the case, spacing or order.
 *
 * What is kept: for each patient seen with a patient context (`ctx.patientPhi`), keyed hashes
 * of the canonical forms of their identifiers — name word pairs in either order and with an
 * initial ("B. Keeling"), phone digits,
 * record and other numbers without separators, e-mail addresses, house number with street word.
 * The key is random per process and never stored, entries live in memory only, expire after
 * `ttlMs` and the oldest are dropped beyond `maxPatients`; nothing is written to disk, and a
 * restart forgets everyone. Values themselves are never kept.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { KnownPhi, PhiCategory, Span } from '../deid/types.js';
import { addressWords, emailKey, foldText, identifierKey, nameWords, phoneKey } from './normalise.js';

export interface RecentPatientsOptions {
  readonly maxPatients: number;
  readonly ttlMs: number;
  readonly now?: () => number;
}

export interface RecentPatients {
  /** Records (or refreshes) a patient's identifiers under `patientKey` (the audit log's keyed patient hash). */
  register(patientKey: string, known: KnownPhi): void;
  /** Spans of `text` that are identifiers of a recently served patient other than `patientKey`. */
  find(text: string, patientKey: string | undefined): Span[];
  /** How many patients are held (for tests and metrics). */
  readonly size: number;
}

interface Entry {
  readonly forms: readonly string[];
  expiresAt: number;
}

const kinds: Readonly<Record<string, PhiCategory>> = { n: 'NAME', p: 'PHONE', i: 'ID', e: 'EMAIL', a: 'LOCATION' };

/** The canonical forms of a patient's identifiers, as `kind:form` strings. */
export function identifierForms(known: KnownPhi): string[] {
  const forms = new Set<string>();
  for (const name of known.names ?? []) {
    const words = nameWords(name).filter((w) => w.length >= 2);
    for (let i = 0; i < words.length; i++) {
      for (let j = i + 1; j < words.length; j++) {
        const [a, b] = [words[i] as string, words[j] as string];
        forms.add(`n:${a} ${b}`);
        forms.add(`n:${b} ${a}`);
        // "B. Keeling": an initial before a later name word
        forms.add(`n:${a[0]}. ${b}`);
      }
    }
  }
  const phone = (value: string): void => {
    const key = phoneKey(value);
    if (key.length >= 7) forms.add(`p:${key}`);
  };
  for (const value of known.phones ?? []) phone(value);
  for (const id of known.identifiers ?? []) {
    const key = identifierKey(id.value);
    if (key.length >= 6) forms.add(`i:${key}`);
    if (id.type === 'PHONE' || id.type === 'FAX') phone(id.value);
  }
  for (const email of known.emails ?? []) forms.add(`e:${emailKey(email)}`);
  for (const address of known.addresses ?? []) {
    const words = addressWords(address);
    if (words.length >= 2 && /^\d+[a-z]?$/.test(words[0] as string) && /\p{L}/u.test(words[1] as string)) forms.add(`a:${words[0]} ${words[1]}`);
  }
  return [...forms];
}

interface Candidate {
  readonly form: string;
  readonly start: number;
  readonly end: number;
}

const wordPattern = /[\p{L}\p{N}][\p{L}\p{N}\p{M}'’-]*/gu;

/** Every place in `text` a registered form could sit, with its offsets. */
function candidates(text: string): Candidate[] {
  const out: Candidate[] = [];
  const words: { start: number; end: number; word: string }[] = [];
  for (const m of text.matchAll(wordPattern)) {
    const word = foldText(m[0]).replace(/['’]s$/, '').replace(/['’]/g, '');
    words.push({ start: m.index, end: m.index + m[0].length, word });
  }
  for (let i = 0; i + 1 < words.length; i++) {
    const a = words[i] as (typeof words)[number];
    const b = words[i + 1] as (typeof words)[number];
    if (!/^[\s,.'’]{1,4}$/.test(text.slice(a.end, b.start))) continue;
    const first = a.word.replace(/\d+$/, '');
    const second = b.word.replace(/\d+$/, '');
    if (first.length >= 2 && second.length >= 2) out.push({ form: `n:${first} ${second}`, start: a.start, end: b.end });
    // an initial is a capital letter with a full stop: "B. Keeling", never the article "a keeling"
    if (first.length === 1 && second.length >= 2 && /^\p{Lu}\.\s{1,3}$/u.test(text.slice(a.start, b.start))) out.push({ form: `n:${first}. ${second}`, start: a.start, end: b.end });
    if (/^\d+[a-z]?$/.test(a.word) && /\p{L}/u.test(b.word)) out.push({ form: `a:${a.word} ${addressWords(b.word)[0] ?? b.word}`, start: a.start, end: b.end });
  }
  for (const m of text.matchAll(/\+?\(?\d[\d\s().-]{5,20}\d/g)) {
    const key = phoneKey(m[0]);
    if (key.length >= 7) out.push({ form: `p:${key}`, start: m.index, end: m.index + m[0].length });
    const digits = m[0].replace(/\D/g, '');
    if (digits.length >= 6) out.push({ form: `i:${digits}`, start: m.index, end: m.index + m[0].length });
  }
  for (const m of text.matchAll(/[\p{L}\p{N}]+(?:[-_./ ][\p{L}\p{N}]+){0,8}/gu)) {
    // a code, and each of its separated runs: "S99986740", "3f6fd0bb-6cd3-…", "999 12 9623"
    const key = identifierKey(m[0]);
    if (key.length >= 6 && key.length <= 64 && /\d/.test(key)) out.push({ form: `i:${key}`, start: m.index, end: m.index + m[0].length });
    for (const part of m[0].matchAll(/[\p{L}\p{N}]+(?:[-_][\p{L}\p{N}]+)*/gu)) {
      const partKey = identifierKey(part[0]);
      if (partKey !== key && partKey.length >= 6 && /\d/.test(partKey)) out.push({ form: `i:${partKey}`, start: m.index + part.index, end: m.index + part.index + part[0].length });
    }
  }
  for (const m of text.matchAll(/[\p{L}\p{N}._%+-]{1,64}@[\p{L}\p{N}-]{1,63}(?:\.[\p{L}\p{N}-]{1,63}){1,8}/gu)) out.push({ form: `e:${emailKey(m[0])}`, start: m.index, end: m.index + m[0].length });
  return out;
}

/** Creates the in-memory index of recently served patients. */
export function createRecentPatients(options: RecentPatientsOptions): RecentPatients {
  const now = options.now ?? Date.now;
  const key = randomBytes(32);
  const hash = (form: string): string => createHmac('sha256', key).update(form).digest('base64url').slice(0, 22);
  const patients = new Map<string, Entry>();
  const owners = new Map<string, Set<string>>();

  const forget = (patientKey: string, entry: Entry): void => {
    patients.delete(patientKey);
    for (const form of entry.forms) {
      const set = owners.get(form);
      set?.delete(patientKey);
      if (set?.size === 0) owners.delete(form);
    }
  };

  const sweep = (): void => {
    const t = now();
    // Map order is insertion order and registering re-inserts, so the oldest come first.
    for (const [patientKey, entry] of patients) {
      if (entry.expiresAt > t && patients.size <= options.maxPatients) break;
      forget(patientKey, entry);
    }
  };

  return {
    register(patientKey, known) {
      if (options.maxPatients <= 0) return;
      const existing = patients.get(patientKey);
      if (existing) forget(patientKey, existing);
      const forms = identifierForms(known).map(hash);
      patients.set(patientKey, { forms, expiresAt: now() + options.ttlMs });
      for (const form of forms) {
        let set = owners.get(form);
        if (!set) owners.set(form, (set = new Set()));
        set.add(patientKey);
      }
      sweep();
    },
    find(text, patientKey) {
      if (owners.size === 0) return [];
      sweep();
      const spans: Span[] = [];
      const seen = new Set<string>();
      for (const candidate of candidates(text)) {
        const at = `${candidate.start}:${candidate.end}`;
        if (seen.has(at)) continue;
        const set = owners.get(hash(candidate.form));
        // the request patient's own forms are never a leak, even when another patient shares them
        if (!set || (patientKey !== undefined && set.has(patientKey))) continue;
        seen.add(at);
        spans.push({ start: candidate.start, end: candidate.end, type: kinds[candidate.form[0] as string] ?? 'ID', detector: 'output:recent-patient', confidence: 0.95 });
      }
      return spans.sort((a, b) => a.start - b.start || a.end - b.end);
    },
    get size() {
      return patients.size;
    },
  };
}
