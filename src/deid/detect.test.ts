// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { createDeidEngine, maxDetectChars } from './detect.js';
import { isGatewayError } from '../kernel/errors.js';
import type { Span } from './types.js';

const engine = createDeidEngine();

function found(text: string, spans: readonly Span[] = engine.detect(text)): [string, string][] {
  return spans.map((s) => [s.type, text.slice(s.start, s.end)]);
}

function wellFormed(text: string, spans: readonly Span[]): void {
  let last = 0;
  for (const s of spans) {
    expect(s.start).toBeGreaterThanOrEqual(last);
    expect(s.end).toBeGreaterThan(s.start);
    expect(s.end).toBeLessThanOrEqual(text.length);
    expect(s.confidence).toBeGreaterThan(0);
    expect(s.confidence).toBeLessThanOrEqual(1);
    expect(Object.keys(s).sort()).toEqual(['confidence', 'detector', 'end', 'start', 'type']);
    last = s.end;
  }
}

describe('createDeidEngine().detect', () => {
  it('finds every kind of identifier in a clinical note, sorted and merged', () => {
    const text =
      'Patient: Maria Gonzalez\nMRN: 00482913\nDOB: 04/12/1931\n' +
      'Mrs. Gonzalez is a 92-year-old woman seen on March 3rd, 2024 at Good Samaritan Hospital by Dr. Okafor. ' +
      'She lives at 42 Elm Street, Lawrence, KS 66044; phone (785) 555-0143; email mgonzalez@example.net. ' +
      'Her son Tomasz called from 10.0.0.12. Medicare number 1EG4-TE5-MK72.';
    const spans = engine.detect(text);
    wellFormed(text, spans);
    expect(found(text, spans)).toEqual([
      ['NAME', 'Maria Gonzalez'],
      ['MRN', '00482913'],
      ['DATE', '04/12/1931'],
      ['NAME', 'Gonzalez'],
      ['AGE', '92-year-old'],
      ['DATE', 'March 3rd, 2024'],
      ['LOCATION', 'Good Samaritan Hospital'],
      ['NAME', 'Okafor'],
      ['LOCATION', '42 Elm Street'],
      ['LOCATION', 'Lawrence'],
      ['LOCATION', '66044'],
      ['PHONE', '(785) 555-0143'],
      ['EMAIL', 'mgonzalez@example.net'],
      ['NAME', 'Tomasz'],
      ['IP', '10.0.0.12'],
      ['HEALTH_PLAN', '1EG4-TE5-MK72'],
    ]);
  });

  it('keeps what only looks like PHI', () => {
    const text =
      'A 45-year-old man with Parkinson disease, Crohn disease and Hodgkin lymphoma; Down syndrome in a sibling. ' +
      'Takes metformin 500 mg BID, Lipitor 20 mg and Coumadin. Hemoglobin 13.5 g/dL, potassium 4.1 mmol/L, BP 128/76, ' +
      'HR 72, SpO2 98%, GCS 15, Apgar 9 and 9, Gleason 3+4=7. Diagnosed in 2019; colonoscopy in 2021. Age 89.';
    expect(found(text)).toEqual([]);
  });

  it('always finds known PHI and its variants', () => {
    const text = 'Pt Zbigniew Wrobel (WROBEL, ZBIGNIEW), born 1944-02-29, id 7781-22; call 316 555 0199.';
    const spans = engine.detect(text, {
      knownPhi: { names: ['Zbigniew Wrobel'], dates: ['1944-02-29'], identifiers: [{ value: '778122', type: 'MRN' }], phones: ['316-555-0199'] },
    });
    wellFormed(text, spans);
    expect(found(text, spans)).toEqual([
      ['NAME', 'Zbigniew Wrobel'],
      ['NAME', 'WROBEL, ZBIGNIEW'],
      ['DATE', '1944-02-29'],
      ['MRN', '7781-22'],
      ['PHONE', '316 555 0199'],
    ]);
  });

  it('uses the Spanish pack when asked', () => {
    const es = createDeidEngine({ language: 'es' });
    const text = 'Nombre: Ernesto.\nApellidos: Rivera Bueno.\nNHC: 368503.\nFecha de nacimiento: 03/03/1946.\nIngresa el 12 de marzo de 2016 en el Hospital Universitario La Paz.';
    expect(found(text, es.detect(text))).toEqual([
      ['NAME', 'Ernesto'],
      ['NAME', 'Rivera Bueno'],
      ['MRN', '368503'],
      ['DATE', '03/03/1946'],
      ['DATE', '12 de marzo de 2016'],
      ['LOCATION', 'Hospital Universitario La Paz'],
    ]);
  });
});

describe('bad input', () => {
  it('returns nothing for empty text and refuses non-strings', () => {
    expect(engine.detect('')).toEqual([]);
    expect(() => engine.detect(42 as unknown as string)).toThrow();
  });

  it('refuses text above the limit with a typed error that carries no text', () => {
    const small = createDeidEngine({ maxChars: 1000 });
    let caught: unknown;
    try {
      small.detect('John Smith '.repeat(200));
    } catch (e) {
      caught = e;
    }
    expect(isGatewayError(caught, 'request_too_large')).toBe(true);
    expect(JSON.stringify((caught as { detail?: unknown }).detail)).not.toContain('Smith');
    expect(maxDetectChars).toBeGreaterThanOrEqual(1024 * 1024);
  });

  it('keeps UTF-16 offsets with lone surrogates, emoji and binary-looking data', () => {
    const text = '\uD800 Pt John Smith \uDC00 😀 seen 3/4/2021 \u0000\u0001\uFFFF\u0007 MRN: 12345678 ' + String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
    const spans = engine.detect(text);
    wellFormed(text, spans);
    expect(found(text, spans)).toEqual(expect.arrayContaining([['NAME', 'John Smith'], ['DATE', '3/4/2021'], ['MRN', '12345678']]));
  });

  it('finishes on long repeated inputs built to make expressions backtrack', () => {
    const inputs = [
      'a'.repeat(100_000), '1'.repeat(100_000), 'a@'.repeat(50_000), 'a.'.repeat(50_000), '1-'.repeat(50_000), '1.'.repeat(50_000),
      '1 '.repeat(50_000), 'Aa '.repeat(33_000), 'A. '.repeat(33_000), '(1'.repeat(50_000), '+1 '.repeat(33_000), ':a'.repeat(50_000),
      'x'.repeat(99_999) + '@', '1'.repeat(50_000) + 'a'.repeat(50_000), 'http://' + 'a'.repeat(100_000), 'Dr. ' + 'Smith '.repeat(16_000),
      '12 Oak '.repeat(14_000), 'Mr. X, '.repeat(14_000), 'MRN: '.repeat(20_000), 'Patient: '.repeat(11_000), '01/'.repeat(33_000),
      'March '.repeat(16_000), 'the 4th of '.repeat(9_000), 'ab12-'.repeat(20_000), 'Hospital '.repeat(11_000), 'Calle '.repeat(16_000),
    ];
    const es = createDeidEngine({ language: 'es' });
    for (const text of inputs) {
      wellFormed(text, engine.detect(text));
      wellFormed(text, es.detect(text));
    }
  });
});
