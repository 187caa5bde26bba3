// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { createDeidEngine } from './detect.js';
import { createDeidentifier, toWellFormedText } from './deidentify.js';
import { reidentifyText, vaultLookup } from './reidentify-stream.js';
import { createTestDetector } from './testing/test-detector.js';
import { createMemoryTokenVault } from './token-vault.js';
import { deidPolicies } from './transforms/apply.js';
import { isDeidError } from './transforms/deid-error.js';

describe('createDeidentifier', () => {
  const detector = createTestDetector(['Ann Lee']);

  it('detects and transforms, with known PHI passed to the detector', async () => {
    const deid = createDeidentifier({ detector, policy: deidPolicies.tokens, vault: createMemoryTokenVault() });
    const r = await deid.deidentify('Ann Lee and Bo Chan, 617-555-0142', { conversationId: 'c', knownPhi: { names: ['Bo Chan'] } });
    expect(r.text).toBe('[NAME_1] and [NAME_2], [PHONE_1]');
    expect(r.spans.map((s) => s.type)).toEqual(['NAME', 'NAME', 'PHONE']);
  });

  it('redacts by default, and handles empty input', async () => {
    const deid = createDeidentifier({ detector });
    expect((await deid.deidentify('Ann Lee', { conversationId: 'c' })).text).toBe('[REDACTED]');
    expect((await deid.deidentify('', { conversationId: 'c' })).text).toBe('');
  });

  it('refuses inputs over the limit and non-strings with typed errors', async () => {
    const deid = createDeidentifier({ detector, maxInputLength: 10 });
    await expect(deid.deidentify('x'.repeat(11), { conversationId: 'c' })).rejects.toSatisfy((e) => isDeidError(e, 'input_too_large'));
    await expect(deid.deidentify(42 as unknown as string, { conversationId: 'c' })).rejects.toSatisfy((e) => isDeidError(e, 'invalid_input'));
  });

  it('repairs lone surrogates without moving offsets', async () => {
    expect(toWellFormedText('a\uD800b\uDC00c😀')).toBe('a\uFFFDb\uFFFDc😀');
    const deid = createDeidentifier({ detector });
    const input = '\uD800Ann Lee\uDFFF';
    const r = await deid.deidentify(input, { conversationId: 'c' });
    expect(r.spans[0]).toMatchObject({ start: 1, end: 8 });
    expect(r.text).toBe('\uFFFD[REDACTED]\uFFFD');
  });

  it('does not hang on long repetitive input', async () => {
    const deid = createDeidentifier({ detector });
    const r = await deid.deidentify('1-'.repeat(100_000) + '@'.repeat(50_000), { conversationId: 'c' });
    expect(r.text.length).toBeGreaterThan(0);
  });

  it('works end to end with the real engine: tokens out, original back for an allowed caller', async () => {
    const vault = createMemoryTokenVault();
    const deid = createDeidentifier({ detector: createDeidEngine(), policy: deidPolicies.tokens, vault });
    const note = 'Patient: John Smith. MRN: 4455667. Call 617-555-0142. Email john.smith@example.org.';
    const r = await deid.deidentify(note, { conversationId: 'conv-9' });
    expect(r.text).not.toMatch(/4455667|555-0142|john\.smith@/);
    expect(r.form).toBe('deidentified');
    const answer = `Summary for ${r.text}`;
    expect(await reidentifyText(answer, { allowed: true, lookup: vaultLookup(vault, 'conv-9') })).toBe(`Summary for ${note}`);
    expect(await reidentifyText(answer, { allowed: false, lookup: vaultLookup(vault, 'conv-9') })).toBe(answer);
  });
});
