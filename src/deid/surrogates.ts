// SPDX-License-Identifier: Apache-2.0
/**
 * Consistent surrogates: realistic fake values in place of identifiers. Each fake comes from a
 * faker instance seeded with HMAC(key, conversation, type, value), so the same value gets the
 * same fake throughout a conversation (and across processes) without a table, and nobody without
 * the key can tell which value produced it. Name parts are mapped one by one, so "John Smith",
 * "Mr. Smith" and "Smith, John" stay one person. Identifiers and phone numbers keep their format
 * (length, separators, letter/digit positions). Surrogates are pseudonymisation, not Safe Harbor.
 */
import { createHmac } from 'node:crypto';
import { Faker, base, en, en_US } from '@faker-js/faker';
import type { PhiCategory } from './types.js';

/** Options for a surrogate generator. */
export interface SurrogateOptions {
  /** Secret of at least 16 bytes; surrogates are only as unlinkable as this key is secret. */
  readonly key: string | Uint8Array;
  /** Scope of consistency: the same value maps to the same fake within one conversation. */
  readonly conversationId: string;
}

/** Generates surrogates for one conversation; keeps its own memo so distinct values never share a fake. */
export interface SurrogateGenerator {
  /**
   * A fake for `value`. `avoid` is text the fake must not appear in (usually the whole input),
   * so a surrogate can never be mistaken for, or collide with, a real value in the same text.
   */
  surrogate(type: PhiCategory, value: string, avoid?: string): string;
}

const titles = /^(?:(?:dr|mr|mrs|ms|miss|mx|prof|sr|sra|rev|nurse)\.?\s+)+/i;
const suffixes = /(?:,?\s+(?:jr|sr|ii|iii|iv|md|do|rn|np|pa|phd|dds)\.?)+$/i;

function norm(value: string): string {
  return value.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
}

function matchCase(model: string, word: string): string {
  if (model.length > 1 && model === model.toUpperCase() && model !== model.toLowerCase()) return word.toUpperCase();
  if (model === model.toLowerCase() && model !== model.toUpperCase()) return word.toLowerCase();
  return word;
}

