// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import type { KnownPhi } from '../deid/types.js';
import { createRecentPatients, identifierForms } from './recent-patients.js';

const bob: KnownPhi = {
  names: ['Bob965 Keeling57'],
  phones: ['555-814-8772'],
  identifiers: [{ value: '3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b', type: 'MRN' }, { value: '999-12-9623', type: 'SSN' }],
  emails: ['Bob.Keeling@example.com'],
  addresses: ['247 Cronin Station Suite 76', 'Woburn'],
};
const michele: KnownPhi = { names: ['Michele Wolf'], phones: ['555-894-2600'] };

describe('recently served patients', () => {
  it('keeps canonical forms of a patient’s identifiers', () => {
    expect(identifierForms(bob).sort()).toEqual(
      ['a:247 cronin', 'e:bob.keeling@example.com', 'i:3F6FD0BB6CD3EB3F4401CD38ACE25F2B', 'i:999129623', 'n:b. keeling', 'n:bob keeling', 'n:keeling bob', 'p:5558148772'].sort(),
    );
  });

  it('finds another patient’s identifiers in any spelling, never the request patient’s own', () => {
    const recent = createRecentPatients({ maxPatients: 10, ttlMs: 60_000 });
    recent.register('bob', bob);
    recent.register('michele', michele);
    const text = 'also seen: bob keeling; B. Keeling; KEELING, BOB; call +1 (555) 814 8772; MRN 3F6FD0BB6CD3EB3F4401CD38ACE25F2B; 999 12 9623; bob.keeling@EXAMPLE.com; 247 cronin station; a keeling boat';
    const found = recent.find(text, 'michele').map((s) => `${s.type}:${text.slice(s.start, s.end)}`);
    expect(found).toEqual([
      'NAME:bob keeling',
      'NAME:B. Keeling',
      'NAME:KEELING, BOB',
      'PHONE:+1 (555) 814 8772',
      'ID:3F6FD0BB6CD3EB3F4401CD38ACE25F2B',
      'ID:999 12 9623',
      'NAME:bob.keeling',
      'EMAIL:bob.keeling@EXAMPLE.com',
      'LOCATION:247 cronin',
    ]);
    expect(recent.find(text, 'bob')).toEqual([]);
    // a request naming no patient gets no patient's identifiers
    expect(recent.find('Michele Wolf', undefined).length).toBe(1);
  });

  it('forgets patients after their time and beyond its size, oldest first', () => {
    let now = 0;
    const recent = createRecentPatients({ maxPatients: 2, ttlMs: 1000, now: () => now });
    recent.register('bob', bob);
    recent.register('michele', michele);
    recent.register('third', { names: ['Renato Dare'] });
    expect(recent.size).toBe(2);
    expect(recent.find('bob keeling', 'x')).toEqual([]);
    expect(recent.find('Michele Wolf', 'x').length).toBe(1);
    now = 1001;
    expect(recent.find('Michele Wolf', 'x')).toEqual([]);
    expect(recent.size).toBe(0);
    const off = createRecentPatients({ maxPatients: 0, ttlMs: 1000 });
    off.register('bob', bob);
    expect(off.find('bob keeling', 'x')).toEqual([]);
  });
});
