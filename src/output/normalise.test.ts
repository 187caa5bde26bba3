// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { addressWords, emailKey, foldText, identifierKey, nameWords, phoneKey } from './normalise.js';

describe('canonical forms', () => {
  it('folds case, accents and compatibility forms', () => {
    expect(foldText('MÜLLER')).toBe('muller');
    expect(foldText('Ｊｏｈｎ')).toBe('john');
  });

  it('reads a name in any order, without titles, initials, possessives or record digits', () => {
    const words = (text: string): string[] => [...nameWords(text)].sort();
    expect(words('John Smith')).toEqual(['john', 'smith']);
    expect(words('Smith, John')).toEqual(['john', 'smith']);
    expect(words("Mr. J. SMITH's")).toEqual(['smith']);
    expect(words('Bob965 Keeling57')).toEqual(['bob', 'keeling']);
    expect(words('Dr. van der Berg')).toEqual(['berg']);
    expect(words('Anne-Marie O’Neil')).toEqual(['anne', 'marie', 'oneil']);
  });

  it('spells out street and unit abbreviations', () => {
    expect(addressWords('238 Wolff Ter., Apt #4')).toEqual(['238', 'wolff', 'terrace', 'unit', '4']);
    expect(addressWords('238 Wolff Terrace Suite 4')).toEqual(['238', 'wolff', 'terrace', 'unit', '4']);
    expect(addressWords('PO Box 77')).toEqual(['77']);
  });

  it('compares identifiers without separators and phones by national digits', () => {
    expect(identifierKey('s999-86 740')).toBe('S99986740');
    expect(identifierKey('3f6fd0bb-6cd3-eb3f')).toBe('3F6FD0BB6CD3EB3F');
    for (const phone of ['555-814-8772', '(555) 814-8772', '555.814.8772', '+1 555 814 8772', '1-555-814-8772', '555 814 8772 ext. 12', '001 555 814 8772']) {
      expect(phoneKey(phone)).toBe('5558148772');
    }
    expect(phoneKey('+44 20 7946 0958')).toBe('442079460958');
  });

  it('compares e-mail addresses case-insensitively, without mailto: or brackets', () => {
    expect(emailKey('<mailto:Bob.Keeling@Example.COM>')).toBe('bob.keeling@example.com');
    expect(emailKey('bob.keeling@example.com.')).toBe('bob.keeling@example.com');
  });
});
