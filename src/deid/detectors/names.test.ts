// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { loadDictionaries } from '../dictionaries/index.js';
import { createNameDetector } from './names.js';
import { mergeSpans } from './merge.js';
import type { Span } from '../types.js';

const detector = createNameDetector(loadDictionaries('en'));

function found(text: string, seeds?: ReadonlySet<string>): [string, string][] {
  const out: Span[] = [];
  detector.detect(text, out, seeds);
  return mergeSpans(out).map((s) => [s.type, text.slice(s.start, s.end)]);
}

describe('name detector', () => {
  it('finds full names, initials and titles', () => {
    expect(found('Seen with John Smith today.')).toEqual([['NAME', 'John Smith']]);
    expect(found('Discussed with Mary J. Higgins, RN.')).toEqual([['NAME', 'Mary J. Higgins']]);
    expect(found('Referred by Dr. Okonkwo for review.')).toEqual([['NAME', 'Okonkwo']]);
    expect(found('Seen by Dr. van Loon on call.')).toEqual([['NAME', 'van Loon']]);
  });

  it('finds "Last, First" and possessives', () => {
    expect(found('Hettinger, Tizio was admitted.')).toEqual([['NAME', 'Hettinger, Tizio']]);
    expect(found("Mr. Brennan's daughter came.")).toEqual([['NAME', 'Brennan']]);
  });

  it('keeps eponym and product phrases, greetings and contractions', () => {
    expect(found('A 6 French Judkins left coronary catheter was passed; Wechsler Adult Intelligence Scale given.')).toEqual([]);
    expect(found("Negative Patrick's test. Started Lunesta 3 mg nightly. Ultrasound with Dopplers.")).toEqual([]);
    expect(found("I'm Naomi Ryan and Hi Freddy.")).toEqual([['NAME', 'Naomi Ryan'], ['NAME', 'Freddy']]);
    expect(found('Worked as a psychiatric nurse. A comprehensive evaluation followed.')).toEqual([]);
    expect(found('Right McBride bunionectomy with a Rubin osteotome; Roth net; Allen stirrups.')).toEqual([]);
    expect(found('He is a 29-year-old man.')).toEqual([]);
    expect(found('Negative Barlow and Ortolani.')).toEqual([]);
  });

  it('reads kinship context and initials for names that look like vocabulary', () => {
    expect(found("Mr. Olson's daughter Philine accompanied him.")).toEqual([['NAME', 'Olson'], ['NAME', 'Philine']]);
    expect(found('Discussed with Coline G. Hansen, RN.')).toEqual([['NAME', 'Coline G. Hansen']]);
  });

  it('needs context for names that are ordinary words', () => {
    expect(found('Will return in two weeks. Hope is good.')).toEqual([]);
    expect(found('Mrs. Hope came back.')).toEqual([['NAME', 'Hope']]);
  });

  it('propagates a name found once to the rest of the document', () => {
    expect(found('Dr. Quayle saw her. Later Quayle called back.')).toEqual([
      ['NAME', 'Quayle'],
      ['NAME', 'Quayle'],
    ]);
    expect(found('Later Zubrowski called.', new Set(['zubrowski']))).toEqual([['NAME', 'Zubrowski']]);
  });

  it('keeps eponyms, drugs and clinical words', () => {
    expect(found("History of Parkinson disease, Crohn's disease, Hodgkin lymphoma and Down syndrome.")).toEqual([]);
    expect(found('Takes Lipitor, Coumadin and Tylenol. Foley catheter placed. Apgar 9.')).toEqual([]);
    expect(found('Babinski sign negative; Romberg negative; Glasgow coma scale 15.')).toEqual([]);
  });

  it('finds dictionary cities and keeps states', () => {
    expect(found('She moved from Wichita to Kansas.')).toEqual([['LOCATION', 'Wichita']]);
  });
});
