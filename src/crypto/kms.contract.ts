// SPDX-License-Identifier: Apache-2.0
/**
 * The contract every {@link Kms} adapter passes. Call it from the adapter's test file with a
 * factory that builds a fresh KMS (and, where the backend allows, a way to rotate its KEK):
 *
 * ```ts
 * describeKmsContract('local key file', async () => {
 *   const kms = await ensureLocalKeyFile(join(tmp, 'keys/kek'));
 *   return { kms, rotate: () => kms.rotate(), cleanup: () => rm(tmp, { recursive: true }) };
 * });
 * ```
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { KeyContext, Kms, WrappedKey } from './kms.js';

export interface KmsUnderTest {
  readonly kms: Kms;
  /** Makes a new KEK version current; omit if the backend cannot rotate from a test. */
  readonly rotate?: () => Promise<unknown>;
  readonly cleanup?: () => Promise<void>;
}

export function describeKmsContract(name: string, setup: () => Promise<KmsUnderTest>): void {
  describe(`Kms contract: ${name}`, () => {
    let current: KmsUnderTest | undefined;
    const open = async (): Promise<KmsUnderTest> => {
      current = await setup();
      return current;
    };
    afterEach(async () => {
      await current?.cleanup?.();
      current = undefined;
    });

    const context: KeyContext = { purpose: 'contract', dataClass: 'vault', dataKeyId: 'dk-1' };

    it('generates a 256-bit key and unwraps it back under the same context', async () => {
      const { kms } = await open();
      const { plaintext, wrapped } = await kms.generateDataKey(context);
      expect(plaintext).toBeInstanceOf(Uint8Array);
      expect(plaintext.length).toBe(32);
      expect(wrapped.kekId).toBe(kms.id);
      expect(wrapped.ciphertext).not.toContain(Buffer.from(plaintext).toString('base64url'));
      const again = await kms.unwrapDataKey(wrapped, { ...context });
      expect(Buffer.from(again).equals(Buffer.from(plaintext))).toBe(true);
    });

    it('gives a different key each time', async () => {
      const { kms } = await open();
      const a = await kms.generateDataKey(context);
      const b = await kms.generateDataKey(context);
      expect(Buffer.from(a.plaintext).equals(Buffer.from(b.plaintext))).toBe(false);
      expect(a.wrapped.ciphertext).not.toBe(b.wrapped.ciphertext);
    });

    it('does not depend on the order of context entries', async () => {
      const { kms } = await open();
      const { plaintext, wrapped } = await kms.generateDataKey({ a: '1', b: '2' });
      const again = await kms.unwrapDataKey(wrapped, { b: '2', a: '1' });
      expect(Buffer.from(again).equals(Buffer.from(plaintext))).toBe(true);
    });

    it('refuses to unwrap under a different context', async () => {
      const { kms } = await open();
      const { wrapped } = await kms.generateDataKey(context);
      const others: KeyContext[] = [
        { ...context, dataKeyId: 'dk-2' },
        { ...context, dataClass: 'audit' },
        { purpose: 'contract', dataClass: 'vault' },
        { ...context, extra: 'x' },
        {},
      ];
      for (const other of others) {
        await expect(kms.unwrapDataKey(wrapped, other)).rejects.toThrow();
      }
    });

    it('rewraps to a new wrapped form that unwraps to the same key', async () => {
      const { kms } = await open();
      const { plaintext, wrapped } = await kms.generateDataKey(context);
      const rewrapped = await kms.rewrapDataKey(wrapped, context);
      expect(rewrapped.ciphertext).not.toBe(wrapped.ciphertext);
      const again = await kms.unwrapDataKey(rewrapped, context);
      expect(Buffer.from(again).equals(Buffer.from(plaintext))).toBe(true);
      await expect(kms.rewrapDataKey(wrapped, { ...context, dataKeyId: 'other' })).rejects.toThrow();
    });

    it('moves wrapped keys to the new KEK version on rotation, and old wraps still unwrap', async () => {
      const under = await open();
      if (under.rotate === undefined) return;
      const { kms } = under;
      const before = kms.id;
      const { plaintext, wrapped } = await kms.generateDataKey(context);
      await under.rotate();
      expect(kms.id).not.toBe(before);
      const old = await kms.unwrapDataKey(wrapped, context);
      expect(Buffer.from(old).equals(Buffer.from(plaintext))).toBe(true);
      const rewrapped = await kms.rewrapDataKey(wrapped, context);
      expect(rewrapped.kekId).toBe(kms.id);
      expect(Buffer.from(await kms.unwrapDataKey(rewrapped, context)).equals(Buffer.from(plaintext))).toBe(true);
      const fresh = await kms.generateDataKey(context);
      expect(fresh.wrapped.kekId).toBe(kms.id);
    });

    it('refuses every tampered wrapped key', async () => {
      const { kms } = await open();
      const { wrapped } = await kms.generateDataKey(context);
      const text = wrapped.ciphertext;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const tampered: WrappedKey[] = [
        { ...wrapped, ciphertext: '' },
        { ...wrapped, ciphertext: text.slice(0, -1) },
        { ...wrapped, ciphertext: `${text}A` },
        { ...wrapped, kekId: `${wrapped.kekId}x` },
      ];
      for (let i = 0; i < text.length; i++) {
        const ch = text[i] ?? '';
        const replacement = alphabet[(alphabet.indexOf(ch) + 1) % alphabet.length] ?? 'A';
        tampered.push({ ...wrapped, ciphertext: text.slice(0, i) + replacement + text.slice(i + 1) });
      }
      let refused = 0;
      for (const t of tampered) {
        try {
          await kms.unwrapDataKey(t, context);
        } catch {
          refused++;
        }
      }
      expect(refused).toBe(tampered.length);
    });
  });
}
