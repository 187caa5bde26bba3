// SPDX-License-Identifier: Apache-2.0
/**
 * Time-based one-time passwords, RFC 6238 over HOTP (RFC 4226): HMAC-SHA-1, 30-second steps,
 * six digits — what every authenticator app speaks. Verification accepts the current step and
 * one either side (clock drift), compares in constant time, and reports the matched step so the
 * caller can refuse a second use of it.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const base32Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export const totpStepSeconds = 30;
export const totpDigits = 6;

/** RFC 4648 base32 without padding. */
export function toBase32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += base32Alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += base32Alphabet[(value << (5 - bits)) & 31];
  return out;
}

/** Decodes base32 (case-insensitive, padding and spaces ignored); throws on other characters. */
export function fromBase32(text: string): Buffer {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of clean) {
    const index = base32Alphabet.indexOf(char);
    if (index < 0) throw new Error('not a base32 string');
    value = ((value << 5) | index) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** A new 160-bit secret, base32, for enrolment. */
export function generateTotpSecret(): string {
  return toBase32(randomBytes(20));
}

/** The time step for an epoch-ms instant. */
export function totpStep(nowMs: number): number {
  return Math.floor(nowMs / 1000 / totpStepSeconds);
}

/** HOTP value for a counter (RFC 4226 §5.3), zero-padded. */
export function hotp(secret: Uint8Array, counter: number): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const digest = createHmac('sha1', secret).update(message).digest();
  const offset = (digest[digest.length - 1] as number) & 0x0f;
  const binary = digest.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** totpDigits).padStart(totpDigits, '0');
}

/** The TOTP code for an instant. */
export function totpCode(secretBase32: string, nowMs: number): string {
  return hotp(fromBase32(secretBase32), totpStep(nowMs));
}

/**
 * Checks a code against steps now−1, now, now+1. Returns the matched step, or undefined. Every
 * candidate is compared, so the time does not depend on which one matched.
 */
export function verifyTotp(secretBase32: string, code: string, nowMs: number, window = 1): number | undefined {
  const secret = fromBase32(secretBase32);
  const presented = Buffer.from(code.padEnd(totpDigits, ' ').slice(0, 16));
  const wellFormed = /^\d{6}$/.test(code);
  const current = totpStep(nowMs);
  let matched: number | undefined;
  for (let step = Math.max(0, current - window); step <= current + window; step++) {
    const expected = Buffer.from(hotp(secret, step));
    const equal = expected.length === presented.length && timingSafeEqual(expected, presented);
    if (equal && wellFormed && matched === undefined) matched = step;
  }
  return matched;
}

/** The otpauth:// URI authenticator apps read from a QR code. */
export function totpUri(secretBase32: string, account: string, issuer = 'phigate'): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  return `otpauth://totp/${label}?secret=${secretBase32}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=${totpDigits}&period=${totpStepSeconds}`;
}
