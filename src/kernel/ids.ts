// SPDX-License-Identifier: Apache-2.0
/** Identifiers: time-ordered UUIDv7 (RFC 9562 §5.7) for rows and requests, random tokens for secrets. */
import { randomBytes } from 'node:crypto';

let lastMs = 0;
let sequence = 0;

/** A UUIDv7: 48-bit Unix milliseconds, then random bits; monotonic within one process. */
export function uuidv7(now: number = Date.now()): string {
  const bytes = randomBytes(16);
  // A 12-bit counter in rand_a keeps ids from one process ordered within the same millisecond.
  if (now <= lastMs) {
    sequence = (sequence + 1) & 0xfff;
    now = lastMs;
  } else {
    sequence = bytes.readUInt16BE(6) & 0x7ff;
    lastMs = now;
  }
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** `bytes` of randomness as base64url, for secrets shown once. */
export function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}
