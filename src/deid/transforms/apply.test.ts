// SPDX-License-Identifier: Apache-2.0
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createReidentifier } from '../reidentify-stream.js';
import { reidentifyText, vaultLookup } from '../reidentify-stream.js';
import { createMemoryTokenVault } from '../token-vault.js';
import type { PhiCategory, Span } from '../types.js';
import { applyTransforms, deidPolicies, normaliseSpans } from './apply.js';
import { isDeidError } from './deid-error.js';

const key = 'unit-test-key-0123456789';

/** Spans for each occurrence of the given substrings. */
function spansOf(text: string, marks: [string, PhiCategory][]): Span[] {
  const spans: Span[] = [];
  for (const [needle, type] of marks) {
    for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + needle.length)) {
      spans.push({ start: i, end: i + needle.length, type, detector: 'test', confidence: 1 });
    }
  }
  return spans;
}

const note = 'John Smith (MRN 8812345, tel 617-555-0142) seen 03/04/2021, age 93, ZIP 03601. John Smith returns 2021-04-01.';
const marks: [string, PhiCategory][] = [
  ['John Smith', 'NAME'], ['8812345', 'MRN'], ['617-555-0142', 'PHONE'], ['03/04/2021', 'DATE'], ['93', 'AGE'], ['03601', 'LOCATION'], ['2021-04-01', 'DATE'],
];

