// SPDX-License-Identifier: Apache-2.0
/**
 * Console passwords: scrypt (RFC 7914) from node:crypto, stored as a PHC string
 * `$scrypt$ln=17,r=8,p=1$<salt b64>$<hash b64>`. Verification is constant-time, and
 * {@link verifyPassword} against {@link dummyPasswordHash} costs the same as a real check, so an
 * unknown user name takes the same work as a known one.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const defaultCostLog2 = 15;
const blockSize = 8;
const parallelism = 1;
const keyLength = 32;
const saltLength = 16;
const phcPattern = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function scrypt(password: string, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFKC'), salt, length, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

const b64 = (bytes: Buffer): string => bytes.toString('base64').replace(/=+$/, '');

/** Hashes a password; `costLog2` is scrypt's N as a power of two (tests may lower it). */
export async function hashPassword(password: string, costLog2: number = defaultCostLog2): Promise<string> {
  const salt = randomBytes(saltLength);
  const N = 2 ** costLog2;
  const key = await scrypt(password, salt, keyLength, { N, r: blockSize, p: parallelism, maxmem: 256 * N * blockSize });
  return `$scrypt$ln=${costLog2},r=${blockSize},p=${parallelism}$${b64(salt)}$${b64(key)}`;
}

/** True when `password` matches `phc`; false for a wrong password or a malformed hash. */
export async function verifyPassword(password: string, phc: string): Promise<boolean> {
  const match = phcPattern.exec(phc);
  if (!match) return false;
  const [, ln, r, p, saltText, hashText] = match as unknown as [string, string, string, string, string, string];
  const costLog2 = Number(ln);
  if (costLog2 < 10 || costLog2 > 20) return false;
  const expected = Buffer.from(hashText, 'base64');
  const N = 2 ** costLog2;
  const actual = await scrypt(password, Buffer.from(saltText, 'base64'), expected.length, {
    N,
    r: Number(r),
    p: Number(p),
    maxmem: 256 * N * Number(r),
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Whether a stored hash was made with weaker settings than today's and should be replaced at next sign-in. */
export function needsRehash(phc: string, costLog2: number = defaultCostLog2): boolean {
  const match = phcPattern.exec(phc);
  return !match || Number(match[1]) < costLog2;
}

const dummyHashes = new Map<number, Promise<string>>();

/** A valid hash of a random password, for checking unknown users with the same work. */
export function dummyPasswordHash(costLog2: number = defaultCostLog2): Promise<string> {
  let hash = dummyHashes.get(costLog2);
  if (!hash) {
    hash = hashPassword(randomBytes(16).toString('hex'), costLog2);
    dummyHashes.set(costLog2, hash);
  }
  return hash;
}