/** Creates a surrogate generator. */
export function createSurrogateGenerator(options: SurrogateOptions): SurrogateGenerator {
  if ((typeof options.key === 'string' ? Buffer.byteLength(options.key) : options.key.length) < 16) {
    throw new RangeError('surrogate key must be at least 16 bytes');
  }
  const faker = new Faker({ locale: [en_US, en, base] });
  const memo = new Map<string, string>();
  const issued = new Set<string>();
  const nameParts = new Map<string, string>();
  const issuedParts = new Set<string>();

  const seed = (scope: string, value: string, attempt: number): void => {
    const digest = createHmac('sha256', options.key)
      .update(`phigate/surrogate/v1\u0000${options.conversationId}\u0000${scope}\u0000${norm(value)}\u0000${attempt}`)
      .digest();
    faker.seed(Array.from({ length: 8 }, (_, i) => digest.readUInt32BE(i * 4)));
  };

  const clashes = (candidate: string, value: string, avoid: string | undefined, used: ReadonlySet<string>): boolean => {
    const c = norm(candidate);
    if (c.length === 0 || c === norm(value) || used.has(c)) return true;
    return avoid !== undefined && c.length >= 3 && avoid.toLowerCase().includes(c);
  };

  const namePart = (part: string, role: 'first' | 'last', avoid: string | undefined): string => {
    const key = norm(part);
    const known = nameParts.get(key);
    if (known !== undefined) return matchCase(part, known);
    if (/^[A-Za-z]\.?$/.test(part)) {
      seed('initial', part, 0);
      const letter = faker.string.alpha({ length: 1, casing: 'upper' });
      return part.endsWith('.') ? `${letter}.` : letter;
    }
    let fake = '';
    for (let attempt = 0; attempt < 32; attempt += 1) {
      seed(`name-${role}`, part, attempt);
      fake = role === 'first' ? faker.person.firstName() : faker.person.lastName();
      if (!clashes(fake, part, avoid, issuedParts)) break;
    }
    nameParts.set(key, fake);
    issuedParts.add(norm(fake));
    return matchCase(part, fake);
  };

  const fakeName = (value: string, avoid: string | undefined): string => {
    const title = titles.exec(value)?.[0] ?? '';
    let rest = value.slice(title.length);
    const suffix = suffixes.exec(rest)?.[0] ?? '';
    rest = rest.slice(0, rest.length - suffix.length);
    const possessive = /['’]s$/.exec(rest)?.[0] ?? '';
    rest = rest.slice(0, rest.length - possessive.length);
    const comma = rest.indexOf(',');
    let out: string;
    if (comma > 0) {
      const last = rest.slice(0, comma).trim();
      const firsts = rest.slice(comma + 1).trim().split(/\s+/).filter(Boolean);
      out = `${namePart(last, 'last', avoid)}, ${firsts.map((p) => namePart(p, 'first', avoid)).join(' ')}`;
    } else {
      const parts = rest.split(/(\s+|-)/);
      const words = parts.filter((p, i) => i % 2 === 0 && p.length > 0);
      const lastWord = words.length - 1;
      let w = -1;
      out = parts
        .map((p, i) => {
          if (i % 2 === 1 || p.length === 0) return p;
          w += 1;
          const role = w === lastWord && (words.length > 1 || title.length > 0) ? 'last' : 'first';
          return namePart(p, role, avoid);
        })
        .join('');
    }
    return title + out + possessive + suffix;
  };

  // Digits → digits, letters → letters of the same case; everything else kept.
  const keepFormat = (value: string, type: PhiCategory): string => {
    const chars = [...value].map((ch) => {
      if (/[0-9]/.test(ch)) return String(faker.number.int({ min: 0, max: 9 }));
      if (/[A-Z]/.test(ch)) return faker.string.alpha({ length: 1, casing: 'upper' });
      if (/[a-z]/.test(ch)) return faker.string.alpha({ length: 1, casing: 'lower' });
      return ch;
    });
    const digitAt = chars.map((c, i) => (/[0-9]/.test(c) ? i : -1)).filter((i) => i >= 0);
    const setDigit = (n: number, min: number, max: number): void => {
      const i = digitAt[n];
      if (i !== undefined) chars[i] = String(faker.number.int({ min, max }));
    };
    if (type === 'PHONE' || type === 'FAX') {
      // North American numbers: area code and exchange start with 2-9.
      const offset = digitAt.length === 11 && value.trimStart().replace(/^\+/, '').startsWith('1') ? 1 : 0;
      if (digitAt.length - offset === 10) {
        setDigit(offset, 2, 9);
        setDigit(offset + 3, 2, 9);
        if (offset === 1) chars[digitAt[0]!] = '1';
      }
    }
    if (type === 'SSN' && digitAt.length === 9) {
      // Area 001-665 or 667-899, group 01-99, serial 0001-9999: a valid-looking SSN.
      const area = faker.number.int({ min: 1, max: 898 });
      const a = String(area >= 666 ? area + 1 : area).padStart(3, '0');
      const g = String(faker.number.int({ min: 1, max: 99 })).padStart(2, '0');
      const s = String(faker.number.int({ min: 1, max: 9999 })).padStart(4, '0');
      [...a, ...g, ...s].forEach((d, n) => (chars[digitAt[n]!] = d));
    }
    return chars.join('');
  };

  const generate = (type: PhiCategory, value: string): string => {
    const v = value.trim();
    switch (type) {
      case 'EMAIL':
        return faker.internet.email({ firstName: faker.person.firstName(), lastName: faker.person.lastName() }).toLowerCase();
      case 'URL':
        return faker.internet.url();
      case 'IP':
        return v.includes(':') ? faker.internet.ipv6() : keepFormat(v, type).replace(/\d+/g, (d) => String(Number(d) % 256));
      case 'LOCATION':
        if (/^\d{5}(?:-\d{4})?$/.test(v)) return keepFormat(v, type);
        if (/^\d/.test(v)) return faker.location.streetAddress();
        {
          // "City, ST": the state may stay (Safe Harbor allows states); the city is replaced.
          const state = /,\s*([A-Z]{2})$/.exec(v)?.[1];
          return state ? `${faker.location.city()}, ${state}` : faker.location.city();
        }
      case 'ORGANIZATION': {
        const kind = /\b(hospital|clinic|medical center|health center|health system|healthcare|pharmacy|nursing home|center)\b/i.exec(v)?.[0];
        return kind ? `${faker.location.city()} ${kind}` : faker.company.name();
      }
      case 'PROFESSION':
        return faker.person.jobTitle();
      case 'NAME':
      case 'DATE':
      case 'AGE':
        // Handled by the caller (names part by part; dates and ages by shift and generalisation).
        return keepFormat(v, type);
      case 'PHONE':
      case 'FAX':
      case 'SSN':
      case 'MRN':
      case 'HEALTH_PLAN':
      case 'ACCOUNT':
      case 'LICENSE':
      case 'VEHICLE':
      case 'DEVICE':
      case 'BIOMETRIC':
      case 'ID':
      case 'OTHER':
        return keepFormat(v, type);
    }
  };

  return {
    surrogate(type, value, avoid) {
      const memoKey = `${type}\u0000${norm(value)}`;
      const known = memo.get(memoKey);
      if (known !== undefined) return known;
      let fake = '';
      if (type === 'NAME') {
        fake = fakeName(value, avoid);
      } else {
        for (let attempt = 0; attempt < 32; attempt += 1) {
          seed(type, value, attempt);
          fake = generate(type, value);
          if (!clashes(fake, value, avoid, issued)) break;
        }
      }
      memo.set(memoKey, fake);
      issued.add(norm(fake));
      return fake;
    },
  };
}
