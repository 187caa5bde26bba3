// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { createDeidEngine } from '../deid/detect.js';
import { loadDictionaries } from '../deid/dictionaries/index.js';
import type { KnownPhi, PhiCategory } from '../deid/types.js';
import { createAllowedIdentifiers } from './allowed.js';
import { defaultLeakCategories } from './config-schema.js';
import { createLeakChecker, createLeakMemory, detectionView, redactLeaks, urlText, type Finding } from './leak-check.js';
import { sweepNames, sweepStreets } from './sweeps.js';

const engine = createDeidEngine();
const dictionaries = loadDictionaries('en');
const checker = createLeakChecker({ detector: engine, dictionaries, leakCategories: defaultLeakCategories });

// Synthetic patients in the style of the Synthea bundles.
const known: KnownPhi = {
  names: ['Michele Wolf'],
  dates: ['1941-09-14'],
  phones: ['555-894-2600'],
  addresses: ['238 Wolff Terrace', 'Yarmouth', '238 Wolff Terrace, Yarmouth'],
  identifiers: [
    { value: '9fd25274-3a7d-43d4-87af-a03849074b5a', type: 'MRN' },
    { value: '999-20-6200', type: 'SSN' },
  ],
  emails: ['michele.wolf@example.com'],
};
const allowed = createAllowedIdentifiers({ known, payload: ['Medications: NDA020503 200 ACTUAT Albuterol. Seen by Dr. Levi Reichert.'] });

function check(text: string): { out: string; findings: Finding[] } {
  const findings = checker.check({ text, from: 0, allowed, known, memory: createLeakMemory() });
  return { out: redactLeaks(text, 0, findings, '[REDACTED]'), findings };
}
const leaks = (findings: readonly Finding[]): PhiCategory[] => findings.filter((f) => f.verdict === 'leak').map((f) => f.type);

