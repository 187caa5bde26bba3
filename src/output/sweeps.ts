// SPDX-License-Identifier: Apache-2.0
/**
 * Extra recall for the output filter. The de-identification engine is tuned for clinical notes,
 * where a false alarm costs a readable note; in an answer, a missed name of another patient is
 * a disclosure, while a false alarm only costs a redaction of a word that is neither in the
 * patient's context nor in the payload. So after the engine has run, these sweeps also flag:
 *
 * - runs of capitalised words from the name lists ("Bob Keeling", "Keeling, Bob", "BOB KEELING"),
 *   even at the start of a sentence and even when each word is also an ordinary word, as long as
 *   one word is an unambiguous name or the run reads first name then surname;
 * - a single capitalised unambiguous name ("Schimmel's labs"), or any surname after an initial
 *   ("J. Bode");
 * - the rest of a name the engine found in part ("Wolf, Michele" when it found "Michele");
 * - a lower-case name followed by a lower-case surname, the surname or a first name before it no
 *   ordinary word ("patria schimmel", "renato dare"; not "morse fall scale");
 * - a word of a name already found to be another patient's, wherever it recurs ("… Keeling's");
 * - a street address written in lower case ("301 wiza dale");
 * - a long code the engine's bounded patterns leave ("3F6FD0BB6CD3EB3F4401CD38ACE25F2B");
 * - a FHIR reference to a patient ("Patient/p-other", ".../fhir/Patient/4471"): a resource id
 *   identifies its patient as surely as a record number, and tool-call arguments name patients
 *   that way.
 *
 * Words the engine's keep list holds (eponyms, drug names, note vocabulary) and words with
 * clinical endings are never flagged by a sweep. Spans never overlap the engine's non-name spans.
 */
import type { Dictionaries } from '../deid/dictionaries/index.js';
import type { Span } from '../deid/types.js';

