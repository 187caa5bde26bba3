// SPDX-License-Identifier: Apache-2.0
/**
 * Identifiers with structure (email, URL, IP, SSN, phone, dates, ages over 89, card and account
 * numbers, addresses, facilities, labelled record numbers) found by ONE merged regular expression
 * per language, scanned once; each match is then checked by a small validator (month/day ranges,
 * Luhn, capitalisation, the label in front of a number).
 *
 * Backtracking safety: every quantifier is bounded by a small constant and no two adjacent
 * quantified parts can consume the same character, so the work per start position is bounded and
 * a scan is linear in the input (tested on 100k-character repeated inputs).
 */
import type { PhiCategory, Span } from '../types.js';
import type { Dictionaries } from '../dictionaries/index.js';

type Language = 'en' | 'es';

const monthsEn =
  'january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec';
const monthsEs = 'enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre|ene|feb|mar|abr|may|jun|jul|ago|sep|sept|oct|nov|dic';
const weekdays = 'monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun';
const day = '(?:[12]\\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?!\\d)';
const year = "(?:1[89]\\d\\d|20\\d\\d|'\\d\\d)(?!\\d)";

const streetAbbrev = 'st|ave|rd|blvd|ln|dr|ct|pl|cir|pkwy|hwy|ter|trl|sq|wy|xing|hts|mt|pt|expy|fwy';
const facilityWords =
  'hospital|medical center|medical centre|health center|health centre|clinic|infirmary|nursing home|nursing facility|rehabilitation center|surgery center|surgical center|care center|health system|healthcare|hospice|sanatorium|medical group|family practice|urgent care';

/** Labels in front of an identifier value; the category is decided by `labelCategory`. */
const idLabelsEn = [
  'medical record (?:number|no|#)', 'medical record', 'mrn', 'mr#', 'mr #', 'record (?:number|no|#)', 'chart (?:number|no|#)', 'hospital (?:number|no|#)',
  'patient id', 'patient #', 'unit (?:number|no)', 'member id', 'member (?:number|no|#)', 'subscriber id', 'subscriber (?:number|no|#)', 'policy (?:number|no|#)', 'policy',
  'group (?:number|no|#)', 'medicaid (?:id|number|no|#)', 'medicare (?:id|number|no|#)', 'insurance id', 'insurance (?:number|no|#)', 'health plan (?:id|number|no)',
  'beneficiary (?:id|number|no)', 'hicn', 'mbi', 'account (?:number|no|#)', 'account', 'acct', 'billing (?:number|no|#)', 'card (?:number|no|#)', 'iban',
  'encounter (?:id|number|no|#)', 'visit (?:id|number|no|#)', 'fin', 'license (?:number|no|#)', 'licence (?:number|no|#)', 'license', 'licence', 'lic',
  "driver'?s licen[cs]e(?: (?:number|no|#))?", 'dl', 'dea(?: (?:number|no|#))?', 'npi', 'certificate (?:number|no|#)', 'vin', 'plate (?:number|no|#)',
  'license plate', 'vehicle id', 'serial (?:number|no|#)', 's/n', 'sn', 'udi', 'device id', 'device identifier', 'lot (?:number|no|#)', 'model (?:number|no|#)',
  'ssn', 'social security (?:number|no|#)', 'ss#', 'phone', 'telephone', 'tel', 'cell', 'mobile', 'pager', 'fax', 'accession (?:number|no|#)',
  'specimen (?:number|no|#)', 'claim (?:number|no|#)', 'case (?:number|no|#)', 'reference (?:number|no|#)', 'ref #', 'id', 'identifier', 'passport(?: (?:number|no|#))?',
];
const idLabelsEs = [
  'nhc', 'nass', 'cipa', 'n[º°]? ?col', 'n[º°]? de colegiad[oa]', 'colegiad[oa]', 'n[º°]? ?historia(?: cl[ií]nica)?', 'historia cl[ií]nica', 'dni', 'nif', 'nie', 'cip',
  'tfno', 'tel[eé]fono', 'fax', 'n[º°]? ?de afiliaci[oó]n', 'n[º°]? ?ss', 'n[º°]? ?episodio', 'episodio', 'n[º°]? ?de? ?expediente',
];

/** Labels introducing a name or an address on the rest of the line. */
const lineLabelsEn = [
  'patient name', 'patient', 'name', 'pt name', 'attending(?: physician)?', 'physician', 'provider', 'surgeon', 'assistant', 'anesthesiologist',
  'referring physician', 'primary care physician', 'pcp', 'dictated by', 'transcribed by', 'signed by', 'electronically signed by', 'cc',
  'guardian', 'emergency contact', 'next of kin', 'mother', 'father', 'spouse', 'address', 'home address', 'street', 'city', 'county', 'facility', 'hospital',
];
const lineLabelsEs = [
  'nombre', 'apellidos', 'm[eé]dico', 'remitido por', 'domicilio', 'direcci[oó]n', 'localidad(?: ?/ ?provincia)?', 'provincia', 'municipio', 'centro',
  'hospital', 'centro de salud', 'contacto', 'correspondencia',
];

interface Alternative { readonly name: string; readonly source: string }

/** Title-case and upper-case spellings of lower-case words, for the case-sensitive expression. */
function cased(list: string, lower = false): string {
  const out: string[] = [];
  for (const w of list.split('|')) {
    out.push(w.replace(/(^|\s)(\p{Ll})/gu, (_m, sp: string, c: string) => sp + c.toUpperCase()), w.toUpperCase());
    if (lower) out.push(w);
  }
  return out.join('|');
}

/** Case-sensitive alternatives: capitalisation is part of what makes them identifiers. */
/** A capitalised word of a proper name, any European script ("Ullaste", "LEPPEN", "Søndergade"). */
const capWord = "[A-ZÀ-ÖØ-ÞĀ-Ž][A-Za-zÀ-ÖØ-öø-ÿĀ-ž0-9&'’.-]{0,30}";
const orgSuffixes =
  'Inc|INC|LLC|L\\.L\\.C|Ltd|LTD|Limited|GmbH|Corp|Corporation|Company|Co|Group|Associates|Partners|Technologies|Systems|Solutions|Holdings|Bank|' +
  'Foundation|Agency|Services|Labs|Laboratories|Pharmaceuticals|Industries|Enterprises|Consulting|Capital|Ventures|Insurance|Motors|Automotive';

