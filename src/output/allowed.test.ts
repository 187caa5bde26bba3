// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import type { KnownPhi } from '../deid/types.js';
import { createAllowedIdentifiers } from './allowed.js';

const known: KnownPhi = {
  names: ['Bob965 Keeling57', 'Shyla233 Reinger292'],
  dates: ['1991-07-08'],
  identifiers: [
    { value: '3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b', type: 'MRN' },
    { value: '999-12-9623', type: 'SSN' },
    { value: 'S99986740', type: 'LICENSE' },
  ],
  addresses: ['247 Cronin Station Suite 76', 'Woburn', '01801', '247 Cronin Station Suite 76, Woburn'],
  phones: ['555-814-8772'],
  emails: ['Bob.Keeling@example.com'],
};

describe('the request’s own identifiers', () => {
  const allowed = createAllowedIdentifiers({ known, payload: ['Seen by Dr. Levi Reichert at Mount Auburn. Inhaler NDA020503; call (617) 555-0100.'] });

  it('matches the patient’s names in any order and style', () => {
    for (const name of ['Bob Keeling', 'Keeling, Bob', 'BOB KEELING', 'Mr. Keeling', "B. Keeling's", 'bob keeling', 'Bob965 Keeling57', 'Shyla Reinger']) {
      expect(allowed.allows('NAME', name), name).toBe(true);
    }
    for (const name of ['Bob Turner', 'Trenton Keeling', 'Michele Wolf']) expect(allowed.allows('NAME', name), name).toBe(false);
  });

  it('takes words of names from the payload, alone or with the patient context', () => {
    expect(allowed.allows('NAME', 'Dr. Reichert')).toBe(true);
    expect(allowed.allows('NAME', 'Levi Reichert')).toBe(true);
    expect(allowed.allows('NAME', 'Bob Reichert')).toBe(true);
    expect(allowed.allows('NAME', 'Levi Turner')).toBe(false);
  });

  it('matches phones in every format, and ids without separators across id categories', () => {
    for (const phone of ['555-814-8772', '(555) 814-8772', '+1 555.814.8772', '5558148772', '555 814 8772 x3']) expect(allowed.allows('PHONE', phone), phone).toBe(true);
    expect(allowed.allows('PHONE', '617-555-0100')).toBe(true);
    expect(allowed.allows('PHONE', '555-928-7032')).toBe(false);
    expect(allowed.allows('ID', '5558148772')).toBe(true);
    expect(allowed.allows('MRN', '3F6FD0BB6CD3EB3F4401CD38ACE25F2B')).toBe(true);
    expect(allowed.allows('ID', '3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b')).toBe(true);
    expect(allowed.allows('SSN', '999 12 9623')).toBe(true);
    expect(allowed.allows('ID', '999129623')).toBe(true);
    expect(allowed.allows('SSN', '999-60-5732')).toBe(false);
    expect(allowed.allows('LICENSE', 's99986740')).toBe(true);
    expect(allowed.allows('ID', 'NDA020503')).toBe(true);
    expect(allowed.allows('MRN', 'f1731e33-dc55-4ee8-72d7-cece2e49bedd')).toBe(false);
  });

  it('matches street addresses with abbreviations, and e-mail addresses whole', () => {
    expect(allowed.allows('LOCATION', '247 Cronin Station Ste. 76')).toBe(true);
    expect(allowed.allows('LOCATION', '247 CRONIN STATION')).toBe(true);
    expect(allowed.allows('LOCATION', '869 Durgan Viaduct')).toBe(false);
    expect(allowed.allows('EMAIL', 'bob.keeling@EXAMPLE.com')).toBe(true);
    expect(allowed.allows('EMAIL', 'bob.keeling@example.org')).toBe(false);
  });

  it('compares dates by calendar day', () => {
    expect(allowed.allows('DATE', 'July 8, 1991')).toBe(true);
    expect(allowed.allows('DATE', '07/08/1991')).toBe(true);
    expect(allowed.allows('DATE', 'July 8')).toBe(true);
    expect(allowed.allows('DATE', '1967-05-29')).toBe(false);
  });

  it('knows nothing without sources', () => {
    const none = createAllowedIdentifiers({});
    expect(none.allows('NAME', 'Bob Keeling')).toBe(false);
    expect(none.allows('PHONE', '555-814-8772')).toBe(false);
    // words without identifying content are never a leak
    expect(none.allows('NAME', 'Dr.')).toBe(true);
  });
});
