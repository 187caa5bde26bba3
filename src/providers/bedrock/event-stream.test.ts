// SPDX-License-Identifier: Apache-2.0
import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32, createEventStreamDecoder, decodeEventStream, encodeEventStreamMessage } from './event-stream.js';

async function* chunksOf(buffer: Buffer, sizes: readonly number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (const size of sizes) {
    if (at >= buffer.length) break;
    yield buffer.subarray(at, at + size);
    at += size;
  }
  if (at < buffer.length) yield buffer.subarray(at);
}

describe('AWS event-stream framing', () => {
  it('computes the zlib CRC-32', () => {
    const data = Buffer.from('123456789');
    expect(crc32(data)).toBe(0xcbf43926);
    expect(crc32(data)).toBe(zlibCrc32(data));
  });

  it('round-trips messages split at every possible boundary', async () => {
    const messages = [
      encodeEventStreamMessage({ ':message-type': 'event', ':event-type': 'messageStart' }, '{"role":"assistant"}'),
      encodeEventStreamMessage({ ':message-type': 'event', ':event-type': 'contentBlockDelta' }, '{"delta":{"text":"héllo"}}'),
    ];
    const all = Buffer.concat(messages);
    for (let split = 1; split < all.length; split++) {
      const decoded = [];
      for await (const message of decodeEventStream(chunksOf(all, [split, 3, 1]))) decoded.push(message);
      expect(decoded.map((m) => m.headers[':event-type'])).toEqual(['messageStart', 'contentBlockDelta']);
      expect(decoded[1]?.payload.toString()).toBe('{"delta":{"text":"héllo"}}');
    }
  });

  it('decodes any chunking of random messages (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ type: fc.string({ maxLength: 20 }), payload: fc.string({ maxLength: 200 }) }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 50 }),
        async (items, sizes) => {
          const all = Buffer.concat(items.map((item) => encodeEventStreamMessage({ ':event-type': item.type }, item.payload)));
          const decoded = [];
          for await (const message of decodeEventStream(chunksOf(all, sizes))) decoded.push(message);
          expect(decoded.map((m) => [m.headers[':event-type'], m.payload.toString()])).toEqual(items.map((item) => [item.type, item.payload]));
        },
      ),
    );
  });

  it('rejects a corrupted prelude or message CRC and a truncated stream', async () => {
    const message = encodeEventStreamMessage({ ':event-type': 'x' }, 'payload');
    const badPrelude = Buffer.from(message);
    badPrelude[9] = (badPrelude[9] ?? 0) ^ 0xff;
    expect(() => createEventStreamDecoder().push(badPrelude)).toThrow(expect.objectContaining({ code: 'provider_bad_response' }) as Error);
    const badBody = Buffer.from(message);
    badBody[message.length - 6] = (badBody[message.length - 6] ?? 0) ^ 0x01;
    expect(() => createEventStreamDecoder().push(badBody)).toThrow(expect.objectContaining({ code: 'provider_bad_response' }) as Error);
    const run = async () => {
      for await (const _ of decodeEventStream(chunksOf(message.subarray(0, message.length - 3), [5]))) void _;
    };
    await expect(run()).rejects.toMatchObject({ code: 'provider_bad_response' });
  });
});