/** Short words the ordinary-word list (3+ letters) leaves out. */
const lowerFunctionWords = new Set(['to', 'in', 'on', 'at', 'of', 'by', 'up', 'so', 'as', 'is', 'it', 'be', 'do', 'go', 'no', 'or', 'an', 'if', 'me', 'my', 'we', 'he', 'us', 'ok']);
const genericFacilityWords = new Set(['children', 'childrens', 'general', 'memorial', 'community', 'regional', 'county', 'university', 'state', 'city', 'veterans', 'womens', 'women', 'central', 'district', 'public', 'teaching', 'pediatric', 'psychiatric', 'rehabilitation', 'surgical', 'medical', 'our', 'this', 'that', 'local']);
const orgSuffixRe = new RegExp(`^(?:${orgSuffixes})$`, 'i');

export function casedAlternatives(language: Language, dict: Dictionaries): Alternative[] {
  const months = language === 'es' ? `${cased(monthsEs, true)}|${cased(monthsEn)}` : cased(monthsEn);
  const month = `(?:${byFirstLetter(months.split('|'))})\\.?(?![a-z])`;
  const wd = byFirstLetter(cased(weekdays).split('|'));
  const suffixes = [...dict.streetSuffixes].filter((x) => /^[a-z]+$/.test(x)).sort((a, b) => b.length - a.length).join('|');
  const street = byFirstLetter(cased(suffixes ? `${suffixes}|${streetAbbrev}` : streetAbbrev).split('|'));
  const list: Alternative[] = [
    {
      name: 'dmon',
      source:
        `(?:(?:${wd}),?\\s{1,3})?${month}\\s{1,3}${day}(?:,?\\s{1,3}${year})?` +
        `|(?:[Tt]he\\s{1,3})?${day}\\s{1,3}(?:of\\s{1,3}|de\\s{1,3})?${month}(?:,?\\s{1,3}(?:de\\s{1,3}|del\\s{1,3})?${year})?` +
        `|${month},?\\s{1,3}(?:of\\s{1,3}|de\\s{1,3}|del\\s{1,3})?${year}`,
    },
    {
      name: 'age',
      source:
        '(?<![\\d.])(?:9\\d|1[0-4]\\d)(?:[\\s-]{0,3}(?:[Yy]ears?|YEARS?|[Yy]rs?|yo|y\\.o\\.|y/o|años|anos|a\\.)(?:[\\s-]{1,3}old)?)(?![A-Za-z])',
    },
    {
      name: 'agectx',
      source: '\\b(?:[Aa]ged?|AGED?|[Ee]dad)\\s{0,2}:?\\s{0,3}(?:9\\d|1[0-4]\\d)(?![\\d.])(?:[\\s-]{0,3}(?:[Yy]ears?|YEARS?|[Yy]rs?|yo|y/o|años)(?:[\\s-]{1,3}old)?(?![A-Za-z]))?',
    },
    { name: 'dmd', source: '\\b(?:[Oo]n|[Ss]ince|[Ff]rom|[Uu]ntil|[Dd]ated|DOS|[Dd]ate|thru|through|el|desde|hasta)\\s{1,3}\\d{1,2}/\\d{1,2}(?![\\w/]|[.-]\\d)' },
    {
      name: 'street',
      source: `(?<![\\w-])\\d{1,6}[A-Za-z]?(?:\\s{1,3}[NSEW]\\.?)?(?:\\s{1,3}(?:[A-Z][A-Za-z'.-]{0,30}|\\d{1,3}(?:st|nd|rd|th))){1,4}\\s{1,3}(?:${street})\\.?(?![a-z])(?:,?\\s{1,3}(?:[Aa]pt|[Aa]partment|[Ss]uite|[Ss]te|[Uu]nit|[Rr]oom|[Rr]m|[Ff]loor|[Ff]l|#)\\.?\\s{0,3}#?\\s{0,2}[A-Za-z0-9-]{1,8})?`,
    },
    { name: 'facility', source: `(?:${byFirstLetter(cased(facilityWords).split('|'))})(?![a-z])` },
    // companies by their legal or trade suffix ("Civic Impulse LLC", "Palantir Technologies"): employers are names under Safe Harbor
    { name: 'org', source: `${capWord}(?:(?: | and | & |, )${capWord}){0,4} (?:${orgSuffixes})\\.?(?![\\w])` },
    // "works for Deloitte", "employee of Champion Automotive Co."
    { name: 'employer', source: `(?:[Ww]ork(?:s|ed|ing)? (?:for|at)|[Ee]mployed (?:by|at)|[Ee]mployee of|[Jj]ob at)[ \\t]{1,3}${capWord}(?: ${capWord}){0,3}` },
    // "lives in Ullaste", "flew to LEPPEN", "moved from Eugene": a place after a verb of residence or travel
    { name: 'placectx', source: `(?:[Ll]ive[sd]?|[Ll]iving|[Rr]esides?|[Rr]esiding|[Mm]oved|[Rr]elocated|[Bb]orn|[Rr]aised|[Gg]rew up|[Ff]lew|[Tt]ravell?ed|[Tt]rip|[Rr]eturned|[Oo]riginally|[Vv]isiting|[Vv]isited|[Ss]tationed|[Bb]ased|I am|I'm)(?: [a-z]{2,10})? (?:in|to|from|at|near) ${capWord}(?: ${capWord}){0,2}` },
    // lower-case names where the sentence says it is a name: "my name is lena andersson", "name: hyuuma t. maida"
    { name: 'namectx', source: "(?:[Mm]y name is|[Nn]ame is|[Nn]ame:|[Nn]amed|I am|I'm)[ \\t]{1,3}[a-zß-ÿ][a-zß-ÿ'’-]{0,30}\\.?(?: [a-zß-ÿ][a-zß-ÿ'’-]{0,30}\\.?){0,3}" },
    { name: 'unitno', source: '(?:[Aa]pt|APT|[Aa]partment|[Ss]uite|SUITE|[Ss]te)\\.?\\s{0,2}#?\\d{1,5}[A-Za-z]?(?![\\w])' },
    // Canadian and British postcodes: "B0J 2H0", "SW1A 1AA"
    { name: 'postcode', source: '[A-Z]\\d[A-Z] \\d[A-Z]\\d(?![\\w])|[A-Z]{1,2}\\d[A-Z\\d]? \\d[A-Z]{2}(?![\\w])' },
  ];
  if (language === 'es') {
    list.unshift({
      name: 'streetEs',
      source:
        "(?<![\\w])(?:[Cc]alle|C/|c/|[Aa]vda\\.?|[Aa]v\\.|[Aa]venida|[Pp]laza|[Pp]za\\.?|[Pp]aseo|[Pp]º|[Cc]amino|[Cc]arretera|[Cc]tra\\.?|[Rr]onda|[Tt]raves[ií]a|[Uu]rbanizaci[oó]n|[Uu]rb\\.|[Pp]asaje|[Gg]lorieta|[Rr]ambla|[Aa]partado de [Cc]orreos)\\s{0,3}(?:[A-Za-zÀ-ÿ.'/-]{1,30},?\\s{1,3}){0,6}(?:\\d{1,5}|s/n|km\\s?[\\d,.]{1,8})(?:[-/ ,]{1,2}[0-9A-Za-zº°ª]{1,6}){0,4}" +
        // "Hermanos Falcó, s/n - 02006": a capitalised name and a number, then a postcode
        "|(?<![\\w])(?:[A-ZÀ-Ý][a-zà-ÿ]{1,30} ){0,4}[A-ZÀ-Ý][a-zà-ÿ]{1,30},\\s(?:s/n|\\d{1,4})(?=[\\s.,-]{1,4}(?:E-)?\\d{5}(?!\\d))",
    });
    list.unshift({
      name: 'facilityEs',
      source: "(?<![\\w])(?:Hospital|Centro de Salud|Centro de salud|Cl[ií]nica|Complejo Hospitalario|Centro M[eé]dico|Fundaci[oó]n|Servicio de Salud)(?:\\s{1,3}(?:(?:de|del|la|las|los|el|y)\\s{1,3})?(?:Dr\\.|Dra\\.|Sta\\.|Sto\\.|[A-ZÀ-Ý][\\wÀ-ÿ'-]{1,30})){1,6}",
    });
  }
  return list;
}

