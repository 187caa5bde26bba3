// SPDX-License-Identifier: Apache-2.0
/**
 * Canonical forms for comparing an identifier found in an answer with the request's own
 * identifiers, whatever way either is written: case, accents, spacing and punctuation; name
 * order ("Smith, John" / "John Smith"), titles, initials and possessives; phone formats and
 * country codes; street abbreviations. Each function is pure and total (any string in, a
 * possibly empty form out).
 */

/** Words that never identify anyone by themselves: titles, honorifics and name particles. */
const neutralNameWords = new Set([
  'mr', 'mrs', 'ms', 'miss', 'mx', 'dr', 'doctor', 'prof', 'professor', 'sir', 'madam', 'nurse', 'rev', 'jr', 'sr', 'ii', 'iii', 'iv',
  'md', 'do', 'rn', 'np', 'pa', 'phd', 'van', 'von', 'de', 'der', 'den', 'del', 'della', 'da', 'di', 'du', 'la', 'le', 'st', 'and',
]);

/** Street-type and unit words in their long form, so "St." and "Street" compare equal. */
const streetWords: Readonly<Record<string, string>> = {
  st: 'street', str: 'street', ave: 'avenue', av: 'avenue', rd: 'road', blvd: 'boulevard', ln: 'lane', dr: 'drive', ct: 'court',
  pl: 'place', ter: 'terrace', terr: 'terrace', hwy: 'highway', pkwy: 'parkway', cir: 'circle', trl: 'trail', sq: 'square', wy: 'way',
  xing: 'crossing', hts: 'heights', mt: 'mount', pt: 'point', expy: 'expressway', fwy: 'freeway', grv: 'grove', gdns: 'gardens',
  apt: 'unit', apartment: 'unit', ste: 'suite', suite: 'unit', unit: 'unit', rm: 'unit', room: 'unit', fl: 'floor', n: 'north',
  s: 'south', e: 'east', w: 'west', po: 'po', box: 'box',
};

/** Lower case, accents removed, compatibility forms folded ("Ｊｏｈｎ" → "john", "Müller" → "muller"). */
export function foldText(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();
}

/** The words of a text, folded: letters and digits, split on everything else (apostrophes dropped). */
export function foldedWords(text: string): string[] {
  return foldText(text)
    .replace(/['’]/g, '')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length > 0);
}

/**
 * The identifying words of a written name: folded, possessive and trailing record digits
 * removed ("Bob965" → "bob"), titles, particles and initials left out. "Smith, John",
 * "JOHN SMITH" and "Mr. J. Smith's" give `smith` and `john`/`smith` — order never matters.
 */
export function nameWords(text: string): string[] {
  const words: string[] = [];
  for (const raw of foldText(text).replace(/['’]s\b/g, '').split(/[^\p{L}\p{N}'’]+/u)) {
    const word = raw.replace(/['’]/g, '').replace(/\d+$/, '');
    if (word.length < 2 || /^\d+$/.test(word) || neutralNameWords.has(word)) continue;
    words.push(word);
  }
  return words;
}

/** The words of an address with street and unit abbreviations spelled out ("Apt 4", "Ste. 4" → `unit`, `4`). */
export function addressWords(text: string): string[] {
  return foldedWords(text)
    .map((word) => streetWords[word] ?? word)
    .filter((word) => word !== 'po' && word !== 'box' && word !== 'no');
}

/** An identifier with every separator removed and letters upper-cased ("s999-86 740" → "S99986740"). */
export function identifierKey(text: string): string {
  return foldText(text).replace(/[^\p{L}\p{N}]/gu, '').toUpperCase();
}

/**
 * A telephone number's national digits: separators, an extension and a leading country code 1
 * removed ("+1 (555) 814-8772 ext. 12" → "5558148772"). Numbers of other lengths keep their digits.
 */
export function phoneKey(text: string): string {
  const main = text.split(/\s*(?:x|ext\.?|extension)\s*\d/i)[0] ?? text;
  const digits = main.replace(/\D/g, '');
  if (digits.length === 11 && digits.startsWith('1')) return digits.slice(1);
  if (digits.length > 11 && digits.startsWith('001')) return digits.slice(3);
  return digits;
}

/** An e-mail address compared case-insensitively, without a `mailto:` prefix or surrounding brackets. */
export function emailKey(text: string): string {
  return foldText(text).trim().replace(/^[<(]+|[>),.;]+$/g, '').replace(/^mailto:/, '');
}

/** The resource id of a FHIR patient reference ("Patient/p1" → "p1"); `undefined` for anything else. */
export function patientReferenceId(text: string): string | undefined {
  return /^\s*Patient\/([A-Za-z0-9][A-Za-z0-9.-]{0,63})\s*$/.exec(text)?.[1];
}
