// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { configWarnings } from './config.js';

describe('phigate config check warnings', () => {
  it('names endpoints no BAA can cover, and vendor endpoints without a region', () => {
    const config = configSchema.parse({
      endpoints: [
        { id: 'echo', kind: 'echo', models: [{ name: 'echo' }] },
        { id: 'local', kind: 'openai-compatible', baseUrl: 'http://10.0.0.2:8000/v1', selfHosted: true, models: [{ name: 'llama' }] },
        { id: 'bare', kind: 'openai', apiKey: 'env:K', models: [{ name: 'a' }] },
        { id: 'half', kind: 'openai', apiKey: 'env:K', vendor: 'openai', models: [{ name: 'b' }] },
        { id: 'no-region', kind: 'openai', apiKey: 'env:K', vendor: 'openai', service: 'api-enterprise', models: [{ name: 'c' }] },
        { id: 'complete', kind: 'openai', apiKey: 'env:K', vendor: 'openai', service: 'api-enterprise', region: 'us-east-1', models: [{ name: 'd' }] },
        { id: 'vertex', kind: 'vertex', project: 'p', serviceAccountKey: 'env:SA', vendor: 'google', service: 'vertex-ai', models: [{ name: 'g' }] },
      ],
    });
    const warnings = configWarnings(config);
    expect(warnings.map((w) => w.split(' ')[1])).toEqual(['bare', 'half', 'no-region']);
    expect(warnings[0]).toContain('receives only de-identified payloads');
    expect(warnings[2]).toContain('data residency');
  });
});
