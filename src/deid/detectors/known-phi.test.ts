// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { detectKnownPhi } from './known-phi.js';
import type { KnownPhi, Span } from '../types.js';

function found(text: string, known: KnownPhi): [string, string][] {
  const out: Span[] = [];
  detectKnownPhi(text, known, out);
  return out.sort((a, b) => a.start - b.start).map((s) => [s.type, text.slice(s.start, s.end)]);
}

describe('known-PHI boost', () => {
  it('finds name variants: case, "Last, First", initials, single parts', () => {
    const known = { names: ['Sumiko254 Larue605'] };
    expect(found('SUMIKO LARUE and Larue, Sumiko; S. Larue; Sumiko254 alone', known)).toEqual([
      ['NAME', 'SUMIKO LARUE'],
      ['NAME', 'Larue, Sumiko'],
      ['NAME', 'S. Larue'],
      ['NAME', 'Sumiko254'],
    ]);
  });

  it('finds date variants of a birth date', () => {
    const known = { dates: ['1927-05-21'] };
    expect(found('born 5/21/1927, i.e. May 21, 1927 (21 May 1927; 05/21/27)', known)).toEqual([
      ['DATE', '5/21/1927'],
      ['DATE', 'May 21, 1927'],
      ['DATE', '21 May 1927'],
      ['DATE', '05/21/27'],
    ]);
  });

  it('finds identifiers and phones whatever their formatting', () => {
    const known: KnownPhi = { identifiers: [{ value: '999-94-5397', type: 'SSN' }], phones: ['+1 (555) 123-4567'], emails: ['A@B.org'] };
    expect(found('ssn 999945397, phone 555.123.4567, mail a@b.org', known)).toEqual([
      ['SSN', '999945397'],
      ['PHONE', '555.123.4567'],
      ['EMAIL', 'a@b.org'],
    ]);
  });

  it('finds an address and its parts', () => {
    expect(found('lives at 633 Abernathy Landing in Emporia', { addresses: ['633 Abernathy Landing, Emporia, KS 66801'] })).toEqual([
      ['LOCATION', '633 Abernathy Landing'],
      ['LOCATION', 'Emporia'],
    ]);
  });
});
