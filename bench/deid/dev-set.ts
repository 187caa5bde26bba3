// SPDX-License-Identifier: Apache-2.0
/**
 * The English clinical development set, built deterministically (seeded) from ../shared/data/notes:
 *
 * - `synthea`: Synthea encounter notes; gold spans are the occurrences of the note's own patient's
 *   names, birth date, encounter date and address parts taken from the Patient resources.
 * - `mtsamples-planted`: MTSamples transcriptions with identifiers of every Safe Harbor category in
 *   many written forms planted between sentences, with known spans. Names come from non-US faker
 *   locales and cities from faker's generated patterns, so they are NOT the engine's dictionaries.
 * - `mtsamples-clean`: untouched MTSamples notes, the PHI-free documents (they carry only the
 *   scraper's residue, such as "Dr. Sample Doctor").
 *
 * Nothing is written into the repository; `npm run bench:deid -- --write-dev DIR` saves a copy.
 */
import { readFileSync } from 'node:fs';
import { seededRandom } from '../../src/kernel/random.js';
import {
  fakerDE, fakerEN_AU, fakerEN_GB, fakerEN_IE, fakerEN_US, fakerFR, fakerIT, fakerNL, fakerPL, fakerPT_BR, fakerSV, type Faker,
} from '@faker-js/faker';

export interface GoldSpan { start: number; end: number; type: string; orig_type: string; text: string }
export interface Doc { id: string; source: string; text: string; phi: GoldSpan[] }

const months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const states = ['KS', 'MO', 'TX', 'CA', 'NY', 'OH', 'FL', 'WA', 'IL', 'PA', 'GA', 'MA', 'CO', 'AZ', 'MN'];

function ordinal(d: number): string {
  return d % 10 === 1 && d !== 11 ? 'st' : d % 10 === 2 && d !== 12 ? 'nd' : d % 10 === 3 && d !== 13 ? 'rd' : 'th';
}

/** Writes a date in one of the forms clinical text uses; the returned string is all PHI. */
function writeDate(r: () => number, y: number, m: number, d: number, form: number): string {
  const pad = (x: number): string => String(x).padStart(2, '0');
  const name = months[m - 1] ?? 'January';
  switch (form % 14) {
    case 0: return `${m}/${d}/${String(y % 100).padStart(2, '0')}`;
    case 1: return `${pad(m)}-${pad(d)}-${y}`;
    case 2: return `${name} ${d}${ordinal(d)}`;
    case 3: return `${d} ${name.slice(0, 3)}`;
    case 4: return `the ${d}${ordinal(d)} of ${name}`;
    case 5: return `${y}-${pad(m)}-${pad(d)}T${pad(Math.floor(r() * 24))}:${pad(Math.floor(r() * 60))}`;
    case 6: return `${name} ${d}, ${y}`;
    case 7: return `${name.slice(0, 3)}. ${d}, ${y}`;
    case 8: return `${pad(m)}/${pad(d)}/${y}`;
    case 9: return `${name} ${y}`;
    case 10: return `${d} ${name} ${y}`;
    case 11: return `${y}-${pad(m)}-${pad(d)}`;
    case 12: return `${name.slice(0, 3)} ${d}`;
    default: return `${m}/${d}/${y}`;
  }
}

