// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { buildBody, isStreamBody } from './bodies.js';
import { BODY_NAMES } from './options.js';

describe('buildBody', () => {
  it('lands within 5% of the nominal size and carries the model', () => {
    for (const name of BODY_NAMES) {
      const size = Buffer.byteLength(buildBody(name, 'gpt-4o-mini'));
      const nominal = name.startsWith('8k') ? 8192 : 1024;
      expect(Math.abs(size - nominal) / nominal, name).toBeLessThan(0.05);
      expect((JSON.parse(buildBody(name, 'gpt-4o-mini')) as { model: string }).model).toBe('gpt-4o-mini');
    }
  });

  it('asks for a stream exactly for the -stream bodies', () => {
    for (const name of BODY_NAMES) {
      const body = JSON.parse(buildBody(name, 'm')) as { stream?: boolean };
      expect(body.stream === true, name).toBe(isStreamBody(name));
    }
  });
});
