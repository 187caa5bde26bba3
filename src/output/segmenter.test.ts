// SPDX-License-Identifier: Apache-2.0
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSegmenter, forcedCutLookahead, type SegmenterOptions } from './segmenter.js';

const options = (extra: Partial<SegmenterOptions> = {}): SegmenterOptions => ({ window: 64, markup: true, spans: () => [], ...extra });

function cut(text: string, chunks: readonly string[] = [text], extra: Partial<SegmenterOptions> = {}): string[] {
  const s = createSegmenter(options(extra));
  const parts: string[] = [];
  for (const c of chunks) parts.push(...s.push(c));
  parts.push(...s.flush());
  return parts;
}

describe('the segmenter', () => {
  it('cuts after line breaks and sentence ends, never after titles, initials or abbreviations', () => {
    expect(cut('She is stable. Dr. Smith agrees with J. Doe on St. Mary’s plan.\nNext line! Done? yes')).toEqual([
      'She is stable. ',
      'Dr. Smith agrees with J. Doe on St. Mary’s plan.\n',
      'Next line! ',
      'Done? ',
      'yes',
    ]);
  });

  it('keeps a link, image or tag whole across line breaks', () => {
    expect(cut('See [the\nguide](https://kb.example.org/a). Then <img\nsrc="x"> ok.\n')).toEqual([
      'See [the\nguide](https://kb.example.org/a). ',
      'Then <img\nsrc="x"> ok.\n',
    ]);
    // tool-call arguments are not markup: a bracket there is JSON
    expect(cut('{"a":[1,\n2]}', undefined, { markup: false })).toEqual(['{"a":[1,\n', '2]}']);
  });

  it('cuts a long run without a sentence end at a space outside every identifier, and defuses a cut construct', () => {
    const text = `${'word '.repeat(20)}Renato Dare ${'x'.repeat(30)}`;
    const at = text.indexOf('Renato');
    const parts = cut(text, [text], { spans: (t) => (t.includes('Renato Dare') ? [{ start: at, end: at + 'Renato Dare'.length }] : []) });
    expect(parts.join('')).toBe(text);
    for (let i = 0, offset = 0; i < parts.length; offset += (parts[i] as string).length, i++) {
      expect(offset <= at || offset >= at + 'Renato Dare'.length).toBe(true);
    }
    const long = `![x](https://evil.example/${'a'.repeat(200)})`;
    const out = cut(long);
    expect(out[0]?.startsWith('!\\[x](')).toBe(true);
  });

  it('waits for look-ahead before a forced cut, and holds back nothing at the end', () => {
    const s = createSegmenter(options());
    expect(s.push('a'.repeat(64 + forcedCutLookahead - 1))).toEqual([]);
    expect(s.push('a').length).toBe(1);
    expect(s.flush().join('').length).toBe(forcedCutLookahead);
  });

  it('cuts the same way whatever the chunking (property)', async () => {
    const piece = fc.constantFrom('She is stable. ', 'Dr. ', 'Smith', ' and ', '\n', '[a](https://x.example/b)', '![', '](', ')', '<img ', '>', 'word', '. ', '!', ' ', 'xyz'.repeat(9));
    await fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.array(fc.integer({ min: 0, max: 2000 }), { maxLength: 12 }), (pieces, cuts) => {
        const text = pieces.join('');
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const chunks: string[] = [];
        let last = 0;
        for (const p of points) {
          chunks.push(text.slice(last, p));
          last = p;
        }
        chunks.push(text.slice(last));
        expect(cut(text, chunks)).toEqual(cut(text));
      }),
      { numRuns: 300 },
    );
  });
});