/**
 * Label alternatives grouped under their first letter ("m(?:rn|edical record|…)"): the expression
 * then tests one letter per group at a word start instead of every label in turn. Order inside a
 * group is kept, so longer labels listed first still win.
 */
function byFirstLetter(labels: readonly string[]): string {
  const groups = new Map<string, string[]>();
  for (const l of labels) {
    if (!l) continue;
    const first = l[0] ?? '';
    const list = groups.get(first) ?? [];
    list.push(l.slice(1));
    groups.set(first, list);
  }
  return [...groups].map(([c, rest]) => `${c}(?:${rest.join('|')})`).join('|');
}

export function alternatives(language: Language): Alternative[] {
  // "s/n" is "sin número" in a Spanish address, not a serial number
  const idLabels = language === 'es' ? [...idLabelsEs, ...idLabelsEn.filter((l) => l !== 's/n')] : idLabelsEn;
  const lineLabels = language === 'es' ? [...lineLabelsEs, ...lineLabelsEn] : lineLabelsEn;
  const list: Alternative[] = [
    { name: 'email', source: '(?<![\\w.%+-])[a-z0-9][\\w.%+-]{0,63}@[a-z0-9-]{1,63}(?:\\.[a-z0-9-]{1,63}){1,8}' },
    { name: 'url', source: "(?<![\\w/])(?:https?://|ftp://|www\\.)[^\\s<>\"'()\\[\\]{}]{1,2000}" },
    { name: 'ipv4', source: '(?<![\\w.])\\d{1,3}(?:\\.\\d{1,3}){3}(?![\\w]|\\.\\d)' },
    { name: 'ipv6', source: '(?<![\\w:])(?:[0-9a-f]{1,4}:|:){2,7}(?::|[0-9a-f]{1,4})(?![\\w:])' },
    { name: 'mac', source: '(?<![\\w:-])[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5}(?![\\w:-])' },
    { name: 'udi', source: '\\(01\\)\\d{14}(?:\\(\\d{2,4}\\)[a-z0-9-]{1,20}){0,5}' },
    { name: 'ssn', source: '(?<![\\d-])\\d{3}-\\d{2}-\\d{4}(?![\\d-])' },
    {
      name: 'phone',
      source:
        '(?<![\\w+])(?:(?:\\+|00)\\d{1,3}[\\s.-]{0,2})?(?:\\(\\d{2,4}\\)[\\s.-]{0,2}|\\d{3}[\\s.-])\\d{3}[\\s.-]\\d{4}(?:\\s{0,2}(?:x|ext\\.?|extension)\\s{0,2}\\d{1,6})?(?![\\w])' +
        // international: "+46 (0)8 928 571 38", "+447700 921 916" (8-15 digits, checked)
        '|(?<![\\w+])\\+\\d{1,13}(?:\\s?\\(\\d{1,4}\\)\\s?\\d{1,5}|[\\s.-]\\d{1,6}){0,6}(?![\\w])',
    },
    {
      // a number after words that introduce one: "call me on 9472 7916", "office 416 60 039"
      name: 'phonectx',
      source:
        '(?:call(?:ing)?(?: me| us| her| him)? (?:on|at)|answering at|reach (?:me|us|her|him) at|registered|office|desk|home|work|mobile|cell)' +
        '\\s{0,3}:?\\s{0,3}(?:\\+\\d{1,4}[\\s.-]?)?(?:\\(\\d{1,5}\\)\\s?)?\\d{2,5}(?:[\\s.-]\\d{2,5}){1,4}(?:\\s{0,2}(?:x|ext\\.?|extension)\\s{0,2}\\d{1,6})?(?![\\w/]|[.,]\\d)',
    },
    { name: 'card', source: '(?<![\\d-])\\d{4}(?:[ -]?\\d{4}){2}(?:[ -]?\\d{1,7})?(?![\\d-])' },
    { name: 'iban', source: '(?<![\\w])[a-z]{2}\\d{2}(?: ?[a-z0-9]{4}){2,7}(?: ?[a-z0-9]{1,3})?(?![\\w])' },
    {
      name: 'dnum',
      source:
        '(?<![\\w/.-])(?:\\d{4}[-/.]\\d{1,2}[-/.]\\d{1,2}(?:[t ]\\d{1,2}:\\d{2}(?::\\d{2}(?:\\.\\d{1,9})?)?(?:z|[+-]\\d{2}:?\\d{2})?)?|\\d{1,2}[-/.]\\d{1,2}[-/.](?:\\d{4}|\\d{2}))(?![\\w/]|[.-]\\d)',
    },
    // international and Spanish layouts: "0494 92 82 32", "91 456 78 90", "(37) 788-063"; 9-13 digits (checked)
    { name: 'phoneIntl', source: '(?<![\\w+./-]|\\d,)(?:\\(\\d{2,5}\\)|\\d{2,5})(?:[ .-]\\d{2,4}){2,4}(?![\\w/]|-\\d|[.,]\\d)' },
    { name: 'pobox', source: '(?<![\\w])(?:p\\.?\\s?o\\.?\\s{0,2}|post ?)box\\s{1,3}\\d{1,8}' },
    { name: 'zip', source: '(?<![\\d-])\\d{5}(?:-\\d{4})?(?![\\d-])' },
    { name: 'alnum', source: '(?<![\\w-])(?:\\d{1,20}[a-z]|[a-z]{1,8}\\d)[a-z0-9]{0,22}(?:-[a-z0-9]{1,24}){0,6}(?![\\w-])' },
    { name: 'longnum', source: '(?<![\\w.,-])\\d{7,24}(?![\\w]|[.,]\\d)' },
    { name: 'label', source: `(?<![\\w])(?:${byFirstLetter(idLabels)})(?![a-z])\\s{0,3}[:#]?` },
    { name: 'line', source: `(?<![\\w])(?:${byFirstLetter(lineLabels)})\\s{0,3}:` },
  ];
  return list;
}

