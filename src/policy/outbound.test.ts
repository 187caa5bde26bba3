// SPDX-License-Identifier: Apache-2.0
// The one door is a property of the source tree: no product file but the egress module seals a
// payload, and every provider method takes an `Outbound` value.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const srcRoot = fileURLToPath(new URL('..', import.meta.url));

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Test code and test fixtures may seal payloads to drive adapters directly. */
const isTestCode = (path: string): boolean => /\.(test|int\.test|contract|suite)\.ts$/.test(path) || path.split('/').includes('testing');

describe('the one door', () => {
  it('only policy/egress.ts seals outbound payloads', () => {
    const sealing = sourceFiles(srcRoot)
      .filter((path) => !isTestCode(path))
      .filter((path) => /\bsealOutbound\b/.test(readFileSync(path, 'utf8')))
      .map((path) => relative(srcRoot, path))
      .sort();
    expect(sealing).toEqual(['policy/egress.ts', 'policy/outbound.ts']);
  });

  it('every provider method that sends a payload accepts only Outbound', () => {
    const provider = readFileSync(join(srcRoot, 'providers', 'provider.ts'), 'utf8');
    for (const method of ['chat', 'chatStream', 'embed']) expect(provider).toMatch(new RegExp(`${method}\\(request: Outbound<`));
  });
});
