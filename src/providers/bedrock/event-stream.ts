// SPDX-License-Identifier: Apache-2.0
/**
 * The AWS event-stream binary framing (application/vnd.amazon.eventstream) used by Bedrock's
 * ConverseStream. Each message: total length (u32), headers length (u32), prelude CRC32,
 * headers, payload, message CRC32 — all big-endian. Both CRCs are checked; a mismatch means a
 * corrupted or truncated stream and ends the call with provider_bad_response.
 */
import { badResponse } from '../shared/errors.js';

export type HeaderValue = boolean | number | bigint | string | Buffer | Date;

export interface EventStreamMessage {
  readonly headers: Readonly<Record<string, HeaderValue>>;
  readonly payload: Buffer;
}

const crcTable = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, as zlib computes it). */
export function crc32(data: Uint8Array, start = 0, end = data.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = (crcTable[(crc ^ (data[i] ?? 0)) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const preludeLength = 12;
const maxMessageLength = 16 * 1024 * 1024;

function decodeHeaders(buffer: Buffer, start: number, end: number): Record<string, HeaderValue> {
  const headers: Record<string, HeaderValue> = {};
  let at = start;
  const need = (bytes: number): void => {
    if (at + bytes > end) throw badResponse('event_stream_header');
  };
  while (at < end) {
    need(1);
    const nameLength = buffer.readUInt8(at++);
    need(nameLength + 1);
    const name = buffer.toString('utf8', at, at + nameLength);
    at += nameLength;
    const type = buffer.readUInt8(at++);
    switch (type) {
      case 0:
      case 1:
        headers[name] = type === 0;
        break;
      case 2:
        need(1);
        headers[name] = buffer.readInt8(at);
        at += 1;
        break;
      case 3:
        need(2);
        headers[name] = buffer.readInt16BE(at);
        at += 2;
        break;
      case 4:
        need(4);
        headers[name] = buffer.readInt32BE(at);
        at += 4;
        break;
      case 5:
        need(8);
        headers[name] = buffer.readBigInt64BE(at);
        at += 8;
        break;
      case 6:
      case 7: {
        need(2);
        const length = buffer.readUInt16BE(at);
        at += 2;
        need(length);
        headers[name] = type === 7 ? buffer.toString('utf8', at, at + length) : Buffer.from(buffer.subarray(at, at + length));
        at += length;
        break;
      }
      case 8:
        need(8);
        headers[name] = new Date(Number(buffer.readBigInt64BE(at)));
        at += 8;
        break;
      case 9:
        need(16);
        headers[name] = Buffer.from(buffer.subarray(at, at + 16));
        at += 16;
        break;
      default:
        throw badResponse('event_stream_header');
    }
  }
  return headers;
}

/** Incremental decoder: feed chunks as they arrive, split anywhere. */
export function createEventStreamDecoder(): { push(chunk: Buffer): EventStreamMessage[]; readonly pendingBytes: number } {
  let buffer: Buffer = Buffer.alloc(0);
  return {
    push(chunk) {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      const out: EventStreamMessage[] = [];
      while (buffer.length >= preludeLength) {
        const total = buffer.readUInt32BE(0);
        const headersLength = buffer.readUInt32BE(4);
        if (crc32(buffer, 0, 8) !== buffer.readUInt32BE(8)) throw badResponse('event_stream_crc');
        if (total < preludeLength + 4 || total > maxMessageLength || headersLength > total - preludeLength - 4) throw badResponse('event_stream_length');
        if (buffer.length < total) break;
        if (crc32(buffer, 0, total - 4) !== buffer.readUInt32BE(total - 4)) throw badResponse('event_stream_crc');
        const headers = decodeHeaders(buffer, preludeLength, preludeLength + headersLength);
        out.push({ headers, payload: Buffer.from(buffer.subarray(preludeLength + headersLength, total - 4)) });
        buffer = buffer.subarray(total);
      }
      return out;
    },
    get pendingBytes() {
      return buffer.length;
    },
  };
}

/** Reads messages from a byte stream; trailing partial bytes are an error. */
export async function* decodeEventStream(chunks: AsyncIterable<Buffer>): AsyncGenerator<EventStreamMessage> {
  const decoder = createEventStreamDecoder();
  for await (const chunk of chunks) yield* decoder.push(chunk);
  if (decoder.pendingBytes > 0) throw badResponse('event_stream_truncated');
}

/** Encodes one message with string headers (what fake servers and tests need). */
export function encodeEventStreamMessage(headers: Readonly<Record<string, string>>, payload: Buffer | string): Buffer {
  const headerParts: Buffer[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const nameBytes = Buffer.from(name, 'utf8');
    const valueBytes = Buffer.from(value, 'utf8');
    const part = Buffer.alloc(1 + nameBytes.length + 1 + 2 + valueBytes.length);
    part.writeUInt8(nameBytes.length, 0);
    nameBytes.copy(part, 1);
    part.writeUInt8(7, 1 + nameBytes.length);
    part.writeUInt16BE(valueBytes.length, 2 + nameBytes.length);
    valueBytes.copy(part, 4 + nameBytes.length);
    headerParts.push(part);
  }
  const headerBytes = Buffer.concat(headerParts);
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const total = preludeLength + headerBytes.length + body.length + 4;
  const message = Buffer.alloc(total);
  message.writeUInt32BE(total, 0);
  message.writeUInt32BE(headerBytes.length, 4);
  message.writeUInt32BE(crc32(message, 0, 8), 8);
  headerBytes.copy(message, preludeLength);
  body.copy(message, preludeLength + headerBytes.length);
  message.writeUInt32BE(crc32(message, 0, total - 4), total - 4);
  return message;
}
