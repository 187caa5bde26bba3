// SPDX-License-Identifier: Apache-2.0
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { endpointSchema } from '../config/schema.js';
import { SecretReferenceError } from '../config/secrets.js';
import { sealOutbound } from '../policy/outbound.js';
import type { Provider } from './provider.js';
import { createProvider, createProviders, InsecureEndpointError } from './registry.js';
import { startFakeAnthropicServer } from './testing/fake-anthropic-server.js';
import { fakeAwsCredentials, startFakeBedrockServer } from './testing/fake-bedrock-server.js';
import { startFakeOpenAiServer } from './testing/fake-openai-server.js';
import type { FakeVendorServer } from './testing/fake-server.js';
import { startFakeVertexServer } from './testing/fake-vertex-server.js';

const home = mkdtempSync(join(tmpdir(), 'phigate-providers-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

const call = () => ({ signal: new AbortController().signal, requestId: 'req-registry', deadlineMs: Date.now() + 10_000 });

async function roundTrip(provider: Provider, server: FakeVendorServer | undefined): Promise<string | null | undefined> {
  try {
    const result = await provider.chat(sealOutbound({ model: 'chat', messages: [{ role: 'user', content: 'hello' }] }, provider.id, 'deidentified'), call());
    return result.choices[0]?.message.content;
  } finally {
    await provider.close();
    await server?.close();
  }
}

describe('provider registry', () => {
  it('builds the echo provider with no secrets', async () => {
    const provider = createProvider(endpointSchema.parse({ id: 'echo', kind: 'echo', models: [{ name: 'chat' }] }), { baseDir: home, env: {} });
    expect(provider.kind).toBe('echo');
    expect(JSON.parse((await roundTrip(provider, undefined)) ?? 'null')).toMatchObject({ model: 'chat' });
  });

  it('wires OpenAI, Azure OpenAI and OpenAI-compatible endpoints with env secrets', async () => {
    const openai = await startFakeOpenAiServer({ apiKey: 'sk-env' });
    const azure = await startFakeOpenAiServer({ flavor: 'azure', apiKey: 'az-file' });
    const compat = await startFakeOpenAiServer();
    writeFileSync(join(home, 'azure.key'), 'az-file\n');
    const env = { OPENAI_KEY: 'sk-env' };
    const options = { baseDir: home, env, retryBaseDelayMs: 5 };
    const models = [{ name: 'chat', upstream: 'gpt-4o' }];
    expect(await roundTrip(createProvider(endpointSchema.parse({ id: 'oa', kind: 'openai', baseUrl: `${openai.url}/v1`, apiKey: 'env:OPENAI_KEY', models }), options), openai)).toBe('Hello from the fake vendor.');
    expect(await roundTrip(createProvider(endpointSchema.parse({ id: 'az', kind: 'azure-openai', baseUrl: azure.url, apiKey: 'file:azure.key', models }), options), azure)).toBe('Hello from the fake vendor.');
    const local = createProvider(endpointSchema.parse({ id: 'ollama', kind: 'openai-compatible', baseUrl: `${compat.url}/v1`, models, selfHosted: true }), options);
    expect(local.kind).toBe('openai-compatible');
    // No key configured and the fake wants one: the vendor's 401 surfaces as provider_unavailable.
    await expect(roundTrip(local, compat)).rejects.toMatchObject({ code: 'provider_unavailable' });
  });

  it('wires Anthropic, Bedrock and Vertex endpoints', async () => {
    const anthropic = await startFakeAnthropicServer({ apiKey: 'ant' });
    const bedrock = await startFakeBedrockServer({ region: 'us-west-2' });
    const vertex = await startFakeVertexServer();
    writeFileSync(join(home, 'sa.json'), vertex.serviceAccountKey);
    const env = { ANT: 'ant', AWS_ID: fakeAwsCredentials.accessKeyId, AWS_SECRET: fakeAwsCredentials.secretAccessKey };
    const options = { baseDir: home, env };
    const models = [{ name: 'chat' }];
    expect(await roundTrip(createProvider(endpointSchema.parse({ id: 'ant', kind: 'anthropic', baseUrl: anthropic.url, apiKey: 'env:ANT', models }), options), anthropic)).toBe(
      'Hello from the fake vendor.',
    );
    expect(
      await roundTrip(
        createProvider(endpointSchema.parse({ id: 'br', kind: 'bedrock', region: 'us-west-2', baseUrl: bedrock.url, accessKeyId: 'env:AWS_ID', secretAccessKey: 'env:AWS_SECRET', models }), options),
        bedrock,
      ),
    ).toBe('Hello from the fake vendor.');
    expect(
      await roundTrip(
        createProvider(endpointSchema.parse({ id: 'vx', kind: 'vertex', project: 'p1', location: 'europe-west4', baseUrl: vertex.url, tokenUrl: vertex.tokenUrl, serviceAccountKey: 'file:sa.json', models }), options),
        vertex,
      ),
    ).toBe('Hello from the fake vendor.');
  });

  it('creates every endpoint keyed by id, and fails on an unresolvable secret', async () => {
    const endpoints = [
      endpointSchema.parse({ id: 'echo', kind: 'echo', models: [{ name: 'echo' }] }),
      endpointSchema.parse({ id: 'oa', kind: 'openai', apiKey: 'env:KEY', models: [{ name: 'gpt' }] }),
    ];
    const providers = createProviders(endpoints, { baseDir: home, env: { KEY: 'k' } });
    expect([...providers.keys()]).toEqual(['echo', 'oa']);
    expect(providers.get('oa')?.kind).toBe('openai');
    await Promise.all([...providers.values()].map((provider) => provider.close()));
    expect(() => createProviders(endpoints, { baseDir: home, env: {} })).toThrow(SecretReferenceError);
  });

  it('rejects a service-account key that is not a key, without echoing it', () => {
    const endpoint = endpointSchema.parse({ id: 'vx', kind: 'vertex', project: 'p', serviceAccountKey: 'env:SA', models: [{ name: 'g' }] });
    expect(() => createProvider(endpoint, { baseDir: home, env: { SA: '{"client_email":"x"} secret-material' } })).toThrow(/not valid JSON/);
  });

  it('refuses clear-text vendor URLs unless loopback or self-hosted', async () => {
    const env = { KEY: 'k' };
    const base = { id: 'oa', kind: 'openai', apiKey: 'env:KEY', models: [{ name: 'gpt' }] };
    expect(() => createProvider(endpointSchema.parse({ ...base, baseUrl: 'http://api.example.com/v1' }), { baseDir: home, env })).toThrow(InsecureEndpointError);
    const selfHosted = createProvider(endpointSchema.parse({ ...base, kind: 'openai-compatible', baseUrl: 'http://vllm.internal:8000/v1', selfHosted: true }), { baseDir: home, env });
    const loopback = createProvider(endpointSchema.parse({ ...base, baseUrl: 'http://localhost:11434/v1' }), { baseDir: home, env });
    await Promise.all([selfHosted.close(), loopback.close()]);
    const vertex = { id: 'vx', kind: 'vertex', project: 'p', serviceAccountKey: 'env:SA', tokenUrl: 'http://tokens.example.com/token', models: [{ name: 'g' }] };
    expect(() => createProvider(endpointSchema.parse(vertex), { baseDir: home, env: { SA: '{}' } })).toThrow(InsecureEndpointError);
  });
});