function luhnDigit(body: string): number {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

type Piece = string | { value: string; type: string };

const monthWord = '(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\\.?';
/**
 * What the MTSamples scrape left in its notes: real dates, "Dr. X" / "ABCD Hospital" placeholders,
 * a clinician's surname after a title, ages over 89. Written apart from the engine, deliberately
 * narrow (only forms that are identifiers whatever the context); its spans are neutral in scoring.
 */
const leftoverRe = new RegExp(
  [
    '\\b\\d{1,2}/\\d{1,2}/(?:\\d{4}|\\d{2})\\b',
    '\\b\\d{1,2}-\\d{1,2}-(?:\\d{4}|\\d{2})\\b',
    '\\b\\d{1,2}/\\d{1,2}\\b(?=[,.;]?\\s)(?<=\\b(?:on|since|until|dated)\\s\\d{1,2}/\\d{1,2})',
    `\\b${monthWord}\\s\\d{1,2}(?:st|nd|rd|th)?(?:,?\\s\\d{4})?\\b`,
    `\\b${monthWord},?\\s(?:of\\s)?\\d{4}\\b`,
    '\\b(?:Dr|Mr|Mrs|Ms|Miss)\\.?\\s(?:[A-Z]{1,4}\\b|[A-Z][a-z]+(?:\\s[A-Z][a-z]+)?\\b)',
    '\\bSample\\s(?:Patient|Doctor|Name)\\b',
    '\\b(?:ABC|ABCD|XYZ|Xyz|Abc)\\b(?:\\s(?:General|Memorial|Medical|Health|Community))*(?:\\s(?:Hospital|Center|Clinic|System))*',
    '\\b(?:9\\d|1[01]\\d)(?:\\s|-)years?(?:\\s|-)old\\b',
  ].join('|'),
  'g',
);

/** Neutral gold spans over the scrape's own identifiers in `text` (offsets from `base`). */
function leftovers(text: string, base: number): GoldSpan[] {
  const out: GoldSpan[] = [];
  for (const m of text.matchAll(leftoverRe)) {
    const start = base + m.index;
    out.push({ start, end: start + m[0].length, type: 'OTHER', orig_type: 'LEFTOVER', text: m[0] });
  }
  return out;
}

/** Identifier makers: each returns sentence pieces; objects are the gold PHI. */
function makers(r: () => number, names: Faker[]): (() => Piece[])[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const digits = (n: number): string => Array.from({ length: n }, () => Math.floor(r() * 10)).join('');
  const upper = (n: number): string => Array.from({ length: n }, () => 'ABCDEFGHJKLMNPRSTUVWXYZ'[Math.floor(r() * 23)]).join('');
  const f = (): Faker => pick(names);
  const first = (): string => f().person.firstName();
  const last = (): string => f().person.lastName();
  const date = (): string => writeDate(r, 1940 + Math.floor(r() * 84), 1 + Math.floor(r() * 12), 1 + Math.floor(r() * 28), Math.floor(r() * 14));
  const phone = (): string => {
    const [a, b, c] = [String(200 + Math.floor(r() * 700)), String(200 + Math.floor(r() * 700)), digits(4)];
    return pick([`(${a}) ${b}-${c}`, `${a}-${b}-${c}`, `${a}.${b}.${c}`, `+1 ${a} ${b} ${c}`, `${a}-${b}-${c} x${digits(3)}`]);
  };
  const city = (): string => fakerEN_US.location.city();
  const street = (): string => `${1 + Math.floor(r() * 9800)} ${fakerEN_US.location.street()}`;
  const N = (value: string): Piece => ({ value, type: 'NAME' });
  const D = (value: string): Piece => ({ value, type: 'DATE' });
  const L = (value: string): Piece => ({ value, type: 'LOCATION' });
  return [
    () => ['Patient: ', N(`${first()} ${last()}`), '.'],
    () => ['Seen today by Dr. ', N(last()), ' on ', D(date()), '.'],
    () => [N(`${last()}, ${first()}`), ' was admitted on ', D(date()), ' for observation.'],
    () => ['Mr. ', N(last()), "'s daughter ", N(first()), ' accompanied him.'],
    () => ['Discussed with ', N(`${first()} ${upper(1)}. ${last()}`), ', RN.'],
    () => ['Electronically signed by: ', N(`${first()} ${last()}`), ', MD ', D(date())],
    () => ['Referring physician: Dr. ', N(`${first()} ${last()}`), '.'],
    () => ['The patient is a ', { value: `${90 + Math.floor(r() * 15)}-year-old`, type: 'AGE' }, ' woman.'],
    () => ['She is ', { value: `${90 + Math.floor(r() * 15)} years old`, type: 'AGE' }, '.'],
    () => ['DOB: ', D(date()), '.'],
    () => ['Date of service: ', D(date()), '.'],
    () => ['Follow-up in clinic on ', D(date()), '.'],
    () => ['Address: ', L(street()), ', ', L(city()), ', ', pick(states), ' ', L(fakerEN_US.location.zipCode('#####')), '.'],
    () => ['Lives at ', L(street()), ' in ', L(city()), '.'],
    () => ['Transferred from ', L(`${last()} Memorial Hospital`), '.'],
    () => ['Previously treated at ', L(`St. ${first()}'s Medical Center`), ' in ', L(city()), '.'],
    () => ['Phone: ', { value: phone(), type: 'PHONE' }, '.'],
    () => ['Please call her at ', { value: phone(), type: 'PHONE' }, ' with results.'],
    () => ['Fax: ', { value: phone(), type: 'FAX' }, '.'],
    () => ['Email: ', { value: fakerEN_US.internet.email({ firstName: first(), lastName: last() }), type: 'EMAIL' }, '.'],
    () => ['SSN: ', { value: `${digits(3)}-${digits(2)}-${digits(4)}`, type: 'SSN' }, '.'],
    () => ['Social security number ', { value: digits(9), type: 'SSN' }, ' on file.'],
    () => ['MRN: ', { value: digits(7 + Math.floor(r() * 3)), type: 'MRN' }, '.'],
    () => ['Medical record number: ', { value: `${upper(1)}${digits(7)}`, type: 'MRN' }, '.'],
    () => ['MR# ', { value: digits(8), type: 'MRN' }],
    () => ['Member ID: ', { value: `${upper(3)}${digits(9)}`, type: 'HEALTH_PLAN' }, '.'],
    () => ['Medicare number ', { value: `${digits(1)}${upper(2)}${digits(1)}-${upper(2)}${digits(1)}-${upper(2)}${digits(2)}`, type: 'HEALTH_PLAN' }, '.'],
    () => ['Policy #', { value: `${upper(1)}${digits(8)}`, type: 'HEALTH_PLAN' }, '.'],
    () => ['Account number: ', { value: digits(10), type: 'ACCOUNT' }, '.'],
    () => {
      const body = `4${digits(14)}`;
      const n = body + String(luhnDigit(body));
      return ['Card on file ', { value: `${n.slice(0, 4)} ${n.slice(4, 8)} ${n.slice(8, 12)} ${n.slice(12)}`, type: 'ACCOUNT' }, '.'];
    },
    () => {
      const letters = `${pick(['A', 'B', 'F', 'M'])}${upper(1)}`;
      const d = digits(6);
      const sum = Number(d[0]) + Number(d[2]) + Number(d[4]) + 2 * (Number(d[1]) + Number(d[3]) + Number(d[5]));
      return ['DEA# ', { value: `${letters}${d}${sum % 10}`, type: 'LICENSE' }, '.'];
    },
    () => ['License No. ', { value: `${upper(2)}${digits(6)}`, type: 'LICENSE' }, '.'],
    () => ['NPI ', { value: `1${digits(9)}`, type: 'LICENSE' }, '.'],
    () => ["Driver's license ", { value: `${upper(1)}${digits(8)}`, type: 'LICENSE' }, '.'],
    () => ['VIN ', { value: `1${upper(4)}${digits(2)}${upper(2)}${digits(1)}${upper(1)}${digits(6)}`, type: 'VEHICLE' }, '.'],
    () => ['License plate ', { value: `${digits(1)}${upper(3)}${digits(3)}`, type: 'VEHICLE' }, '.'],
    () => ['Pacemaker serial number ', { value: `${upper(3)}${digits(6)}`, type: 'DEVICE' }, '.'],
    () => ['UDI ', { value: `(01)${digits(14)}(17)${digits(6)}(10)${upper(2)}${digits(4)}`, type: 'DEVICE' }, '.'],
    () => ['Portal: ', { value: `https://portal.${fakerEN_US.internet.domainName()}/patients/${digits(6)}`, type: 'URL' }, '.'],
    () => ['Images at ', { value: `www.${fakerEN_US.internet.domainWord()}.org`, type: 'URL' }, '.'],
    () => ['Device IP ', { value: `${10 + Math.floor(r() * 200)}.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}.${1 + Math.floor(r() * 250)}`, type: 'IP' }, '.'],
    () => ['Host ', { value: fakerEN_US.internet.ipv6(), type: 'IP' }, '.'],
  ];
}

function readJsonl(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Assembles text from pieces, recording the gold spans. */
function assemble(pieces: Piece[]): { text: string; phi: GoldSpan[] } {
  let text = '';
  const phi: GoldSpan[] = [];
  for (const p of pieces) {
    if (typeof p === 'string') text += p;
    else {
      phi.push({ start: text.length, end: text.length + p.value.length, type: p.type, orig_type: p.type, text: p.value });
      text += p.value;
    }
  }
  // the scrape's own identifiers, where they do not overlap a planted one
  for (const l of leftovers(text, 0)) if (!phi.some((g) => g.start < l.end && l.start < g.end)) phi.push(l);
  phi.sort((a, b) => a.start - b.start);
  return { text, phi };
}

function plantedMtsamples(notesDir: string, seed: number): { planted: Doc[]; clean: Doc[] } {
  const r = seededRandom(seed);
  const locales = [fakerDE, fakerFR, fakerIT, fakerNL, fakerPL, fakerPT_BR, fakerSV, fakerEN_GB, fakerEN_AU, fakerEN_IE];
  for (const [i, f] of locales.entries()) f.seed(seed + i);
  fakerEN_US.seed(seed + 100);
  const make = makers(r, locales);
  const notes = readJsonl(`${notesDir}/mtsamples.jsonl`);
  const planted: Doc[] = [];
  const clean: Doc[] = [];
  for (const [n, note] of notes.entries()) {
    const text = String(note.text ?? '');
    const id = String(note.id ?? n);
    if (n % 4 === 3) {
      clean.push({ id: `mtsamples-clean:${id}`, source: 'mtsamples-clean', text, phi: leftovers(text, 0) });
      continue;
    }
    // split at sentence ends and plant 4-8 identifier sentences between them
    const sentences = text.split(/(?<=\.\s{1,2})/);
    const count = 4 + Math.floor(r() * 5);
    const slots = new Map<number, number>();
    for (let k = 0; k < count; k++) {
      const at = Math.floor(r() * (sentences.length + 1));
      slots.set(at, (slots.get(at) ?? 0) + 1);
    }
    const pieces: Piece[] = [];
    for (let s = 0; s <= sentences.length; s++) {
      for (let k = 0; k < (slots.get(s) ?? 0); k++) {
        const maker = make[Math.floor(r() * make.length)];
        if (maker) pieces.push(...maker(), ' ');
      }
      const sentence = sentences[s];
      if (sentence !== undefined) pieces.push(sentence);
    }
    const built = assemble(pieces);
    planted.push({ id: `mtsamples-planted:${id}`, source: 'mtsamples-planted', ...built });
  }
  return { planted, clean };
}

interface PatientName { given?: string[]; family?: string }
interface Patient {
  id: string;
  name?: PatientName[];
  birthDate?: string;
  address?: { line?: string[]; city?: string; postalCode?: string }[];
}

function syntheaDocs(notesDir: string): Doc[] {
  const patients = new Map<string, Patient>();
  for (const p of readJsonl(`${notesDir}/synthea-notes-patients.ndjson`)) patients.set(String(p.id), p as unknown as Patient);
  const docs: Doc[] = [];
  for (const note of readJsonl(`${notesDir}/synthea-notes.jsonl`)) {
    const text = String(note.text ?? '');
    const patient = patients.get(String(note.patient ?? '').replace(/^Patient\//, ''));
    const values: { value: string; type: string }[] = [];
    for (const n of patient?.name ?? []) {
      for (const g of n.given ?? []) values.push({ value: g, type: 'NAME' });
      if (n.family) values.push({ value: n.family, type: 'NAME' });
    }
    if (patient?.birthDate) values.push({ value: patient.birthDate, type: 'DATE' });
    if (typeof note.date === 'string') values.push({ value: note.date.slice(0, 10), type: 'DATE' });
    for (const a of patient?.address ?? []) {
      for (const l of a.line ?? []) values.push({ value: l, type: 'LOCATION' });
      if (a.city) values.push({ value: a.city, type: 'LOCATION' });
      if (a.postalCode) values.push({ value: a.postalCode, type: 'LOCATION' });
    }
    const mask: (GoldSpan | undefined)[] = [];
    for (const v of values) {
      let from = 0;
      for (;;) {
        const at = text.indexOf(v.value, from);
        if (at < 0) break;
        from = at + v.value.length;
        const before = text[at - 1] ?? ' ';
        const after = text[from] ?? ' ';
        if (/[\p{L}\d]/u.test(before) || /[\p{L}\d]/u.test(after)) continue;
        if (!mask[at]) mask[at] = { start: at, end: from, type: v.type, orig_type: v.type, text: v.value };
      }
    }
    // ages in the template: "is a 16 year-old" (over 89 counts, the rest is left out as Safe Harbor says)
    for (const m of text.matchAll(/\b(\d{1,3}) year-old\b/g)) {
      const at = m.index;
      mask[at] = { start: at, end: at + m[0].length, type: 'AGE', orig_type: 'AGE', text: m[0] };
    }
    const phi = mask.filter((x): x is GoldSpan => x !== undefined).sort((a, b) => a.start - b.start);
    const clean: GoldSpan[] = [];
    for (const s of phi) if (!clean.length || s.start >= (clean[clean.length - 1]?.end ?? 0)) clean.push(s);
    docs.push({ id: `synthea:${String(note.id ?? docs.length)}`, source: 'synthea', text, phi: clean });
  }
  return docs;
}

/** The development set, as three named document lists. */
export function buildDevSet(notesDir: string, seed = 20240521): Record<string, Doc[]> {
  const { planted, clean } = plantedMtsamples(notesDir, seed);
  return { 'dev:synthea-notes': syntheaDocs(notesDir), 'dev:mtsamples-planted': planted, 'dev:mtsamples-clean': clean };
}
