// SPDX-License-Identifier: Apache-2.0
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSseParser, readSse } from './sse.js';

async function* bytes(text: string, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  const all = new TextEncoder().encode(text);
  let at = 0;
  for (const size of sizes) {
    if (at >= all.length) break;
    yield all.subarray(at, at + size);
    at += size;
  }
  if (at < all.length) yield all.subarray(at);
}

async function parse(text: string, sizes: readonly number[] = [1]): Promise<{ event: string; data: string }[]> {
  const out = [];
  for await (const event of readSse(bytes(text, sizes))) out.push(event);
  return out;
}

describe('SSE reader', () => {
  it('handles LF, CRLF and CR line endings, comments, event names and multi-line data', async () => {
    const text = ': comment\n\nevent: a\r\ndata: one\r\ndata: two\r\n\r\ndata:no-space\r\rdata: [DONE]\n\n';
    const expected = [
      { event: 'a', data: 'one\ntwo' },
      { event: 'message', data: 'no-space' },
      { event: 'message', data: '[DONE]' },
    ];
    expect(await parse(text, [text.length])).toEqual(expected);
    expect(await parse(text, [1])).toEqual(expected);
  });

  it('decodes UTF-8 sequences split across chunks', async () => {
    expect(await parse('data: héllo wörld ✓\n\n', [7, 1, 1, 1])).toEqual([{ event: 'message', data: 'héllo wörld ✓' }]);
  });

  it('drops an unterminated final event and ignores unknown fields', async () => {
    expect(await parse('id: 1\nretry: 5\ndata: kept\n\ndata: partial')).toEqual([{ event: 'message', data: 'kept' }]);
  });

  it('yields the same events however the stream is chunked (property)', async () => {
    const payload = fc.string({ maxLength: 30 }).filter((s) => !/[\r\n]/.test(s));
    await fc.assert(
      fc.asyncProperty(fc.array(payload, { minLength: 1, maxLength: 6 }), fc.constantFrom('\n', '\r\n', '\r'), fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 40 }), async (datas, eol, sizes) => {
        const text = datas.map((data) => `data: ${data}${eol}${eol}`).join('');
        expect((await parse(text, sizes)).map((event) => event.data)).toEqual(datas.map((data) => (data.startsWith(' ') ? data : data)));
      }),
    );
  });

  it('keeps parser state across push calls', () => {
    const parser = createSseParser();
    expect(parser.push('data: a\r')).toEqual([]);
    expect(parser.push('\n\r\n')).toEqual([{ event: 'message', data: 'a' }]);
  });
});
