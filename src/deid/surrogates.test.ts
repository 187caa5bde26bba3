// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { createSurrogateGenerator } from './surrogates.js';

const key = 'test-key-0123456789abcdef';

describe('surrogates', () => {
  it('gives the same person the same fake, across forms of the name and across instances', () => {
    const g = createSurrogateGenerator({ key, conversationId: 'c1' });
    const full = g.surrogate('NAME', 'John Smith');
    expect(full).not.toMatch(/John|Smith/);
    const [first, last] = full.split(' ');
    expect(g.surrogate('NAME', 'Mr. Smith')).toBe(`Mr. ${last}`);
    expect(g.surrogate('NAME', 'SMITH, JOHN')).toBe(`${last!.toUpperCase()}, ${first!.toUpperCase()}`);
    expect(g.surrogate('NAME', "John's")).toBe(`${first}'s`);
    expect(createSurrogateGenerator({ key, conversationId: 'c1' }).surrogate('NAME', 'John Smith')).toBe(full);
    expect(createSurrogateGenerator({ key, conversationId: 'c2' }).surrogate('NAME', 'John Smith')).not.toBe(full);
    expect(createSurrogateGenerator({ key: `${key}x`, conversationId: 'c1' }).surrogate('NAME', 'John Smith')).not.toBe(full);
  });

  it('keeps the format of identifiers and phone numbers', () => {
    const g = createSurrogateGenerator({ key, conversationId: 'c' });
    const phone = g.surrogate('PHONE', '(617) 555-0142');
    expect(phone).toMatch(/^\([2-9]\d\d\) [2-9]\d\d-\d{4}$/);
    expect(phone).not.toBe('(617) 555-0142');
    expect(g.surrogate('PHONE', '+1 617-555-0142')).toMatch(/^\+1 [2-9]\d\d-[2-9]\d\d-\d{4}$/);
    const ssn = g.surrogate('SSN', '123-45-6789');
    expect(ssn).toMatch(/^(?!000|666|9)\d{3}-(?!00)\d{2}-(?!0000)\d{4}$/);
    expect(g.surrogate('MRN', 'MRN-00123ab')).toMatch(/^[A-Z]{3}-\d{5}[a-z]{2}$/);
    expect(g.surrogate('LOCATION', '02139')).toMatch(/^\d{5}$/);
    expect(g.surrogate('IP', '10.0.0.1')).toMatch(/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/);
    expect(g.surrogate('EMAIL', 'john@x.org')).toMatch(/@/);
    const city = g.surrogate('LOCATION', 'Woburn, MA');
    expect(city).toMatch(/^[^,]+, MA$/);
    expect(city).not.toContain('Woburn');
  });

  it('never returns a value present in the text or already given to another value', () => {
    const g2 = createSurrogateGenerator({ key, conversationId: 'c' });
    const first = new Set(Array.from({ length: 50 }, (_, i) => g2.surrogate('ID', `id${String(i).padStart(3, '0')}`)));
    expect(first.size).toBe(50);
    const text = 'Jane met Mary Jones and Alex';
    const fake = createSurrogateGenerator({ key, conversationId: 'c' }).surrogate('NAME', 'Jane', text);
    expect(text.toLowerCase()).not.toContain(fake.toLowerCase());
  });

  it('rejects a short key', () => {
    expect(() => createSurrogateGenerator({ key: 'short', conversationId: 'c' })).toThrow(RangeError);
  });
});
