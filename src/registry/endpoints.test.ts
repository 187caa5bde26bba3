// SPDX-License-Identifier: Apache-2.0
// The endpoint directory's orders, and clearance read from the registry at a moment.
import { describe, expect, it } from 'vitest';
import { configSchema, type EndpointConfig } from '../config/schema.js';
import { createProviders } from '../providers/registry.js';
import { clearanceFrom, createEndpointDirectory, endpointClearance, regionWithin } from './endpoints.js';
import { createMemoryRegistry } from './testing/memory-registry.js';
import { sampleVendor } from './testing/registry-fixtures.js';

function directory(endpoints: unknown[]) {
  const config = configSchema.parse({ endpoints });
  return { config, directory: createEndpointDirectory(config.endpoints, createProviders(config.endpoints, { baseDir: '/', env: { K: 'k' } })) };
}

const openai = (id: string, extra: Record<string, unknown> = {}) => ({ id, kind: 'openai', apiKey: 'env:K', models: [{ name: 'gpt-4o' }], ...extra });

describe('endpoint directory', () => {
  it('routes a model to its first endpoint and that endpoint\'s fallbacks; candidates add every other endpoint serving it', () => {
    const { directory: d } = directory([
      openai('a', { fallbacks: ['c', 'missing-model', 'a'] }),
      openai('b'),
      openai('c'),
      openai('missing-model', { models: [{ name: 'other' }] }),
      openai('embed-only', { models: [{ name: 'gpt-4o', capabilities: ['embeddings'] }] }),
    ].map((e) => (e.id === 'a' ? e : { ...e, fallbacks: [] })));
    expect(d.routesFor('gpt-4o', 'chat').map((r) => r.endpoint.id)).toEqual(['a', 'c']);
    expect(d.candidatesFor('gpt-4o', 'chat').map((r) => r.endpoint.id)).toEqual(['a', 'c', 'b']);
    expect(d.candidatesFor('gpt-4o', 'embeddings').map((r) => r.endpoint.id)).toEqual(['embed-only']);
    expect(d.routesFor('nope', 'chat')).toEqual([]);
    expect(d.candidatesFor('nope', 'chat')).toEqual([]);
  });

  it('refuses the removed phiAllowed flag with a message that says where clearance comes from now', () => {
    const parsed = configSchema.safeParse({ endpoints: [openai('a', { phiAllowed: true })] });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({ path: ['endpoints', 0, 'phiAllowed'] });
    expect(parsed.error?.issues[0]?.message).toContain('vendor BAA registry');
  });
});

describe('clearance', () => {
  const now = Date.parse('2026-06-01T00:00:00Z');

  it('comes from the BAA registry at the moment asked: signed and covering, within residency', async () => {
    const registry = createMemoryRegistry({ vendors: [sampleVendor()] });
    const endpoint = configSchema.parse({ endpoints: [openai('a', { vendor: 'acme-ai', service: 'acme-chat', region: 'us-east-1' })] }).endpoints[0] as EndpointConfig;
    expect(endpointClearance(endpoint, await registry.snapshot(), now)).toMatchObject({ cleared: true, reason: 'covered', vendorId: 'acme-ai', baaExpiry: '2027-12-31', residency: ['us'] });
    // The BAA's last day still covers; the day after does not.
    expect(endpointClearance(endpoint, await registry.snapshot(), Date.parse('2027-12-31T23:59:59Z')).cleared).toBe(true);
    expect(endpointClearance(endpoint, await registry.snapshot(), Date.parse('2028-01-01T00:00:00Z'))).toMatchObject({ cleared: false, reason: 'baa_expired' });
    registry.setVendor(sampleVendor({ baa: { status: 'terminated', coveredServices: ['acme-chat'] } }));
    expect(endpointClearance(endpoint, await registry.snapshot(), now)).toMatchObject({ cleared: false, reason: 'baa_terminated' });
  });

  it('is never granted without a vendor and service, outside data residency, or to a consumer product', async () => {
    const snapshot = await createMemoryRegistry({ vendors: [sampleVendor()] }).snapshot();
    const parse = (extra: Record<string, unknown>) => configSchema.parse({ endpoints: [openai('a', extra)] }).endpoints[0] as EndpointConfig;
    expect(endpointClearance(parse({ vendor: 'acme-ai' }), snapshot, now)).toMatchObject({ cleared: false, reason: 'no_vendor' });
    expect(endpointClearance(parse({ vendor: 'acme-ai', service: 'acme-chat', region: 'eu-west-1' }), snapshot, now)).toMatchObject({ cleared: false, reason: 'region_outside_residency' });
    expect(endpointClearance(parse({ vendor: 'acme-ai', service: 'acme-chat' }), snapshot, now)).toMatchObject({ cleared: false, reason: 'region_outside_residency' });
    expect(endpointClearance(parse({ vendor: 'acme-ai', service: 'acme-consumer', region: 'us' }), snapshot, now)).toMatchObject({ cleared: false, reason: 'never_eligible' });
    expect(endpointClearance(parse({ vendor: 'nobody', service: 'x' }), snapshot, now)).toMatchObject({ cleared: false, reason: 'unknown_vendor' });
    expect(endpointClearance(parse({ selfHosted: true }), snapshot, now)).toMatchObject({ cleared: true, reason: 'self_hosted' });
  });

  it('reads a Vertex endpoint\'s location as its region', async () => {
    const vendor = sampleVendor({ id: 'google', services: [{ id: 'vertex-ai', name: 'Vertex AI', category: 'llm', eligibility: 'baa_available' }], baa: { status: 'signed', coveredServices: ['vertex-ai'], dataResidency: ['us'] } });
    const snapshot = await createMemoryRegistry({ vendors: [vendor] }).snapshot();
    const vertex = (location: string) =>
      configSchema.parse({ endpoints: [{ id: 'vx', kind: 'vertex', project: 'p', location, serviceAccountKey: 'env:SA', vendor: 'google', service: 'vertex-ai', models: [{ name: 'g' }] }] }).endpoints[0] as EndpointConfig;
    expect(endpointClearance(vertex('us-central1'), snapshot, now).cleared).toBe(true);
    expect(endpointClearance(vertex('europe-west4'), snapshot, now)).toMatchObject({ cleared: false, reason: 'region_outside_residency' });
  });

  it('matches residency entries exactly or at a "-" boundary', () => {
    expect(regionWithin('us-east-1', [])).toBe(true);
    expect(regionWithin(undefined, [])).toBe(true);
    expect(regionWithin(undefined, ['us'])).toBe(false);
    expect(regionWithin('us-east-1', ['us'])).toBe(true);
    expect(regionWithin('us-east-1', ['us-east-1'])).toBe(true);
    expect(regionWithin('useast', ['us'])).toBe(false);
    expect(regionWithin('US-EAST-1', ['us'])).toBe(false);
    expect(clearanceFrom(false, { covered: true, reason: 'covered' }, 'eu-west-1', ['eu', 'us'])).toEqual({ cleared: true, reason: 'covered' });
  });
});