/** A compiled pattern detector for one language; reused across documents. */
export interface PatternDetector {
  detect(text: string, out: Span[]): void;
}

const usStates =
  'Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming';
const stateAbbrev =
  'AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR';
/** Case-sensitive look-back for a ZIP code: a state, a ZIP label or a Spanish postcode label. */
const zipContext = new RegExp(`(?:\\b(?:${stateAbbrev})|${usStates}|\\b[Zz][Ii][Pp](?: [Cc]ode)?:?|[Pp]ostal [Cc]ode:?|\\bC\\.?P\\.?:?|\\bcp:?)[\\s,.]{0,3}$`);

/** Abbreviations of street words that end in a full stop without ending the sentence. */
const streetAbbreviations = new Set(['avda', 'crta', 'ctra', 'cdad', 'avd', 'blvd', 'pkwy', 'apto', 'dpto', 'pza', 'pl', 'st', 'ave', 'rd', 'dr', 'ln', 'ct', 'hwy', 'col', 'edif', 'urb', 'bldg', 'apt', 'ste']);
/** Where an address value's sentence ends: after a word or a postcode, before a capitalised word. */
function sentenceEndIn(value: string): { index: number; 0: string } | null {
  const re = /(\p{L}{4,}|\d{4,})\.\s+(?=\p{Lu}[\p{Ll} ])|;/gu;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    if (m[1] === undefined || /\d/.test(m[1]) || !streetAbbreviations.has(m[1].toLowerCase())) return m;
  }
  return null;
}

function mixedSeparators(s: string): boolean {
  const seps = s.match(/[-/.]/g);
  return seps !== null && seps.length >= 2 && !/^\d{4}/.test(s) ? seps[0] !== seps[1] : false;
}
const fractionUnit = /\s{0,2}(?:(?:to|-)\s{0,2}[\d.]{1,4}\s{0,2})?(?:inch|inches|in\b|cm\b|mm\b|tabs?\b|tablets?\b|cups?\b|miles?\b|hours?\b|hrs?\b|teaspoons?\b|tsp\b)/y;

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}
/** [\w.%+-] */
function isEmailLocal(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 46 || c === 37 || c === 43 || c === 45;
}

function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

function isUpper(ch: string | undefined): boolean {
  return ch !== undefined && ch !== ch.toLowerCase() && ch === ch.toUpperCase();
}

function validNumericDate(s: string): boolean {
  const parts = s.split(/[-/.Tt ]/).filter(Boolean);
  const nums = parts.slice(0, 3).map(Number);
  const [a = 0, b = 0, c = 0] = nums;
  if (parts[0] && parts[0].length === 4) return b >= 1 && b <= 12 && c >= 1 && c <= 31;
  const md = a >= 1 && a <= 12 && b >= 1 && b <= 31;
  const dm = b >= 1 && b <= 12 && a >= 1 && a <= 31;
  return md || dm;
}

