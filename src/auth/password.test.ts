// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { dummyPasswordHash, hashPassword, needsRehash, verifyPassword } from './password.js';

describe('passwords', () => {
  it('hash to a PHC scrypt string that verifies only the same password', async () => {
    const phc = await hashPassword('correct horse battery staple', 10);
    expect(phc).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    await expect(verifyPassword('correct horse battery staple', phc)).resolves.toBe(true);
    await expect(verifyPassword('correct horse battery stapler', phc)).resolves.toBe(false);
    expect(await hashPassword('same', 10)).not.toBe(await hashPassword('same', 10));
  });

  it('treat malformed hashes as a mismatch, and flag weak ones for rehash', async () => {
    await expect(verifyPassword('x', 'plain')).resolves.toBe(false);
    await expect(verifyPassword('x', '$scrypt$ln=40,r=8,p=1$AAAA$AAAA')).resolves.toBe(false);
    expect(needsRehash(await hashPassword('x', 10))).toBe(true);
    expect(needsRehash('garbage')).toBe(true);
  });

  it('keep a dummy hash that no guess matches', async () => {
    const dummy = await dummyPasswordHash(10);
    expect(await dummyPasswordHash(10)).toBe(dummy);
    await expect(verifyPassword('', dummy)).resolves.toBe(false);
  });
});