describe('the leak check', () => {
  it('lets the patient’s own identifiers through, in any written form', () => {
    const text = 'Wolf, Michele (DOB 1941-09-14, MRN 9FD25274-3A7D-43D4-87AF-A03849074B5A) lives at 238 Wolff Ter., Yarmouth. ' +
      'Call (555) 894-2600 or MICHELE.WOLF@EXAMPLE.COM. SSN 999 20 6200. Ms. Wolf’s inhaler NDA020503; Dr. Reichert follows her.';
    const { out, findings } = check(text);
    expect(out).toBe(text);
    expect(leaks(findings)).toEqual([]);
    expect(findings.filter((f) => f.verdict === 'allowed').length).toBeGreaterThanOrEqual(7);
  });

  it('redacts other patients’ names, numbers, phones, e-mails and street addresses', () => {
    const { out, findings } = check(
      'Unlike Renato Dare (MRN f07e9b1d-9cc7-465e-8abc-94e84793d1fb, SSN 999-64-5474), she is stable. ' +
        'Van Rosenbaum, 348 Hilpert Bridge Unit 54, Burlington MA 01803, phone 555-928-7032, van.rosenbaum@example.com, licence S99994051.',
    );
    expect(out).toBe(
      'Unlike [REDACTED] (MRN [REDACTED], SSN [REDACTED]), she is stable. [REDACTED], [REDACTED], Burlington MA 01803, phone [REDACTED], [REDACTED], licence [REDACTED].',
    );
    expect(new Set(leaks(findings))).toEqual(new Set(['NAME', 'MRN', 'SSN', 'LOCATION', 'PHONE', 'EMAIL', 'LICENSE']));
  });

  it('catches names the engine leaves for context: sentence starts, "Last, First", capitals, lower case', () => {
    expect(check('Bob Keeling has type 2 diabetes.').out).toBe('[REDACTED] has type 2 diabetes.');
    expect(check('Keeling, Bob: stable.').out).toBe('[REDACTED]: stable.');
    expect(check('Also BOB KEELING.').out).toBe('Also [REDACTED].');
    expect(check('her neighbour patria schimmel has asthma').out).toBe('her neighbour [REDACTED] has asthma');
    expect(check('Summary for Rosenbaum, Van: stable.').out).toBe('Summary for [REDACTED]: stable.');
  });

  it('catches surnames after initials and long codes written without separators', () => {
    expect(check('For comparison, J. Bode and M. Turner did well.').out).toBe('For comparison, [REDACTED] and [REDACTED] did well.');
    expect(check('Record F07E9B1D9CC7465E8ABC94E84793D1FB matches; see also f1731e33dc554ee872d7cece2e49bedd.').out).toBe(
      'Record [REDACTED] matches; see also [REDACTED].',
    );
    expect(check('Take 1000MG daily; HbA1c 7.9; code 2017-12-09.').out).toBe('Take 1000MG daily; HbA1c 7.9; code 2017-12-09.');
  });

  it('looks inside a long span the engine merged under one category', () => {
    const line = '- Address: 238 Wolff Terrace Ste. ANDY SCHADEN (DOB 1932-06-09) is on the same ward. 7, Yarmouth\n';
    expect(check(line).out).not.toContain('SCHADEN');
    const own = '- Address: 238 Wolff Terrace (999-93-7616), Yarmouth\n';
    expect(check(own).out).not.toContain('7616');
  });

  it('finds a leaked name again wherever it recurs in the same answer', () => {
    expect(check("Bob Keeling is another patient; bob keeling and Keeling's labs are not hers.").out).toBe(
      "[REDACTED] is another patient; [REDACTED] and [REDACTED]'s labs are not hers.",
    );
    const memory = createLeakMemory();
    checker.check({ text: 'Renato Dare is not her.', from: 0, allowed, known, memory });
    const later = checker.check({ text: 'Dare was seen.', from: 0, allowed, known, memory });
    expect(leaks(later)).toEqual(['NAME']);
  });

  it('judges a code whole, so a part of another patient’s code is never left behind', () => {
    expect(check('See 98828282-1111-2222-3333-444455556666 too.').out).toBe('See [REDACTED] too.');
    expect(check('Her record 9fd25274-3a7d-43d4-87af-a03849074b5a.').out).toBe('Her record 9fd25274-3a7d-43d4-87af-a03849074b5a.');
  });

  it('never treats a phigate token as a leak', () => {
    const { out, findings } = check('[NAME_1] was seen on [DATE_2] with [MRN_1]; ask [NAME_7].');
    expect(out).toBe('[NAME_1] was seen on [DATE_2] with [MRN_1]; ask [NAME_7].');
    expect(findings.filter((f) => f.verdict === 'token').map((f) => f.type)).toEqual(['NAME', 'DATE', 'MRN', 'NAME']);
  });

  it('ignores dates, ages, towns and organisations by default, and counts dates when configured', () => {
    const text = 'Seen on 2019-03-04 at Mount Auburn Hospital in Boston, age 93.';
    expect(check(text).out).toBe(text);
    const strict = createLeakChecker({ detector: engine, dictionaries, leakCategories: [...defaultLeakCategories, 'DATE'] });
    const findings = strict.check({ text: 'Born 1967-05-29; hers is 1941-09-14.', from: 0, allowed, known, memory: createLeakMemory() });
    expect(findings.filter((f) => f.type === 'DATE').map((f) => f.verdict)).toEqual(['leak', 'allowed']);
  });

  it('reads identifiers inside URLs and leaves URLs without them alone', () => {
    expect(check('https://kb.example.org/diabetes/guide?lang=en').out).toBe('https://kb.example.org/diabetes/guide?lang=en');
    const { out, findings } = check('https://portal.example.org/p?name=Renato+Dare&x=1');
    expect(out).toBe('[REDACTED]');
    expect(leaks(findings)).toEqual(['NAME']);
    expect(urlText('https://h.example/a%20b/c?q=Renato+Dare#x')).toContain('Renato Dare');
  });

  it('reads tool-call JSON like text and keeps it parseable when redacting', () => {
    const json = '{"patient_name":"Renato Dare","mrn":"f07e9b1d-9cc7-465e-8abc-94e84793d1fb","note":"hers: 555-894-2600"}';
    const { out } = check(json);
    expect(JSON.parse(out)).toEqual({ patient_name: '[REDACTED]', mrn: '[REDACTED]', note: 'hers: 555-894-2600' });
    expect(detectionView('{"a":"[NAME_1]"}').view).toBe(`  a :${' '.repeat(11)}`);
  });

  it('treats a FHIR reference to a patient other than the request’s own as another patient’s identifier', () => {
    // The model cannot know a patient's resource id except from its payload or context, so one it
    // writes that is neither is another patient's (an injected "fetch the labs of Patient/p-other").
    const ownRef = createAllowedIdentifiers({ known: { ...known, identifiers: [...(known.identifiers ?? []), { value: 'wolf-2', type: 'ID' }] }, payload: ['{"subject":{"reference":"Patient/wolf-1"}}'] });
    const refCheck = (text: string): string => redactLeaks(text, 0, checker.check({ text, from: 0, allowed: ownRef, known, memory: createLeakMemory() }), '[REDACTED]');
    expect(refCheck('Labs for Patient/p-other are attached (Patient/f07e9b1d-9cc7-465e-8abc-94e84793d1fb, Patient/4471).')).toBe(
      'Labs for [REDACTED] are attached ([REDACTED], [REDACTED]).',
    );
    expect(JSON.parse(refCheck('{"patient":"Patient/p-other","subject":"https://fhir.example.org/r4/Patient/p-other"}'))).toEqual({ patient: '[REDACTED]', subject: '[REDACTED]' });
    expect(leaks(checker.check({ text: 'x-phigate-patient: Patient/p-other', from: 0, allowed: ownRef, known, memory: createLeakMemory() }))).toEqual(['ID']);
    // the request's own patient, by the reference in the payload or by the id in its context
    const own = 'Labs for Patient/wolf-1 and Patient/wolf-2 are attached.';
    expect(refCheck(own)).toBe(own);
    // prose and SMART scopes are not references
    const prose = 'Patient/family education given; Patient/caregiver agrees; scope patient/Observation.read; Patient/self-care plan.';
    expect(refCheck(prose)).toBe(prose);
  });

  it('checks only the part after the context, with the context read for meaning', () => {
    const text = 'MRN:\n999-64-5474 is not hers.';
    const from = text.indexOf('999');
    const findings = checker.check({ text, from, allowed, known, memory: createLeakMemory() });
    expect(redactLeaks(text, from, findings, '[REDACTED]')).toBe('[REDACTED] is not hers.');
  });

  it('does not flag clinical vocabulary, eponyms, drug names or towns', () => {
    const text =
      'Alzheimer disease and Parkinson disease are absent. White Blood Cell count and Blood Pressure are normal. ' +
      'A Holter monitor, Murphy sign negative, Glasgow Coma Scale 15. Continue Lisinopril and Metformin. ' +
      'She moved from Boston to New York. Hemoglobin A1c/Hemoglobin.total in Blood 7.9 %. Body Mass Index 30.1 kg/m2. ' +
      'Take 2 tablets by mouth daily; walk 30 minutes in the park; 8 mm camera ports.';
    const { out, findings } = check(text);
    expect(leaks(findings)).toEqual([]);
    expect(out).toBe(text);
  });
});

describe('the output sweeps', () => {
  it('add only what the engine missed, never over its other categories', () => {
    const named = 'Bob Keeling has type 2 diabetes.';
    expect(engine.detect(named)).toEqual([]);
    expect(sweepNames(named, [], dictionaries).map((s) => named.slice(s.start, s.end))).toEqual(['Bob Keeling']);
    const street = 'She lives at 301 wiza dale, mail to bob.keeling@example.com';
    const spans = engine.detect(street);
    const streets = sweepStreets(street, spans, dictionaries);
    expect(streets.map((s) => street.slice(s.start, s.end))).toEqual(['301 wiza dale']);
    for (const s of [...sweepNames(street, spans, dictionaries), ...streets]) for (const t of spans) expect(s.start >= t.end || s.end <= t.start).toBe(true);
  });

  it('leave capitalised abbreviations, products and sentence openers alone', () => {
    const text = 'GU and ROS negative. SaO2 98%. See Denver. Dear Sample, I’m fine. Passy-Muir valve in place.';
    expect(sweepNames(text, engine.detect(text), dictionaries)).toEqual([]);
  });
});