function labelCategory(label: string): PhiCategory {
  const l = label.toLowerCase();
  if (/medical record|mrn|mr ?#|record|chart|hospital|patient|unit|nhc|historia|cip|expediente/.test(l)) return 'MRN';
  if (/member|subscriber|policy|group|medicaid|medicare|insurance|plan|beneficiary|hicn|mbi|nass|afiliaci|n[º°]? ?ss/.test(l)) return 'HEALTH_PLAN';
  if (/account|acct|billing|card|iban|encounter|visit|fin/.test(l)) return 'ACCOUNT';
  if (/vin|plate|vehicle/.test(l)) return 'VEHICLE';
  if (/serial|s\/n|^sn|udi|device|lot|model/.test(l)) return 'DEVICE';
  if (/ssn|social|ss#/.test(l)) return 'SSN';
  if (/fax/.test(l)) return 'FAX';
  if (/phone|tel|cell|mobile|pager|tfno/.test(l)) return 'PHONE';
  if (/licen|lic|dea|npi|certificate|col|dl/.test(l)) return 'LICENSE';
  return 'ID';
}

const valueAfterLabel = /[\s:#.]{0,4}(?:(?:number|num|no|n[º°])\.?[\s:#]{0,3})?([a-z0-9(+][a-z0-9./()-]{0,48}(?: [0-9][0-9./-]{0,15}){0,3})/iy;
const lineValue = /[ \t]{0,8}([^\n\r]{1,120})/y;
/** ", PA" / " New York" inside an address value: group 1 the separator, group 2 the state. */
const stateInValue = new RegExp(`([,\\s]{1,3})(${stateAbbrev}|${usStates})(?![\\p{L}])`, 'gu');
const townAfterZip = /,?\s{1,2}(\p{Lu}[\p{L}'’-]{1,30}(?: (?:de |del |de la )?\p{Lu}[\p{L}'’-]{1,30}){0,3})/uy;
const townAfter = /(?:,[ \t]{0,2}|[ \t]{1,2}in[ \t]{1,2})(\p{Lu}[\p{L}'’-]{1,30}(?: \p{Lu}[\p{L}'’-]{1,30}){0,2})/uy;

/** Builds the merged expression of a language and returns its detector. */
export function createPatternDetector(language: Language, dict: Dictionaries): PatternDetector {
  const all = alternatives(language);
  const gated = new Set(['email', 'ipv6']);
  // Every alternative but a UDI starts where a word does: one shared look-behind fails fast at the
  // ~80% of positions inside words, instead of each alternative trying its own there.
  const unanchored = new Set(['udi']);
  const compile = (alts: readonly Alternative[], flags: string): { re: RegExp; names: string[] } => {
    const group = (a: Alternative): string => `(?<${a.name}>${a.source})`;
    const anchored = alts.filter((a) => !unanchored.has(a.name)).map(group).join('|');
    const free = alts.filter((a) => unanchored.has(a.name)).map(group);
    return { re: new RegExp([`(?<![\\w])(?:${anchored})`, ...free].join('|'), flags), names: alts.map((a) => a.name) };
  };
  const common = compile(all.filter((a) => !gated.has(a.name)), 'gi');
  const cased = compile(casedAlternatives(language, dict), 'g');
  const ipv6 = compile(all.filter((a) => a.name === 'ipv6'), 'gi');
  const ipv6After = /[0-9a-f]{1,4}:[0-9a-f]{1,4}:|:/iy;
  /** An IPv6-looking run ("::" or three hex groups) somewhere: found from the colons, not by a scan. */
  function ipv6Hint(text: string): boolean {
    for (let i = text.indexOf(':'); i >= 0; i = text.indexOf(':', i + 1)) {
      if (i === 0 || !isHex(text.charCodeAt(i - 1))) {
        if (text.charCodeAt(i + 1) === 58) return true;
        continue;
      }
      ipv6After.lastIndex = i + 1;
      if (ipv6After.test(text)) return true;
    }
    return false;
  }
  const emailAt = new RegExp(all.find((a) => a.name === 'email')?.source ?? '(?!)', 'iy');
  /** Emails from each "@": walk back over the local part, then match once there. */
  function scanEmails(text: string, out: Span[]): void {
    for (let at = text.indexOf('@'); at >= 0; ) {
      let b = at;
      while (b > 0 && at - b < 64 && isEmailLocal(text.charCodeAt(b - 1))) b--;
      emailAt.lastIndex = b;
      const m = emailAt.exec(text);
      if (m) {
        push(out, b, b + m[0].length, 'EMAIL', 'email', 0.99);
        at = text.indexOf('@', b + m[0].length);
      } else at = text.indexOf('@', at + 1);
    }
  }
  const lineLabelRe = new RegExp(`^(?:${(language === 'es' ? [...lineLabelsEs, ...lineLabelsEn] : lineLabelsEn).join('|')})`, 'i');

  function push(out: Span[], start: number, end: number, type: PhiCategory, detector: string, confidence: number): void {
    if (end > start) out.push({ start, end, type, detector: `pattern:${detector}`, confidence });
  }

  /** "<street>, Springfield" / "<hospital> in Springfield": the capitalised words after an address are its town. */
  function placeAfter(text: string, at: number, out: Span[]): void {
    townAfter.lastIndex = at;
    const t = townAfter.exec(text);
    if (!t || t[1] === undefined) return;
    const words = t[1].split(' ');
    // right after an address a capitalised word is its town even when it is also a word ("Emporia")
    if (words.every((w) => dict.keep.has(w.toLowerCase()) || /^(?:The|This|That|He|She|They|We|His|Her|Patient|Apt|Suite|Unit)$/.test(w))) return;
    const s0 = at + t[0].length - t[1].length;
    push(out, s0, s0 + t[1].length, 'LOCATION', 'address-town', 0.8);
  }

  function pushTrimmed(out: Span[], text: string, start: number, end: number): void {
    let s0 = start;
    let e0 = end;
    while (s0 < e0 && /[\s,;]/.test(text[s0] ?? '')) s0++;
    while (e0 > s0 && /[\s,;]/.test(text[e0 - 1] ?? '')) e0--;
    if (/[\p{L}\d]/u.test(text.slice(s0, e0))) push(out, s0, e0, 'LOCATION', 'line-label', 0.9);
  }

  function lineLabel(text: string, label: string, at: number, out: Span[]): void {
    lineValue.lastIndex = at;
    const m = lineValue.exec(text);
    if (!m || m[1] === undefined) return;
    const valueStart = at + m[0].length - m[1].length;
    const kind = lineLabelRe.exec(label)?.[0].toLowerCase() ?? '';
    const isAddress = /address|street|city|county|domicilio|direcci|localidad|provincia|municipio/.test(kind);
    const isFacility = /facility|hospital|centro/.test(kind);
    let value = m[1];
    if (isAddress || isFacility) {
      // "IN THE HOSPITAL:" is a section header about a stay, not a facility label
      if (/\b(?:the|a|an|in|at|of|to|from|this|that|his|her|our|their|same|new|with|for)\s{1,3}$/i.test(text.slice(Math.max(0, at - label.length - 8), at - label.length))) return;
      // a line label's value ends with the sentence: "…, PA 15367. At this time, …"
      const sentenceEnd = sentenceEndIn(value);
      if (sentenceEnd) value = value.slice(0, sentenceEnd.index + sentenceEnd[0].length).replace(/[\s;]+$/, '');
      value = value.replace(/[\s.,;]+$/, '');
      // stop at the next label on the same line ("Médico: X NºCol: 1")
      const next = /\s[\p{Lu}][\p{L}º°/ ]{1,20}:/u.exec(value);
      if (next) value = value.slice(0, next.index);
      if (!/\p{L}|\d/u.test(value)) return;
      // a state is not an identifier under Safe Harbor: "Town, PA 15367" leaves "PA" out
      let from = 0;
      stateInValue.lastIndex = 0;
      for (let st = stateInValue.exec(value); st; st = stateInValue.exec(value)) {
        const s0 = st.index + (st[1]?.length ?? 0);
        pushTrimmed(out, text, valueStart + from, valueStart + st.index);
        from = s0 + (st[2]?.length ?? 0);
      }
      pushTrimmed(out, text, valueStart + from, valueStart + value.length);
      return;
    }
    // names: capitalised words and initials, stopping at the first word that is not one
    const tok = /([\p{Lu}][\p{L}\p{M}'’-]*\.?|[\p{Lu}]\.)(\d*)(?=[\s,]|$)/uy;
    let pos = valueStart;
    let end = valueStart;
    let titleEnd = valueStart;
    let count = 0;
    while (count < 6) {
      tok.lastIndex = pos;
      const t = tok.exec(text);
      if (!t) break;
      const word = t[1] ?? '';
      if (/^(?:dr|dra|mr|mrs|ms|miss|sr|sra|don|doña|prof)\.?$/i.test(word)) {
        pos = tok.lastIndex;
        while (text[pos] === ' ') pos++;
        // the title is not part of the name ("Dr." is no identifier)
        if (count === 0) end = titleEnd = pos;
        continue;
      }
      const after = text.slice(tok.lastIndex, tok.lastIndex + 2);
      if (after.startsWith(':') || /^[^\s,.;]/.test(after)) break;
      const lower = word.replace(/\.$/, '').toLowerCase();
      const nextCapital = /^[ \t]\p{Lu}/u.test(text.slice(tok.lastIndex, tok.lastIndex + 2));
      if (dict.commonWords.has(lower) && !dict.firstNames.has(lower) && !dict.lastNames.has(lower) && !nextCapital) break;
      count++;
      end = tok.lastIndex;
      if (end > valueStart && text[end - 1] === '.' && !/^[\p{Lu}]\.$/u.test(word)) {
        // a full stop after a whole word ends the sentence, and the name with it
        end--;
        break;
      }
      pos = tok.lastIndex;
      while (text[pos] === ' ') pos++;
    }
    let start = titleEnd;
    while (start < end && !/[\p{L}\d]/u.test(text[start] ?? '')) start++;
    if (count > 0) push(out, start, end, 'NAME', 'line-label', 0.9);
  }

  return {
    detect(text: string, out: Span[]): void {
      scan(common, text, out);
      scan(cased, text, out);
      scanEmails(text, out);
      if (ipv6Hint(text)) scan(ipv6, text, out);
    },
  };

  function scan(compiled: { re: RegExp; names: string[] }, text: string, out: Span[]): void {
    const merged = compiled.re;
    const names = compiled.names;
      merged.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = merged.exec(text)) !== null) {
        const groups = m.groups ?? {};
        let kind = '';
        for (const n of names) {
          if (groups[n] !== undefined) {
            kind = n;
            break;
          }
        }
        const s = m[0];
        const start = m.index;
        const end = start + s.length;
        if (s.length === 0) {
          merged.lastIndex++;
          continue;
        }
        switch (kind) {
          case 'email':
            push(out, start, end, 'EMAIL', kind, 0.99);
            break;
          case 'url': {
            const trimmed = s.replace(/[.,;:!?]+$/, '');
            push(out, start, start + trimmed.length, 'URL', kind, 0.99);
            break;
          }
          case 'ipv4':
            if (s.split('.').every((o) => Number(o) <= 255)) push(out, start, end, 'IP', kind, 0.95);
            break;
          case 'ipv6':
            if ((s.match(/:/g)?.length ?? 0) >= 3 || s.includes('::')) {
              if (/[a-f]/i.test(s) || s.includes('::') || (s.match(/:/g)?.length ?? 0) >= 5) push(out, start, end, 'IP', kind, 0.9);
            }
            break;
          case 'mac':
            push(out, start, end, 'DEVICE', kind, 0.9);
            break;
          case 'udi':
            push(out, start, end, 'DEVICE', kind, 1);
            break;
          case 'ssn':
            push(out, start, end, 'SSN', kind, /^(?:000|666|9)/.test(s) ? 0.8 : 0.97);
            break;
          case 'phonectx': {
            const at = s.search(/[+(\d]/);
            const digits = s.slice(at).replace(/\D/g, '').length;
            if (at >= 0 && digits >= 7 && digits <= 15) {
              const before = text.slice(Math.max(0, start - 24), start + at).toLowerCase();
              push(out, start + at, end, before.includes('fax') ? 'FAX' : 'PHONE', 'phone', 0.85);
            }
            break;
          }
          case 'phone': {
            if (s.startsWith('+')) {
              const digits = s.replace(/\D/g, '').length;
              if (digits < 8 || digits > 15) break;
            }
            const before = text.slice(Math.max(0, start - 24), start).toLowerCase();
            push(out, start, end, before.includes('fax') ? 'FAX' : 'PHONE', kind, 0.95);
            break;
          }
          case 'phoneIntl': {
            const digits = s.replace(/\D/g, '').length;
            if (digits >= 9 && digits <= 13) {
              const before = text.slice(Math.max(0, start - 24), start).toLowerCase();
              push(out, start, end, before.includes('fax') ? 'FAX' : 'PHONE', 'phone', 0.8);
            }
            break;
          }
          case 'card': {
            const digits = s.replace(/\D/g, '');
            if (digits.length >= 13 && digits.length <= 19) push(out, start, end, luhn(digits) ? 'ACCOUNT' : 'ID', kind, luhn(digits) ? 1 : 0.8);
            break;
          }
          case 'iban':
            // the shortest IBAN (Norway) has 15 characters
            if (isUpper(s[0]) && isUpper(s[1]) && s.replace(/ /g, '').length >= 15) push(out, start, end, 'ACCOUNT', kind, 0.9);
            break;
          case 'dnum':
            // "3-4/10" is a pain score, "1.5/2.0" a ratio: a date keeps one separator
            if (mixedSeparators(s)) break;
            if (validNumericDate(s)) push(out, start, end, 'DATE', kind, 0.95);
            else if (s.replace(/\D/g, '').length >= 7) push(out, start, end, 'ID', 'number', 0.6);
            break;
          case 'dmd': {
            const at = s.search(/\d/);
            // "from 1/2 to 1 inch", "1/2 tab": a fraction with a unit
            fractionUnit.lastIndex = end;
            if (fractionUnit.test(text)) break;
            if (validNumericDate(`${s.slice(at)}/2000`)) push(out, start + at, end, 'DATE', kind, 0.8);
            break;
          }
          case 'agectx': {
            const at = s.search(/\d/);
            push(out, start + at, end, 'AGE', 'age', 0.95);
            break;
          }
          case 'dmon': {
            // month names must be capitalised in English ("may" is a verb); Spanish writes them lower-case
            const monthAt = /\p{L}{3,}/u.exec(s.replace(/^(?:the\s+)/i, ''));
            const word = monthAt?.[0] ?? '';
            const lowerOk = language === 'es';
            if (!lowerOk && !isUpper(word[0])) {
              merged.lastIndex = start + 1;
              break;
            }
            push(out, start, end, 'DATE', kind, 0.95);
            break;
          }
          case 'age':
            push(out, start, end, 'AGE', kind, 0.95);
            break;
          case 'street': {
            const words = s.split(/\s+/).slice(1);
            // "53 RBC, 2 WBC. Plain films": a full stop after a word inside the name ends a sentence
            if (words.slice(0, -1).some((w) => /^(?:[A-Z]{2,}|[A-Za-z]{4,})\.$/.test(w))) break;
            const capitalised = words.filter((w) => /^\p{L}/u.test(w) && !/^[nsew]\.?$/i.test(w) && !/^(?:apt|apartment|suite|ste|unit|room|rm|floor|fl)\.?$/i.test(w));
            if (capitalised.length > 0) {
              push(out, start, end, 'LOCATION', kind, 0.9);
              placeAfter(text, end, out);
            }
            break;
          }
          case 'pobox':
            push(out, start, end, 'LOCATION', kind, 0.95);
            break;
          case 'facility': {
            // walk back over the capitalised words in front of the keyword ("St. Mary's" + "Hospital")
            let from = start;
            let words = 0;
            const back = /(?:^|[ \t])((?:\p{Lu}[\p{L}\w'’&.-]{0,30}|of|the|and|&|van|von|de|der|den|del|la|le|di|da))[ \t]$/u;
            for (;;) {
              const prev = back.exec(text.slice(Math.max(0, from - 34), from));
              if (!prev || words >= 5) break;
              const w = prev[1] ?? '';
              from -= w.length + 1;
              words++;
            }
            // leading connectors and ordinary capitalised words ("The", "At") are not part of the name
            let head = text.slice(from, start);
            for (;;) {
              const first = /^(\S+)\s+/.exec(head);
              if (!first) break;
              const w = (first[1] ?? '').toLowerCase().replace(/[.']/g, '');
              // a surname particle stays: "de Lange Memorial Hospital"
              if (/^(?:de|da|di|du|la|le|van|von|der|den|del)$/.test(w)) break;
              // an ordinary word goes only where a sentence or clause starts ("Then …"), not inside a name ("Marks Memorial")
              const clauseStart = from === 0 || /[.!?:;,\n(]\s{0,3}$/.test(text.slice(Math.max(0, from - 4), from));
              if (/^(?:of|the|and|&|at|to|in|on|from|with|by|for)$/.test(w) || (w.length <= 2 && w !== 'st') ||
                (clauseStart && dict.commonWords.has(w) && !/^(?:st|saint|general|memorial|community|regional|county|university|mercy|good|sacred|holy|children)$/.test(w))) {
                from += first[0].length;
                head = head.slice(first[0].length);
              } else break;
            }
            // "Children's Hospital", "Memorial Hospital": generic words alone name no one facility
            // nor do departments ("Pediatric Urology Clinic"): ordinary words that are nobody's name
            const generic = text.slice(from, start).trim().split(/\s+/).every((w) => {
              const l = w.toLowerCase().replace(/['’]s$|[.,]$/g, '');
              return genericFacilityWords.has(l) || ((dict.commonWords.has(l) || dict.keep.has(l)) && !dict.firstNames.has(l) && !dict.lastNames.has(l));
            });
            if (from < start && !generic) {
              push(out, from, end, 'LOCATION', kind, 0.85);
              placeAfter(text, end, out);
            }
            break;
          }
          case 'org':
          case 'employer': {
            // leading ordinary words ("The", "At") and, after "works for", the context are not the name
            let from = start;
            if (kind === 'employer') from = start + s.search(/(?<=(?:for|at|by|of)[ \t]{1,3})\S/);
            let e0 = end;
            for (;;) {
              const first = /^(\S+)\s+/.exec(text.slice(from, e0));
              if (!first) break;
              const w = (first[1] ?? '').toLowerCase();
              if (/^(?:the|a|an|at|for|by|with|and|of|in|on|to|from)$/.test(w)) from += first[0].length;
              else break;
            }
            const words = text.slice(from, e0).split(/\s+/);
            if (kind === 'employer') {
              // stop at the first ordinary word that is not a company suffix
              let keepN = 0;
              for (const w of words) {
                const l = w.replace(/[.,]+$/, '').toLowerCase();
                if (keepN > 0 && dict.commonWords.has(l) && !orgSuffixRe.test(l)) break;
                keepN++;
              }
              const kept = words.slice(0, keepN).join(' ').replace(/[.,]+$/, '');
              e0 = from + kept.length;
              if (kept.length === 0 || words.slice(0, keepN).every((w) => dict.keep.has(w.replace(/[.,]+$/, '').toLowerCase()))) break;
            } else if (words.length < 2) break;
            if (e0 > from) push(out, from, e0, 'ORGANIZATION', kind, 0.8);
            break;
          }
          case 'placectx': {
            // the place follows the last preposition of the match
            let from = -1;
            for (const p of s.matchAll(/\b(?:in|to|from|at|near) /g)) from = start + p.index + p[0].length;
            if (from < 0) break;
            const words = text.slice(from, end).replace(/[.,;:]+$/, '').split(' ');
            // stop at the first ordinary word; countries and states are not identifiers
            let n = 0;
            for (const w of words) {
              const l = w.replace(/['’]s$/, '').replace(/[.,;:]+$/, '').toLowerCase();
              if (dict.commonWords.has(l) && w !== w.toUpperCase()) break;
              n++;
            }
            const kept = words.slice(0, n);
            if (n === 0 || kept.every((w) => dict.keep.has(w.replace(/[.,;:]+$/, '').toLowerCase()))) break;
            const e0 = from + kept.join(' ').replace(/[.,]+$/, '').length;
            if (/^(?:[A-Z]{2})$/.test(kept.join(' '))) break;
            push(out, from, e0, 'LOCATION', kind, 0.8);
            break;
          }
          case 'namectx': {
            const at = s.search(/(?<=(?:is|:|named|am|'m)[ \t]{1,3})[a-zß-ÿ]/);
            if (at < 0) break;
            // name words: in the name lists, or in no list of words at all; an initial may sit between
            let e0 = start + at;
            const words = s.slice(at).split(' ');
            let taken = 0;
            for (const w of words) {
              const bare = w.replace(/\.$/, '');
              const isInitial = /^[a-z]\.?$/.test(w) && taken > 0;
              const listed = (dict.firstNames.has(bare) || dict.lastNames.has(bare)) && !dict.ambiguousNames.has(bare);
              const nameWord = bare.length >= 2 && !lowerFunctionWords.has(bare) && (listed || (!dict.commonWords.has(bare) && !dict.keep.has(bare)));
              if (!(isInitial || nameWord)) break;
              e0 += (taken > 0 ? 1 : 0) + (isInitial ? w.length : bare.length);
              taken++;
            }
            // one ordinary-looking word alone ("I am fine") is not enough unless a list knows it as a name
            const first = (words[0] ?? '').replace(/\.$/, '');
            if (taken >= 2 || (taken === 1 && (dict.firstNames.has(first) || dict.lastNames.has(first)) && !dict.ambiguousNames.has(first))) push(out, start + at, e0, 'NAME', kind, 0.85);
            break;
          }
          case 'unitno':
          case 'postcode':
            push(out, start, end, 'LOCATION', kind, 0.85);
            break;
          case 'facilityEs': {
            let cut = s.replace(/[.,]+$/, '').length;
            const tail = /(?:\s+(?:de|del|la|las|los|el|y))+$/i.exec(s.slice(0, cut));
            if (tail) cut = tail.index;
            push(out, start, start + cut, 'LOCATION', kind, 0.85);
            break;
          }
          case 'streetEs': {
            const cut = s.replace(/[\s,/-]+$/, '').length;
            push(out, start, start + cut, 'LOCATION', kind, 0.85);
            break;
          }
          case 'zip': {
            const before = text.slice(Math.max(0, start - 30), start);
            // Spanish postcodes come before the town: "28046 Madrid", "E-47005 Valladolid"
            const townNext = language === 'es' && /^,?\s{1,2}\p{Lu}\p{Ll}/u.test(text.slice(end, end + 4));
            if (zipContext.test(before) || townNext) {
              const prefixed = language === 'es' && /E-$/.test(before) ? 2 : 0;
              push(out, start - prefixed, end, 'LOCATION', kind, 0.9);
              if (townNext) {
                townAfterZip.lastIndex = end;
                const town = townAfterZip.exec(text);
                if (town?.[1]) push(out, end + town[0].length - town[1].length, end + town[0].length, 'LOCATION', 'address-town', 0.8);
              }
            }
            break;
          }
          case 'alnum': {
            // sizes ("13x12x7") and obstetric history ("para3-0-0-3", "G2P1") are measurements, not codes
            if (/^\d{1,4}(?:x\d{1,4}){1,3}$/i.test(s) || /^(?:para|gravida|g\d{1,2}p)\d/i.test(s)) break;
            const letters = s.replace(/[^a-z]/gi, '').length;
            const digits = s.replace(/\D/g, '').length;
            const compact = s.replace(/-/g, '');
            if (compact.length === 17 && /^[A-HJ-NPR-Z0-9]{17}$/.test(compact)) push(out, start, end, 'VEHICLE', 'vin', 0.9);
            else if (/^[A-Z]{2}\d{7}$/.test(s)) push(out, start, end, 'LICENSE', 'dea', 0.85);
            else if (compact.length >= 6 && digits >= 4 && letters >= 1) push(out, start, end, 'ID', kind, 0.7);
            else if (compact.length >= 16 && digits >= 3) push(out, start, end, 'ID', kind, 0.7);
            break;
          }
          case 'longnum':
            push(out, start, end, 'ID', kind, 0.7);
            break;
          case 'label': {
            valueAfterLabel.lastIndex = end;
            const v = valueAfterLabel.exec(text);
            if (v && v[1] !== undefined && /\d/.test(v[1]) && v[1].replace(/\D/g, '').length >= 2) {
              let vs = end + v[0].length - v[1].length;
              let value = v[1].replace(/[.)-]+$/, '');
              // "fax number is 831-5926": a word without a digit in front of the number is not part of it
              const lead = /^[a-z]{1,12} (?=\S*\d)/.exec(value);
              if (lead) {
                vs += lead[0].length;
                value = value.slice(lead[0].length);
              }
              const category = labelCategory(s);
              // a label only re-types numbers; a date after "Visit:" stays a date
              if (!(category === 'ID' && /^\d{1,2}[/.-]\d{1,2}/.test(value))) {
                // the scan goes on inside the value: a phone's extension or a card's checksum still count
                push(out, vs, vs + value.length, category, `label:${category.toLowerCase()}`, 0.95);
              }
            }
            break;
          }
          case 'line':
            lineLabel(text, s, end, out);
            break;
          default:
            break;
        }
      }
  }
}