const clinicalEnding = /(?:al|ic|ous|itis|osis|ectomy|otomy|ostomy|plasty|gram|graphy|scopy|emia|oma|ase|ine|ide|ole|pril|olol|sartan|statin|mab|nib|cillin|mycin|cycline|azole|dipine|afil|tidine|ium|ism|ology|pathy|algia|trophy|plasia|ary|ive|oid|cyte|tomy)$/;
/** Mixed case inside a word marks a product, except name prefixes (after the engine's name detector). */
const productCase = /^(?!(?:Mc|Mac|De|Di|Da|La|Le|Van|Von|Du|St|O'|D')\p{Lu})\p{Lu}\p{Ll}+\p{Lu}/u;
/** "I'm", "don't": contractions are words, whatever the lists say. */
const contraction = /['’](?:m|ll|re|ve|d|t)$/i;
/** "Endo-GIA", "MIC-Key": a capitals part beside a lower-case part names a product. */
function mixedHyphen(word: string): boolean {
  const parts = word.split('-').filter((part) => part.length > 1);
  return parts.length > 1 && parts.some((part) => part === part.toUpperCase()) && parts.some((part) => part !== part.toUpperCase());
}
/**
 * Words after a name that make it an eponym or a product ("Holter monitor", "Murphy's sign",
 * "Glenn procedure"); a subset of the engine's list, for the words answers use.
 */
const eponymHeads = new Set([
  'disease', 'syndrome', 'sign', 'signs', 'test', 'maneuver', 'manoeuvre', 'score', 'scale', 'catheter', 'procedure', 'reflex', 'palsy',
  'fracture', 'phenomenon', 'lymphoma', 'sarcoma', 'tumor', 'tumour', 'criteria', 'classification', 'operation', 'repair', 'method',
  'technique', 'position', 'stockings', 'monitor', 'bag', 'tube', 'forceps', 'retractor', 'clamp', 'incision', 'node', 'nodes', 'ulcer',
  'hernia', 'disorder', 'dementia', 'drain', 'drains', 'valve', 'stent', 'device', 'approach', 'shunt', 'graft', 'flap', 'needle',
  'suture', 'scissors', 'elevator', 'rule', 'rules', 'index', 'ratio', 'formula', 'equation', 'type', 'solution', 'cream', 'diet',
  'questionnaire', 'inventory', 'criterion', 'staging', 'stain', 'line', 'pump', 'mask', 'cannula', 'sheath', 'balloon', 'tip',
]);
/** Words that stand before names without being part of them. */
const titleWords = new Set(['mr', 'mrs', 'ms', 'miss', 'mx', 'dr', 'doctor', 'prof', 'professor', 'nurse', 'patient', 'the', 'and', 'or', 'of', 'for', 'with', 'to', 'from', 'by', 'per']);

interface Word {
  readonly start: number;
  /** End without a possessive "'s". */
  readonly end: number;
  /** Lower case, record digits and possessive removed. */
  readonly bare: string;
  readonly cap: boolean;
  readonly lower: boolean;
  /** Written in capitals ("KEELING", "GU"): a name only beside another capitalised name word. */
  readonly upper: boolean;
  /** Mixed case inside the word ("SaO2", "ChloraPrep"): a product, not a name. */
  readonly product: boolean;
  /** Whitespace-only gap before the next word, or a comma and whitespace. */
  gapAfter: 'space' | 'comma' | 'initial' | 'other';
}

const wordPattern = /\p{L}[\p{L}\p{M}'’-]*(?:(?<=\p{L}{3})\d{1,6})?(?![\p{L}\p{N}])/gu;

function wordsOf(text: string): Word[] {
  const words: Word[] = [];
  for (const m of text.matchAll(wordPattern)) {
    const raw = m[0];
    const start = m.index;
    const possessive = /['’]s$/i.exec(raw.replace(/\d+$/, ''));
    const core = possessive ? raw.slice(0, raw.length - 2) : raw.replace(/['’]$/, '');
    const first = core[0] ?? '';
    const letters = core.replace(/\d+$/, '');
    words.push({
      start,
      end: start + core.length,
      bare: letters.toLowerCase(),
      cap: first !== first.toLowerCase(),
      lower: core === core.toLowerCase(),
      upper: letters.length > 1 && letters === letters.toUpperCase(),
      product: productCase.test(letters) || contraction.test(letters) || mixedHyphen(letters),
      gapAfter: 'other',
    });
  }
  for (let i = 0; i + 1 < words.length; i++) {
    const word = words[i] as Word;
    // a possessive ends a name ("Dare's Body Weight")
    const gap = text.slice(word.end, (words[i + 1] as Word).start);
    word.gapAfter = /^[ \t]{1,3}$/.test(gap) ? 'space' : /^,[ \t]{1,3}$/.test(gap) ? 'comma' : /^\.[ \t]{1,3}$/.test(gap) && word.end - word.start === 1 ? 'initial' : 'other';
  }
  return words;
}

function overlaps(spans: readonly Span[], start: number, end: number, test: (span: Span) => boolean): boolean {
  for (const span of spans) if (span.start < end && start < span.end && test(span)) return true;
  return false;
}

/** What the name lists say about one word. */
interface NameClass {
  readonly first: boolean;
  readonly last: boolean;
  /** In a name list and not also an ordinary word or clinical vocabulary. */
  readonly strong: boolean;
  /** In a name list and not clinical vocabulary (ambiguous names included). */
  readonly weak: boolean;
}

function classify(dict: Dictionaries, bare: string): NameClass {
  const parts = bare.split(/[-']/).filter((part) => part.length >= 2);
  // "Smith-Jones" is a name when each part is; "Passy-Muir", "Roux-en-Y" and "Up-to-date" are not
  const listed = (set: ReadonlySet<string>): boolean =>
    set.has(bare) || (parts.length > 1 && parts.every((part) => dict.firstNames.has(part) || dict.lastNames.has(part)) && parts.some((part) => set.has(part)));
  const vocabulary = bare.length < 3 || titleWords.has(bare) || dict.keep.has(bare) || clinicalEnding.test(bare) || (bare.endsWith('s') && dict.keep.has(bare.slice(0, -1)));
  const first = listed(dict.firstNames);
  const last = listed(dict.lastNames);
  const weak = (first || last) && !vocabulary;
  return { first, last, weak, strong: weak && !dict.ambiguousNames.has(bare) && !(parts.length > 1 && parts.every((part) => dict.commonWords.has(part))) };
}

/** Whether the words form a town or city of the dictionary ("Boston", "New York"): a place, not a person. */
export function isCity(dict: Dictionaries, words: readonly string[]): boolean {
  let node: Dictionaries['cities'] | undefined = dict.cities;
  for (const word of words) {
    node = node.next.get(word);
    if (!node) return false;
  }
  return node.end;
}

/** The word after `end` when only spaces (and a possessive) separate them. */
function wordAfter(text: string, words: readonly Word[], index: number): Word | undefined {
  const here = words[index];
  const next = words[index + 1];
  if (!here || !next) return undefined;
  return /^(?:['’]s)?[ \t]{1,3}$/.test(text.slice(here.end, next.start)) ? next : undefined;
}

/**
 * Name spans the engine did not report. `leaked` holds lower-cased words of names already found
 * to be another patient's in earlier parts of the same answer.
 */
export function sweepNames(text: string, spans: readonly Span[], dict: Dictionaries, leaked: ReadonlySet<string> = new Set()): Span[] {
  const out: Span[] = [];
  const words = wordsOf(text);
  const classes = words.map((word) => classify(dict, word.bare));
  const blocked = (word: Word): boolean => overlaps(spans, word.start, word.end, (span) => span.type !== 'NAME');
  const inName = (word: Word): boolean => overlaps(spans, word.start, word.end, (span) => span.type === 'NAME');
  const push = (start: number, end: number): void => {
    out.push({ start, end, type: 'NAME', detector: 'output:names', confidence: 0.75 });
  };
  const nameWord = (k: number): boolean => {
    const word = words[k] as Word;
    return word.cap && !word.product && !blocked(word) && ((classes[k] as NameClass).weak || leaked.has(word.bare) || inName(word));
  };
  const isInitial = (k: number): boolean => {
    const word = words[k] as Word;
    return word.cap && word.end - word.start === 1 && !blocked(word);
  };

  let i = 0;
  while (i < words.length) {
    if (!nameWord(i)) {
      i++;
      continue;
    }
    // A run of capitalised name-list words; an initial ("J.") may sit inside it, one comma after its first word.
    let run: number[] = [i];
    let comma = false;
    let j = i;
    while (j + 1 < words.length) {
      const gap = (words[j] as Word).gapAfter;
      const joins = gap === 'space' || gap === 'initial' || (gap === 'comma' && !comma && run.length === 1);
      if (!joins || !(nameWord(j + 1) || isInitial(j + 1))) break;
      if (gap === 'comma') comma = true;
      run.push(j + 1);
      j++;
    }
    i = j + 1;
    const engineName = run.some((k) => inName(words[k] as Word));
    const named = (): number[] => run.filter((k) => !isInitial(k));
    if (engineName) {
      // The rest of a name the engine found in part: only name words that are no ordinary words
      // ("Wolf, Michele" when it found "Michele"; not "X. He" when it found "Dr. X").
      const extends_ = (k: number): boolean => {
        const word = words[k] as Word;
        const cls = classes[k] as NameClass;
        // a first name beside the surname the engine found may be an ordinary word too ("Rosenbaum, Van"),
        // and so may a surname before a comma ("Bode, Jackson") or a word of a name in capitals ("JACKSON BODE")
        return inName(word) || (cls.weak && word.bare.length >= 3 && (cls.strong || cls.first || (comma && cls.last) || allUpper || !dict.commonWords.has(word.bare)) && (!word.upper || allUpper));
      };
      // "MICHELE WOLF": capitals extend a name the engine found in capitals
      const allUpper = run.every((k) => (words[k] as Word).upper);
      while (run.length > 0 && !extends_(run[0] as number)) run = run.slice(1);
      while (run.length > 0 && !extends_(run[run.length - 1] as number)) run = run.slice(0, -1);
      if (run.length === 0 || run.every((k) => inName(words[k] as Word))) continue;
    } else {
      // A capitalised ordinary word opening the run ("See", "Her", "Dear") is no part of a name,
      // unless it is a first name followed by a surname ("Bob Keeling").
      while (run.length > 0) {
        const first = run[0] as number;
        const word = words[first] as Word;
        const nextIndex = run[1];
        const nextCls = nextIndex === undefined ? undefined : (classes[nextIndex] as NameClass);
        const firstName = nextCls !== undefined && (comma ? (classes[first] as NameClass).last && nextCls.first : (classes[first] as NameClass).first && nextCls.last);
        if ((dict.commonWords.has(word.bare) && !firstName && !leaked.has(word.bare)) || isInitial(first)) run = run.slice(1);
        else break;
      }
    }
    const kept = named();
    if (kept.length === 0) continue;
    const bares = kept.map((k) => (words[k] as Word).bare);
    const last = run[run.length - 1] as number;
    const after = wordAfter(text, words, last);
    let accept: boolean;
    if (engineName || bares.some((word) => leaked.has(word))) accept = true;
    else if ((after && eponymHeads.has(after.bare)) || isCity(dict, bares)) accept = false;
    else if (kept.length === 1) {
      const k = kept[0] as number;
      accept = (classes[k] as NameClass).strong && !(words[k] as Word).upper;
    } else {
      const upper = kept.map((k) => (words[k] as Word).upper);
      // capitals count only as a whole capitalised name ("BOB KEELING"), not beside ordinary words
      if (upper.some(Boolean) && !upper.every(Boolean)) accept = false;
      else {
        const a = classes[kept[0] as number] as NameClass;
        const b = classes[kept[1] as number] as NameClass;
        accept = kept.some((k) => (classes[k] as NameClass).strong) || (kept.length === 2 && (comma ? a.last && b.first : a.first && b.last));
      }
    }
    if (accept) push((words[run[0] as number] as Word).start, (words[last] as Word).end);
  }

  // "J. Bode", "M. Wolf": a capital initial with a full stop before a surname is a name, even when
  // the surname is also an ordinary word.
  for (let k = 0; k + 1 < words.length; k++) {
    const initial = words[k] as Word;
    const next = words[k + 1] as Word;
    const nextCls = classes[k + 1] as NameClass;
    if (initial.end - initial.start !== 1 || !initial.cap || initial.gapAfter !== 'initial') continue;
    if (!next.cap || next.upper || next.product || !nextCls.last || !nextCls.weak || next.bare.length < 3 || blocked(next) || blocked(initial)) continue;
    if (overlaps(out, initial.start, next.end, () => true) || (inName(next) && inName(initial))) continue;
    const after = wordAfter(text, words, k + 1);
    if (after && eponymHeads.has(after.bare)) continue;
    push(initial.start, next.end);
  }

  // Lower-case "first last", and recurring words of names found to be another patient's.
  for (let k = 0; k < words.length; k++) {
    const word = words[k] as Word;
    if (blocked(word) || inName(word) || overlaps(out, word.start, word.end, () => true)) continue;
    const cls = classes[k] as NameClass;
    const next = words[k + 1];
    const nextCls = classes[k + 1];
    const lowerPair =
      word.lower && next !== undefined && nextCls !== undefined && next.lower && word.gapAfter === 'space' && !blocked(next) && cls.weak && nextCls.weak &&
      nextCls.last && !eponymHeads.has(wordAfter(text, words, k + 1)?.bare ?? '') &&
      ((nextCls.strong && !dict.commonWords.has(next.bare)) || (cls.first && cls.strong && !dict.commonWords.has(word.bare)));
    if (lowerPair && next) {
      push(word.start, next.end);
      k++;
      continue;
    }
    if (word.bare.length < 3 || !leaked.has(word.bare)) continue;
    // "bob keeling" after "Bob Keeling": two words of a leaked name side by side, in any case
    if (next && word.gapAfter === 'space' && leaked.has(next.bare) && !blocked(next)) {
      push(word.start, next.end);
      k++;
      continue;
    }
    if (word.cap || cls.strong || !dict.commonWords.has(word.bare)) push(word.start, word.end);
  }
  return out;
}

/** Words that never stand between a house number and a street type: function words and units. */
const streetStopWords = new Set([
  'a', 'an', 'the', 'and', 'or', 'as', 'at', 'to', 'on', 'in', 'of', 'for', 'by', 'with', 'from', 'is', 'was', 'per', 'x', 'mm', 'cm', 'm',
  'km', 'mg', 'mcg', 'g', 'kg', 'ml', 'l', 'cc', 'fr', 'french', 'gauge', 'units', 'unit', 'times', 'hours', 'days', 'weeks', 'months', 'years',
  'minutes', 'tablets', 'tablet', 'doses', 'puffs', 'drops', 'mmhg', 'bpm', 'percent', 'hour', 'minute', 'day', 'week', 'month', 'year', 'time',
  'dose', 'cup', 'cups', 'glass', 'glasses', 'mile', 'miles', 'step', 'steps', 'pound', 'pounds', 'lb', 'lbs', 'ounce', 'oz', 'pack', 'packs',
  'meter', 'meters', 'feet', 'foot', 'inch', 'inches', 'second', 'seconds', 'beats', 'breaths', 'sets', 'reps', 'point', 'points', 'level', 'levels',
  'mmol', 'mcg', 'meq', 'gram', 'grams', 'liter', 'liters', 'vessel', 'vessels', 'cycles', 'cycle', 'lead', 'view', 'views', 'french', 'f',
]);

let streetCache: { dict: Dictionaries; re: RegExp } | undefined;

/** Street addresses the engine did not report, in any case ("301 wiza dale", "742 SKILES RAMP APT 78"). */
export function sweepStreets(text: string, spans: readonly Span[], dict: Dictionaries): Span[] {
  if (!/\d/.test(text)) return [];
  if (streetCache?.dict !== dict) {
    const suffixes = [...new Set([...dict.streetSuffixes, 'boulevard', 'drive', 'court', 'lane', 'road', 'street', 'avenue', 'place', 'terrace', 'way', 'circle', 'st', 'ave', 'rd', 'blvd', 'ln', 'dr', 'ct', 'pl', 'ter', 'hwy', 'pkwy', 'cir', 'trl', 'sq', 'wy'])]
      .filter((s) => /^[a-z]+$/.test(s))
      .sort((a, b) => b.length - a.length);
    streetCache = {
      dict,
      re: new RegExp(
        `(?<![\\p{L}\\p{N}.,-])[1-9]\\d{0,5}[a-z]?((?:[ \\t]{1,2}[\\p{L}][\\p{L}'’-]{0,30}){1,3}?)[ \\t]{1,2}(?:${suffixes.join('|')})\\.?(?![\\p{L}\\p{N}])` +
          `(?:,?[ \\t]{1,3}(?:apt|apartment|unit|suite|ste|#)\\.?[ \\t]{0,3}#?[\\p{L}\\p{N}-]{1,8})?`,
        'giu',
      ),
    };
  }
  const out: Span[] = [];
  for (const m of text.matchAll(streetCache.re)) {
    const start = m.index;
    const end = start + m[0].length;
    // inside another category's span it is no street; beside the engine's part of an address it completes it
    if (overlaps(spans, start, end, (span) => span.type !== 'LOCATION')) continue;
    // A street has a proper name: no function word or unit between number and street type, and at
    // least one word that is no ordinary or clinical word ("301 Wiza Dale", not "8 mm camera ports").
    const middle = (m[1] ?? '').trim().split(/[ \t]+/).map((w) => w.toLowerCase().replace(/['’]+$/, ''));
    if (middle.some((w) => streetStopWords.has(w))) continue;
    // a street named with ordinary words ("812 mills brook") needs a house number of two digits or more
    const proper = middle.some((w) => w.length >= 3 && !dict.commonWords.has(w) && !dict.keep.has(w) && !clinicalEnding.test(w));
    if (!proper && !/^\d{2,}/.test(m[0])) continue;
    out.push({ start, end, type: 'LOCATION', detector: 'output:street', confidence: 0.75 });
  }
  return out;
}

/** A number that is a measurement ("1000MG", "25mcg", "2x3cm"), not a code. */
export const measurement = /^\d+(?:[.,]\d+)?(?:mg|mcg|ug|ml|l|g|kg|iu|units?|meq|mmhg|mm|cm|m|hrs?|h|min|sec|s|x|%)+\d*$/i;
const codePattern = /(?<![\p{L}\p{N}_-])[\p{L}\p{N}]+(?:[-_/.][\p{L}\p{N}]+){0,8}(?![\p{L}\p{N}_-])/gu;

/**
 * Codes the engine's bounded patterns leave: long runs of letters and digits such as a record
 * number written without its hyphens ("3F6FD0BB6CD3EB3F…"), at least eight characters with three
 * digits and a letter. Measurements, dates and words are not codes.
 */
export function sweepCodes(text: string, spans: readonly Span[]): Span[] {
  if (!/\d{3}/.test(text)) return [];
  const out: Span[] = [];
  for (const m of text.matchAll(codePattern)) {
    const token = m[0];
    const compact = token.replace(/[-_/.]/g, '');
    if (compact.length < 8 || compact.length > 128) continue;
    const digitCount = compact.replace(/\D/g, '').length;
    if (digitCount < 3 || digitCount === compact.length || !/\p{L}/u.test(compact)) continue;
    if (measurement.test(compact) || /^\d{4}-\d{2}-\d{2}t/i.test(token)) continue;
    // a name guess of the engine may have bitten into the code ("Ms. Record F07…"): the code still counts whole
    if (overlaps(spans, m.index, m.index + token.length, (span) => span.type !== 'NAME')) continue;
    out.push({ start: m.index, end: m.index + token.length, type: 'ID', detector: 'output:code', confidence: 0.7 });
  }
  return out;
}

/**
 * A FHIR literal reference to a Patient resource (R4 §2.3.0 Resource references: `Patient/[id]`,
 * relative or at the end of a base URL), the id as FHIR writes it (letters, digits, `-`, `.`, at
 * most 64). Case-sensitive, so SMART scopes (`patient/Observation.read`) are no references.
 */
const patientReferencePattern = /(?<![\p{L}\p{N}_-])Patient\/([A-Za-z0-9][A-Za-z0-9.-]{0,63})(?![A-Za-z0-9_])/gu;

/**
 * References to a patient by resource id ("Patient/p-other", "Patient/f07e9b1d-…", "Patient/4471"),
 * as `ID` spans over the whole reference. Prose that has the same shape is left: an id that is one
 * word, or ordinary words joined by hyphens, is "Patient/family" or "Patient/self-care", not an
 * id — an id has a digit, or a part that is no ordinary word ("p-other").
 */
export function sweepReferences(text: string, dict: Dictionaries): Span[] {
  if (!text.includes('Patient/')) return [];
  const out: Span[] = [];
  for (const m of text.matchAll(patientReferencePattern)) {
    const id = (m[1] ?? '').replace(/[.-]+$/, '');
    if (id === '') continue;
    if (!/\d/.test(id)) {
      const parts = id.toLowerCase().split(/[.-]+/);
      if (parts.length < 2 || parts.every((part) => part.length >= 2 && (dict.commonWords.has(part) || dict.keep.has(part)))) continue;
    }
    out.push({ start: m.index, end: m.index + 'Patient/'.length + id.length, type: 'ID', detector: 'output:reference', confidence: 0.85 });
  }
  return out;
}
