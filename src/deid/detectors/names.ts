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
const coordinated = /(?:['’]s)? (?:and|or|&) (\p{Lu}\p{Ll}{2,30})/uy;
const degree = /(?:M\.D|D\.O|R\.N|N\.P|P\.A|Ph\.D|D\.D\.S|M\.S|B\.S|M\.A|L\.P\.N)\./y;
/** Two-letter function words, which the ordinary-word list (3+ letters) does not hold. */
const shortWords = new Set(['he', 'we', 'me', 'my', 'us', 'it', 'an', 'as', 'at', 'be', 'by', 'do', 'go', 'if', 'in', 'is', 'no', 'of', 'on', 'or', 'so', 'to', 'up', 'ok', 'oh']);
/** Lower-case words after a capitalised word that make it an eponym: procedures and instruments by their ending. */
const procedureAfter = /(?:['’]s)? [a-z]{2,30}(?:ectomy|otomy|ostomy|plasty|pexy|rrhaphy|tome|scope|scopy|graphy|gram|oplasty)\b/y;
const contraction = /^(?:i|you|we|they|he|she|it|that|there|here|what|who|let|don|doesn|didn|can|couldn|won|wouldn|isn|aren|wasn|weren|hasn|haven|hadn|shouldn|ain|y)['’](?:m|ll|re|ve|d|s|t|all)$/;
/** Kinship words: the capitalised word after one is a name even when it looks like vocabulary. */
const kinship = new Set([
  'son', 'daughter', 'wife', 'husband', 'mother', 'father', 'brother', 'sister', 'spouse', 'partner', 'aunt', 'uncle', 'grandmother',
  'grandfather', 'niece', 'nephew', 'cousin', 'fiancé', 'fiance', 'girlfriend', 'boyfriend', 'named', 'called', 'hijo', 'hija', 'esposo',
  'esposa', 'madre', 'padre', 'hermano', 'hermana',
]);
/** Words after a name that turn it into an eponym or a product. */
const eponymHeads = new Set([
  'disease', 'syndrome', 'sign', 'signs', 'test', 'maneuver', 'manoeuvre', 'score', 'scale', 'catheter', 'procedure', 'reflex', 'palsy', 'fracture',
  'phenomenon', 'lymphoma', 'sarcoma', 'tumor', 'tumour', 'criteria', 'classification', 'operation', 'repair', 'method', 'technique', 'position',
  'stockings', 'monitor', 'bag', 'tube', 'forceps', 'retractor', 'clamp', 'incision', 'node', 'nodes', 'ulcer', 'contracture', 'triad', 'law',
  'hernia', 'diverticulum', 'esophagus', 'disorder', 'dementia', 'chorea', 'retractors', 'elevator', 'drape', 'drapes', 'stain', 'staging',
  'dissector', 'holder', 'pin', 'pins', 'drain', 'drains', 'fascia', 'dressing', 'intelligence', 'memory', 'curette', 'rongeur', 'clamps',
  'scissors', 'needle', 'suture', 'stitch', 'graft', 'flap', 'shunt', 'valve', 'stent', 'device', 'approach', 'knot', 'frame', 'splint',
  'brace', 'boot', 'tongs', 'wire', 'wires', 'screw', 'screws', 'nail', 'probe', 'blade', 'bur', 'burr', 'trocar', 'cannula', 'sheath', 'balloon',
  'hose', 'fixator', 'cement', 'mesh', 'gauze', 'tape', 'spreader', 'speculum', 'hook', 'hooks', 'catheters', 'tubes', 'cup', 'pump', 'lens',
  'lens', 'resector', 'guide', 'mouthgag', 'gag', 'modification', 'stand', 'diet', 'naming', 'inventory', 'questionnaire', 'battery',
  'net', 'tenaculum', 'fashion', 'tip', 'line', 'lines', 'drill', 'table', 'stirrups', 'taper', 'tuck', 'silk', 'connection', 'reconstruction',
  'component', 'sponge', 'type', 'plate', 'drops', 'anesthesia', 'otic', 'solution', 'ointment', 'cream', 'gel', 'spray', 'drip', 'infusion',
  'neuroma', 'reflexes', 'capsulotomy', 'cholangiogram', 'rule', 'rules', 'index', 'ratio', 'formula', 'equation',
  'enfermedad', 'síndrome', 'sindrome', 'signo', 'prueba', 'escala',
]);
/** Endings of clinical words (anatomy, procedures, drug stems) that names do not have. */
const clinicalEnding = /(?:al|ic|ous|itis|osis|ectomy|otomy|ostomy|plasty|gram|graphy|scopy|emia|oma|ase|ine|ide|ole|pril|olol|sartan|statin|mab|nib|cillin|mycin|cycline|azole|dipine|afil|tidine|ium|ism|ology|pathy|algia|trophy|plasia|ary|ive|oid|cyte|tomy)$/;
/** Mixed case inside a word ("ChloraPrep", "DaVita") marks a product, except name prefixes. */
const productCase = /^(?!(?:Mc|Mac|De|Di|Da|La|Le|Van|Von|Du|St|O'|D')\p{Lu})\p{Lu}\p{Ll}+\p{Lu}/u;
/** Lower-case particles inside surnames ("van der Laan", "de Lange"). */
const particles = new Set(['van', 'von', 'de', 'der', 'den', 'del', 'della', 'da', 'di', 'du', 'la', 'le', 'ter', 'ten', 'dos', 'das', 'bin', 'ibn', 'al', 'el', 'st']);
const placePrepositions = new Set(['in', 'from', 'at', 'near', 'to', 'of', 'en', 'de', 'desde', 'hacia', 'visiting', 'moved', 'lives']);
const stateWords = /^(?:AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY)$/;

const doseAfter = / \d{1,5}(?:\.\d{1,3})?(?:-\d{1,5})? ?(?:mg|mcg|µg|g|gm|ml|mL|cc|units?|iu|IU|meq|mEq|%|tabs?|tablets?|caps?|puffs?|drops?)\b/y;
const ageAfter = /\s{1,3}is an? \d{1,3}[ -]?(?:year|yo\b|y\/o)/y;
/** Titles written as abbreviations: only after these may a full stop stand before the name. */
const abbreviatedTitles = new Set(['dr', 'mr', 'mrs', 'ms', 'mx', 'prof', 'sr', 'sra', 'srta', 'dra', 'dña', 'rev']);
/** "Dr. Smith", "Nurse Ann" — not "…the psychiatric nurse. A comprehensive…" nor "MS: A&O". */
function titleGap(text: string, title: { lower: string; end: number }, word: { start: number }): boolean {
  const gap = word.start - title.end;
  if (gap < 1 || gap > 3) return false;
  let dot = false;
  for (let k = title.end; k < word.start; k++) {
    const c = text.charCodeAt(k);
    if (c === 46 && k === title.end) dot = true;
    else if (c !== 32) return false;
  }
  return !dot || abbreviatedTitles.has(title.lower);
}
/** Between two words of one phrase: spaces, lower-case words, digits and hyphens, no punctuation. */
function phraseGap(text: string, from: number, to: number): boolean {
  if (to - from > 40) return false;
  let k = from;
  // "Patrick's test", "St. Jude valve"
  const c0 = text.charCodeAt(k);
  if ((c0 === 39 || c0 === 0x2019) && (text.charCodeAt(k + 1) | 32) === 115) k += 2;
  else if (c0 === 46 && (k - from === 0) && /\bst$/i.test(text.slice(Math.max(0, from - 3), from))) k += 1;
  for (; k < to; k++) {
    const c = text.charCodeAt(k);
    if (!(c === 32 || c === 45 || (c >= 97 && c <= 122) || (c >= 48 && c <= 57))) return false;
  }
  return true;
}

/** A sticky expression tried at one offset, without slicing the text. */
function stickyTest(re: RegExp, text: string, at: number): boolean {
  re.lastIndex = at;
  return re.test(text);
}

const contextWords = new Set([...titles, ...triggers, ...eponymHeads, ...placePrepositions, ...particles]);

const letterRe = /\p{L}/u;
const letterOrMarkRe = /[\p{L}\p{M}]/u;
function isLetter(c: number): boolean {
  if (c < 128) return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  return letterRe.test(String.fromCharCode(c));
}
function isLetterOrMark(c: number): boolean {
  if (c < 128) return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  return letterOrMarkRe.test(String.fromCharCode(c));
}

interface CharTrie { next: Map<number, CharTrie>; end: boolean }
const contextTrie: CharTrie = { next: new Map(), end: false };
for (const w of contextWords) {
  let node = contextTrie;
  for (let k = 0; k < w.length; k++) {
    const code = w.charCodeAt(k);
    let child = node.next.get(code);
    if (!child) {
      child = { next: new Map(), end: false };
      node.next.set(code, child);
    }
    node = child;
  }
  node.end = true;
}
/** Whether text[start, end) is one of the lower-case words a rule reads, without making a string. */
function isContextWord(text: string, start: number, end: number): boolean {
  let node: CharTrie | undefined = contextTrie;
  for (let k = start; k < end && node; k++) node = node.next.get(text.charCodeAt(k));
  return node !== undefined && node.end;
}

/** Finds names and dictionary places; `out` receives spans. */
export interface NameDetector {
  /** `seeds`: lower-cased words of names other detectors found, propagated like its own. */
  detect(text: string, out: Span[], seeds?: ReadonlySet<string>): void;
}

export function createNameDetector(dict: Dictionaries): NameDetector {
  // capitalised words repeat ("The", "Patient", the patient's own name): remember their class
  // the lower-cased form is remembered with the class: lower-casing each occurrence again showed in profiles
  interface Seen { readonly lower: string; readonly cap: boolean; readonly allCaps: boolean; readonly kind: Kind }
  const memo = new Map<string, Seen>();
  function lookup(word: string): Seen {
    const hit = memo.get(word);
    if (hit !== undefined) return hit;
    const lower = word.toLowerCase();
    const c = word.charCodeAt(0);
    const cap = c < 128 ? c >= 65 && c <= 90 : word[0] !== lower[0];
    const allCaps = word.length > 1 && word === word.toUpperCase();
    const seen: Seen = { lower, cap, allCaps, kind: cap ? classifyFresh(word, lower) : kinds.word };
    if (memo.size > 50_000) memo.clear();
    memo.set(word, seen);
    return seen;
  }

  function classifyFresh(word: string, lower: string): Kind {
    if (word.length === 1) return kinds.initial;
    // "I'm", "We'll", "Hi", "Dear": contractions, greetings and titles are words, whatever the lists say
    if (contraction.test(lower) || triggers.has(lower) || shortWords.has(lower) || (titles.has(lower) && lower !== 'don')) return kinds.word;
    if (dict.keep.has(lower)) return kinds.keep;
    // "Dopplers", "Steri-Strips": the plural of a kept word
    if (lower.length > 4 && lower.endsWith('s') && dict.keep.has(lower.slice(0, -1))) return kinds.keep;
    const isName = dict.firstNames.has(lower) || dict.lastNames.has(lower);
    if (isName) {
      if (productCase.test(word)) return kinds.word;
      return dict.ambiguousNames.has(lower) ? kinds.weak : kinds.strong;
    }
    if (dict.commonWords.has(lower)) return kinds.word;
    if (clinicalEnding.test(lower) || productCase.test(word)) return kinds.word;
    if (lower.includes('-') && lower.split('-').some((part) => dict.commonWords.has(part) || dict.keep.has(part))) return kinds.word;
    return kinds.unknown;
  }

  function tokenize(text: string): Token[] {
    // a hand-written scanner: a regular expression would allocate a match and a string per word,
    // and most words (lower-case ones) are only skipped
    const tokens: Token[] = [];
    const n = text.length;
    let i = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (!isLetter(c)) {
        i++;
        continue;
      }
      const start = i;
      i++;
      let joins = 0;
      for (;;) {
        while (i < n && isLetterOrMark(text.charCodeAt(i))) i++;
        const j = text.charCodeAt(i);
        if ((j === 39 || j === 0x2019 || j === 45) && joins < 4 && i + 1 < n && isLetter(text.charCodeAt(i + 1))) {
          i += 2;
          joins++;
          continue;
        }
        break;
      }
      const alphaEnd = i;
      let digits = 0;
      while (i < n && digits < 6 && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) {
        i++;
        digits++;
      }
      let end = i;
      // fast path: a lower-case ASCII word is kept only when some rule reads it; adjacency is
      // checked on offsets, so a dropped word still separates the words around it
      if (c >= 97 && c <= 122) {
        if (isContextWord(text, start, alphaEnd)) tokens.push({ start, end, lower: text.slice(start, alphaEnd), cap: false, kind: kinds.word });
        continue;
      }
      // possessive and Synthea-style numeric suffixes are not part of the name lookup
      let alpha = text.slice(start, alphaEnd);
      if (!digits && alpha.length > 2) {
        const last = alpha.charCodeAt(alpha.length - 1);
        const q = alpha.charCodeAt(alpha.length - 2);
        if ((last === 115 || last === 83) && (q === 39 || q === 0x2019)) {
          alpha = alpha.slice(0, -2);
          end -= 2;
        }
      }
      const { lower, cap, allCaps, kind: known } = lookup(alpha);
      let kind: Kind = known;
      // an all-capitals word is a heading more often than a name, unless the dictionary is sure
      if (allCaps && (kind === kinds.unknown || alpha.length <= 4)) kind = kinds.word;
      // degrees written with full stops ("M.D.", "R.N.", "Ph.D.") are no initials
      if (alpha.length <= 2 && stickyTest(degree, text, start)) kind = kinds.word;
      // "History:" is a label; a known name before a colon is still a name ("Nicole: see you")
      if (text.charCodeAt(end) === 58 && kind !== kinds.strong) kind = kinds.word;
      // a name with a number glued on (record systems and test data write "Rocky100") is no ordinary word
      if (digits >= 2 && (alpha.length >= 3 || shortWords.has(lower))) {
        if (kind === kinds.weak) kind = kinds.strong;
        else if (kind === kinds.unknown || (kind === kinds.word && shortWords.has(lower))) kind = kinds.weak;
      }
      tokens.push({ start, end, lower, cap, kind });
    }
    return tokens;
  }

  /** Tokens a and b sit next to each other inside one name ("John Smith", "J. Smith"). */
  function adjacent(text: string, a: Token, b: Token): boolean {
    const gap = b.start - a.end;
    if (gap === 1) return text.charCodeAt(a.end) === 32 || (text.charCodeAt(a.end) === 46 && a.end - a.start === 1);
    if (gap === 2) {
      const c1 = text.charCodeAt(a.end);
      const c2 = text.charCodeAt(a.end + 1);
      if (c1 === 46 && c2 === 32) return a.end - a.start === 1 || a.lower === 'st';
      return c1 === 32 && (c2 === 32 || c2 === 10);
    }
    return false;
  }

  /**
   * A capitalised word (not all capitals) set aside only by its ending or inner capitals
   * ("Philine", "Naoufal"), not by the ordinary-word or keep lists: a name when context says so.
   */
  function softWord(text: string, t: Token): boolean {
    if (t.kind !== kinds.word || !t.cap || t.end - t.start < 3) return false;
    const c2 = text.charCodeAt(t.start + 1);
    if (c2 >= 65 && c2 <= 90) return false;
    return !dict.commonWords.has(t.lower) && !dict.keep.has(t.lower);
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
      /** Runs joined across "Last, First". */
      const commaJoin = new Set<number>();
      // eponym context turns a name into clinical vocabulary
      for (let i = 0; i + 1 < n; i++) {
        const t = tokens[i];
        const next = tokens[i + 1];
        if (!t || !next || !t.cap) continue;
        if (!(t.kind === kinds.strong || t.kind === kinds.unknown || t.kind === kinds.weak)) continue;
        // "Lunesta 3 mg", "Vitoss 5 cc": a word before a dose is a drug or a product
        if (text.charCodeAt(t.end) === 32 && stickyTest(doseAfter, text, t.end)) {
          t.kind = kinds.keep;
          continue;
        }
        // "Barlow and Ortolani", "Kernig and Brudzinski signs": coordinated with an eponym
        coordinated.lastIndex = t.end;
        const co = coordinated.exec(text);
        if (co && dict.keep.has((co[1] ?? '').toLowerCase())) {
          t.kind = kinds.keep;
          continue;
        }
        // "McBride bunionectomy", "Rubin osteotome"
        if (stickyTest(procedureAfter, text, t.end)) {
          t.kind = kinds.keep;
          continue;
        }
        // "Judkins right coronary catheter", "Wechsler Adult Intelligence Scale", "South Beach Diet":
        // the head may follow a few capitalised or lower-case words, within one phrase
        let j = i + 1;
        let head = -1;
        while (j < n && j - i <= 4) {
          const h = tokens[j];
          if (!h || !phraseGap(text, (tokens[j - 1] ?? t).end, h.start)) break;
          if (eponymHeads.has(h.lower)) {
            head = j;
            break;
          }
          if (!h.cap) break;
          j++;
        }
        if (head < 0) continue;
        for (let k = i; k < head; k++) {
          const w = tokens[k];
          if (w && w.kind !== kinds.initial) w.kind = kinds.keep;
        }
      }
      for (let i = 0; i < n; i++) {
        const t = tokens[i];
        if (!t) continue;
        if (!t.cap) {
          // "Dr. van Loon", "Mr. de la Cruz"
          const before = tokens[i - 1];
          const after = tokens[i + 1];
          if (!(before && titles.has(before.lower) && particles.has(t.lower) && after && (after.cap || particles.has(after.lower)))) continue;
          t.cap = true;
        }
        const prev = tokens[i - 1];
        // a title or a trigger word: the capitalised run after it is a name whatever its words
        const titled = prev !== undefined && titles.has(prev.lower) && t.cap && titleGap(text, prev, t) && (t.kind !== kinds.word || t.end - t.start <= 4 || nameish(tokens[i + 1] ?? t));
        const triggered = prev !== undefined && triggers.has(prev.lower) && t.start - prev.end <= 2 &&
          (t.kind === kinds.strong || t.kind === kinds.unknown || t.kind === kinds.weak || (kinship.has(prev.lower) && softWord(text, t)));
        // "Last, First": a comma between two name words, one of them a known first name or followed by a verb
        if (t.kind === kinds.unknown || t.kind === kinds.weak || t.kind === kinds.strong) {
          const next = tokens[i + 1];
          if (next && next.cap && (next.kind === kinds.strong || next.kind === kinds.weak || next.kind === kinds.unknown) && next.start - t.end === 2 && text.charCodeAt(t.end) === 44) {
            const verb = /^\s*(?:was|is|has|had|presents|presented|returns|returned|reports|states|denies)\b/.test(text.slice(next.end, next.end + 12));
            if (verb || (dict.firstNames.has(next.lower) && t.kind !== kinds.weak)) {
              isName[i] = 1;
              isName[i + 1] = 1;
              commaJoin.add(i);
              i++;
              continue;
            }
          }
        }
        // two ambiguous words that read as first name + surname ("John Smith": both are also words)
        const pairNext = tokens[i + 1];
        const pair = t.kind === kinds.weak && dict.firstNames.has(t.lower) && pairNext !== undefined && pairNext.cap &&
          (pairNext.kind === kinds.weak || pairNext.kind === kinds.strong) && dict.lastNames.has(pairNext.lower) && adjacent(text, t, pairNext);
        // two or three unknown capitalised words in a row ("Krisztián Szöllösy", "Alvir D. Pušaver"):
        // not English, not clinical vocabulary — deny by default
        let unknownRun = false;
        // only where an ordinary-word list tells unknown words from vocabulary (not in the Spanish pack)
        if (dict.commonWords.size > 0 && t.kind === kinds.unknown && pairNext !== undefined && adjacent(text, t, pairNext)) {
          const third = tokens[i + 2];
          if (pairNext.kind === kinds.unknown) unknownRun = true;
          else if (pairNext.kind === kinds.initial && third && third.kind === kinds.unknown && adjacent(text, pairNext, third)) unknownRun = true;
        }
        // "<Name> is a 61 year-old": the subject of an age statement
        const ageSubject = (t.kind === kinds.weak || t.kind === kinds.unknown) && text.charCodeAt(t.end) === 32 && stickyTest(ageAfter, text, t.end);
        if (titled || triggered || pair || unknownRun || ageSubject || t.kind === kinds.strong) {
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
            if (j - i >= 4) break;
            if (!b.cap && particles.has(b.lower)) {
              // a particle only belongs to the name when a capitalised name word follows it
              let k2 = j + 1;
              while (k2 + 1 < n && !tokens[k2]?.cap && particles.has(tokens[k2]?.lower ?? '') && k2 - j < 3) k2++;
              const c = tokens[k2];
              const prevTok = tokens[k2 - 1];
              if (c && prevTok && c.cap && nameish(c) && adjacent(text, prevTok, c)) {
                j = k2;
                continue;
              }
              break;
            }
            // after a title any capitalised word may be the name, but not an ordinary word across a full stop ("Dr. X. She")
            const titledNext = titled && b.cap && (b.kind !== kinds.word || text.indexOf('.', a.end) < 0 || text.indexOf('.', a.end) >= b.start);
            if (!(nameish(b) || titledNext || (j > i && tokens[j]?.kind === kinds.initial && softWord(text, b)))) break;
            j++;
          }
          let k = i;
          while (k - 1 >= 0 && !titled) {
            const a = tokens[k - 1];
            const b = tokens[k];
            // "Coline G. Hansen": before an initial, a capitalised word that is no ordinary word is a first name
            if (!a || !b || !adjacent(text, a, b) || !(nameish(a) || (b.kind === kinds.initial && softWord(text, a)))) break;
            if (i - k >= 3) break;
            k--;
          }
          for (let x = k; x <= j; x++) isName[x] = 1;
          i = j;
          continue;
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
          if (t && !isName[i] && t.cap && t.kind !== kinds.keep && t.kind !== kinds.word && found.has(t.lower)) isName[i] = 2;
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
        // "South Beach Diet", "Post Anesthesia Care Unit": the place name is part of a longer proper phrase
        const after = tokens[last + 1];
        const lastTok = tokens[last] ?? t;
        if (after && phraseGap(text, lastTok.end, after.start)) {
          if (eponymHeads.has(after.lower)) continue;
          const ambiguousSingle = single && (dict.ambiguousCities.has(t.lower) || t.kind === kinds.word || t.kind === kinds.weak);
          if (ambiguousSingle && after.cap && after.start - lastTok.end === 1 && (after.kind === kinds.word || after.kind === kinds.keep) && !stateWords.test(text.slice(after.start, after.end))) continue;
        }
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
            if (!a || !b || !(adjacent(text, a, b) || (!place && commaJoin.has(j)) || (!place && !b.cap && particles.has(b.lower)))) break;
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