describe('applyTransforms', () => {
  it('redacts, Safe Harbor form', async () => {
    const r = await applyTransforms(note, spansOf(note, marks), deidPolicies.redact, { conversationId: 'c' });
    expect(r.text).toBe('[REDACTED] (MRN [REDACTED], tel [REDACTED]) seen [REDACTED], age [REDACTED], ZIP [REDACTED]. [REDACTED] returns [REDACTED].');
    expect(r.form).toBe('deidentified');
    expect(r.safeHarbor).toBe(true);
    expect(r.pseudonymised).toBe(false);
    expect(r.counts).toEqual({ NAME: 2, MRN: 1, PHONE: 1, DATE: 2, AGE: 1, LOCATION: 1 });
    for (const rep of r.replacements) expect(r.text.slice(rep.outputStart, rep.outputEnd)).toBe('[REDACTED]');
  });

  it('tokenizes consistently per conversation and round-trips through re-identification', async () => {
    const vault = createMemoryTokenVault();
    const r = await applyTransforms(note, spansOf(note, marks), deidPolicies.tokens, { conversationId: 'c', vault });
    expect(r.text).toBe('[NAME_1] (MRN [MRN_1], tel [PHONE_1]) seen [DATE_1], age [AGE_1], ZIP [LOCATION_1]. [NAME_1] returns [DATE_2].');
    expect(r.form).toBe('deidentified');
    expect(r.replacements[0]!.token).toBe('[NAME_1]');
    const second = await applyTransforms('Call John Smith', spansOf('Call John Smith', [['John Smith', 'NAME']]), deidPolicies.tokens, { conversationId: 'c', vault });
    expect(second.text).toBe('Call [NAME_1]');
    expect(await reidentifyText(r.text, { allowed: true, lookup: vaultLookup(vault, 'c') })).toBe(note);
  });

  it('writes consistent surrogates and shifted dates, pseudonymised form', async () => {
    const r = await applyTransforms(note, spansOf(note, marks), deidPolicies.surrogates, { conversationId: 'c', key, patientId: 'p1' });
    expect(r.form).toBe('pseudonymised');
    expect(r.safeHarbor).toBe(false);
    for (const real of ['John', 'Smith', '8812345', '617-555-0142', '03/04/2021', '2021-04-01', '03601']) expect(r.text).not.toContain(real);
    const names = r.replacements.filter((x) => x.type === 'NAME').map((x) => r.text.slice(x.outputStart, x.outputEnd));
    expect(names[0]).toBe(names[1]);
    expect(r.text).toContain('age 90+');
    const dates = r.replacements.filter((x) => x.type === 'DATE').map((x) => r.text.slice(x.outputStart, x.outputEnd));
    expect(dates[0]).toMatch(/^\d{2}\/\d{2}\/\d{4}$/);
    const [m, d, y] = dates[0]!.split('/').map(Number);
    const gap = (Date.parse(dates[1]!) - Date.UTC(y!, m! - 1, d!)) / 86_400_000;
    expect(gap).toBe(28);
    const again = await applyTransforms(note, spansOf(note, marks), deidPolicies.surrogates, { conversationId: 'c', key, patientId: 'p1' });
    expect(again.text).toBe(r.text);
  });

  it('generalises', async () => {
    const r = await applyTransforms(note, spansOf(note, marks), deidPolicies.generalise, { conversationId: 'c' });
    expect(r.text).toBe('[NAME] (MRN [MRN], tel [PHONE]) seen 2021, age 90+, ZIP 000. [NAME] returns 2021.');
    expect(r.form).toBe('deidentified');
  });

  it('removes ages written in words when generalising', async () => {
    const text = 'she is ninety-two';
    const r = await applyTransforms(text, spansOf(text, [['ninety-two', 'AGE']]), deidPolicies.generalise, { conversationId: 'c' });
    expect(r.text).toBe('she is [AGE]');
  });

  it('marks output with kept categories as identified', async () => {
    const r = await applyTransforms(note, spansOf(note, marks), { default: 'redact', categories: { DATE: 'keep' } }, { conversationId: 'c' });
    expect(r.form).toBe('identified');
    expect(r.safeHarbor).toBe(false);
    expect(r.text).toContain('03/04/2021');
  });

  it('falls back to redaction for dates it cannot shift', async () => {
    const text = 'seen last Tuesday';
    const r = await applyTransforms(text, spansOf(text, [['last Tuesday', 'DATE']]), deidPolicies.surrogates, { conversationId: 'c', key });
    expect(r.text).toBe('seen [REDACTED]');
    expect(r.form).toBe('deidentified');
  });

  it('merges overlapping spans and rejects bad ones', async () => {
    const s = (start: number, end: number, type: PhiCategory = 'NAME'): Span => ({ start, end, type, detector: 't', confidence: 1 });
    expect(normaliseSpans('abcdefghij', [s(5, 8), s(0, 3), s(2, 6)]).map((x) => [x.start, x.end])).toEqual([[0, 8]]);
    for (const bad of [[s(0, 11)], [s(-1, 2)], [s(3, 3)], [s(0, 2, 'BOGUS' as PhiCategory)]]) {
      await expect(applyTransforms('abcdefghij', bad, deidPolicies.redact, { conversationId: 'c' })).rejects.toSatisfy((e) => isDeidError(e, 'invalid_spans'));
    }
    await expect(applyTransforms('ab', [s(0, 2)], deidPolicies.tokens, { conversationId: 'c' })).rejects.toSatisfy((e) => isDeidError(e, 'missing_vault'));
    await expect(applyTransforms('ab', [s(0, 2)], deidPolicies.surrogates, { conversationId: 'c' })).rejects.toSatisfy((e) => isDeidError(e, 'missing_key'));
  });

  it('handles empty text and no spans', async () => {
    const r = await applyTransforms('', [], deidPolicies.tokens, { conversationId: 'c' });
    expect(r).toMatchObject({ text: '', form: 'deidentified', counts: {} });
  });

  it('tokens round-trip through re-identification for any spans and any chunking (property)', async () => {
    const piece = fc.stringMatching(/^[^[\]]{0,12}$/);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(piece, fc.stringMatching(/^[A-Za-z0-9][^[\]]{0,10}$/), fc.constantFrom<PhiCategory>('NAME', 'DATE', 'PHONE', 'ID')), { maxLength: 8 }),
        piece,
        fc.array(fc.nat(), { maxLength: 12 }),
        async (parts, tail, cuts) => {
          let text = '';
          const spans: Span[] = [];
          const firstSeen = new Map<string, string>();
          let expected = '';
          for (const [before, value, type] of parts) {
            text += before;
            expected += before;
            spans.push({ start: text.length, end: text.length + value.length, type, detector: 't', confidence: 1 });
            text += value;
            // The vault returns the first spelling it saw of a value (case and spacing are normalised).
            const key = `${type}|${value.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase()}`;
            if (!firstSeen.has(key)) firstSeen.set(key, value);
            expected += firstSeen.get(key)!;
          }
          text += tail;
          expected += tail;
          const vault = createMemoryTokenVault();
          const r = await applyTransforms(text, spans, deidPolicies.tokens, { conversationId: 'p', vault });
          // Text outside spans is untouched and every replacement sits where it says.
          for (const rep of r.replacements) expect(r.text.slice(rep.outputStart, rep.outputEnd)).toBe(rep.token);
          const points = [...new Set(cuts.map((c) => c % (r.text.length + 1)))].sort((a, b) => a - b);
          const re = createReidentifier({ allowed: true, lookup: vaultLookup(vault, 'p') });
          let out = '';
          let prev = 0;
          for (const p of [...points, r.text.length]) {
            out += await re.push(r.text.slice(prev, p));
            prev = p;
          }
          out += await re.flush();
          expect(out).toBe(expected);
        },
      ),
      { numRuns: 200 },
    );
  });
});
