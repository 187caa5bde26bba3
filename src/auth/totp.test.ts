// SPDX-License-Identifier: Apache-2.0
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase32, generateTotpSecret, toBase32, totpCode, totpStep, totpUri, verifyTotp } from './totp.js';

// RFC 6238 Appendix B, SHA-1 rows, last six digits.
const rfcSecret = toBase32(Buffer.from('12345678901234567890', 'ascii'));
const rfcVectors: readonly [number, string][] = [
  [59, '287082'],
  [1_111_111_109, '081804'],
  [1_111_111_111, '050471'],
  [1_234_567_890, '005924'],
  [2_000_000_000, '279037'],
  [20_000_000_000, '353130'],
];

describe('TOTP', () => {
  it('matches the RFC 6238 test vectors', () => {
    for (const [seconds, code] of rfcVectors) expect(totpCode(rfcSecret, seconds * 1000)).toBe(code);
  });

  it('base32 round-trips any bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect([...fromBase32(toBase32(bytes))]).toEqual([...bytes]);
      }));
  });

  it('accepts the code of the step before, at and after now, and reports which step matched', () => {
    const secret = generateTotpSecret();
    fc.assert(
      fc.property(fc.integer({ min: 30_000, max: 4_000_000_000_000 }), fc.integer({ min: -1, max: 1 }), (now, offset) => {
        const at = now + offset * 30_000;
        expect(verifyTotp(secret, totpCode(secret, at), now)).toBe(totpStep(at));
      }),
    );
  });

  it('refuses codes two or more steps away, and anything that is not six digits', () => {
    const secret = generateTotpSecret();
    fc.assert(
      fc.property(fc.integer({ min: 100_000_000, max: 4_000_000_000_000 }), fc.integer({ min: 2, max: 1000 }), fc.boolean(), (now, steps, before) => {
        const at = now + (before ? -steps : steps) * 30_000;
        const code = totpCode(secret, at);
        // A far-away code may coincide with a nearby one by chance (1 in 10^6 per step); only check when it does not.
        const nearby = [-1, 0, 1].map((o) => totpCode(secret, now + o * 30_000));
        if (!nearby.includes(code)) expect(verifyTotp(secret, code, now)).toBeUndefined();
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }).filter((s) => !/^\d{6}$/.test(s)), (junk) => {
        expect(verifyTotp(secret, junk, Date.now())).toBeUndefined();
      }),
    );
  });

  it('writes an otpauth URI authenticator apps read', () => {
    expect(totpUri('ABC', 'dr smith')).toBe('otpauth://totp/phigate:dr%20smith?secret=ABC&issuer=phigate&algorithm=SHA1&digits=6&period=30');
  });
});
