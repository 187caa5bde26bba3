// SPDX-License-Identifier: Apache-2.0
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createReidentifier, reidentifyStream, reidentifyText, vaultLookup } from './reidentify-stream.js';
import { createMemoryTokenVault } from './token-vault.js';
import { maxTokenLength } from './tokens.js';
import { phiCategories } from './types.js';

const names: Record<string, string> = { '[NAME_1]': 'John Smith', '[DATE_12]': 'March 4, 2021', '[EMAIL_1]': 'js@example.org' };
const lookup = (t: string): string | undefined => names[t];

async function run(chunks: string[], allowed = true): Promise<{ out: string; pieces: string[] }> {
  const r = createReidentifier({ allowed, lookup });
  const pieces: string[] = [];
  for (const c of chunks) pieces.push(await r.push(c));
  pieces.push(await r.flush());
  return { out: pieces.join(''), pieces };
}

describe('re-identification', () => {
  it('replaces issued tokens and leaves invented or mangled ones alone', async () => {
    const text = 'See [NAME_1] on [DATE_12]; [NAME_99], [NAME 1], [NAME_1, [name_1], [FOO_1], [EMAIL_1].';
    expect(await reidentifyText(text, { allowed: true, lookup })).toBe(
      'See John Smith on March 4, 2021; [NAME_99], [NAME 1], [NAME_1, [name_1], [FOO_1], js@example.org.',
    );
  });

  it('passes text through untouched and never consults the vault when not allowed', async () => {
    let calls = 0;
    const out = await reidentifyText('Hi [NAME_1]', { allowed: false, lookup: (t) => (calls++, lookup(t)) });
    expect(out).toBe('Hi [NAME_1]');
    expect(calls).toBe(0);
  });

  it('handles a token split across chunks and holds back no more than a token', async () => {
    const { out, pieces } = await run(['Dear [NA', 'ME', '_1', '] and [', 'DATE_1', '2] ok']);
    expect(out).toBe('Dear John Smith and March 4, 2021 ok');
    expect(pieces[0]).toBe('Dear ');
    const { pieces: p2 } = await run(['x'.repeat(10) + '[' + 'A'.repeat(100)]);
    expect(p2[0]!.length).toBe(111);
  });

  it('releases an unterminated bracket at flush', async () => {
    expect((await run(['a [NAME_'])).out).toBe('a [NAME_');
  });

  it('round-trips tokenize → re-identify for any chunking (property)', async () => {
    const word = fc.stringMatching(/^[A-Za-z0-9 .,[\]_-]{0,12}$/);
    const value = fc.stringMatching(/^[A-Za-z][A-Za-z .'-]{0,15}$/);
    const category = fc.constantFrom(...phiCategories);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(word, category, value), { minLength: 1, maxLength: 8 }),
        word,
        fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 10 }),
        async (parts, tail, cutPoints) => {
          const vault = createMemoryTokenVault();
          let tokenized = '';
          let original = '';
          for (const [before, type, v] of parts) {
            const token = await vault.tokenize('conv', type, v);
            // A separator keeps arbitrary text from gluing onto a token and forming a different one.
            tokenized += `${before} ${token} `;
            original += `${before} ${(await vault.lookup('conv', token))!} `;
          }
          tokenized += tail;
          original += tail;
          const cuts = [...new Set(cutPoints.map((c) => c % (tokenized.length + 1)))].sort((a, b) => a - b);
          const chunks: string[] = [];
          let prev = 0;
          for (const c of cuts) {
            chunks.push(tokenized.slice(prev, c));
            prev = c;
          }
          chunks.push(tokenized.slice(prev));
          const out: string[] = [];
          for await (const piece of reidentifyStream(
            (async function* () {
              yield* chunks;
            })(),
            { allowed: true, lookup: vaultLookup(vault, 'conv') },
          )) {
            out.push(piece);
          }
          expect(out.join('')).toBe(original);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never holds back more than the longest token', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.stringMatching(/^[A-Z_[\]0-9a ]{0,30}$/), { maxLength: 20 }), async (chunks) => {
        const r = createReidentifier({ allowed: true, lookup: () => undefined });
        let inCount = 0;
        let outCount = 0;
        for (const c of chunks) {
          inCount += c.length;
          outCount += (await r.push(c)).length;
          expect(inCount - outCount).toBeLessThan(maxTokenLength);
        }
        outCount += (await r.flush()).length;
        expect(outCount).toBe(inCount);
      }),
    );
  });
});
