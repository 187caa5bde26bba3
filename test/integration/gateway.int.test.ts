// SPDX-License-Identifier: Apache-2.0
/**
 * The whole gateway over HTTPS with the official OpenAI and Anthropic SDKs as clients: echo and
 * local vendor servers upstream, audit records checked in the database.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAiServer } from '../../src/providers/testing/fake-openai-server.js';
import type { FakeVendorServer } from '../../src/providers/testing/fake-server.js';
import { startEgressProxy, type EgressProxy } from '../support/egress-proxy.js';
import { startTestGateway, trustingFetch, type TestGateway } from '../support/gateway.js';

let upstream: FakeVendorServer;
let backup: FakeVendorServer;
let proxy: EgressProxy;
let gw: TestGateway;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  upstream = await startFakeOpenAiServer({ apiKey: 'upstream-key' });
  backup = await startFakeOpenAiServer({ apiKey: 'upstream-key' });
  // Vendor traffic goes through a recording egress proxy, as in a hospital network.
  proxy = await startEgressProxy();
  gw = await startTestGateway({
    egressProxyUrl: proxy.url,
    env: { UPSTREAM_KEY: 'upstream-key' },
    config: {
      endpoints: [
        { id: 'echo', kind: 'echo', models: [{ name: 'echo', capabilities: ['chat', 'embeddings'] }] },
        {
          id: 'local-vllm',
          kind: 'openai-compatible',
          baseUrl: `${upstream.url}/v1`,
          apiKey: 'env:UPSTREAM_KEY',
          selfHosted: true,
          maxRetries: 0,
          timeoutMs: 2000,
          fallbacks: ['local-backup'],
          models: [{ name: 'clinical-llm', upstream: 'meta-llama/Llama-3.1-8B-Instruct' }],
        },
        { id: 'local-backup', kind: 'openai-compatible', baseUrl: `${backup.url}/v1`, apiKey: 'env:UPSTREAM_KEY', selfHosted: true, maxRetries: 0, models: [{ name: 'clinical-llm' }] },
        { id: 'cloud-no-baa', kind: 'openai', baseUrl: `${upstream.url}/v1`, apiKey: 'env:UPSTREAM_KEY', models: [{ name: 'gpt-4o' }] },
      ],
    },
  });
  const fetch = trustingFetch(gw.dispatcher);
  openai = new OpenAI({ baseURL: gw.baseUrl, apiKey: gw.apiKey, fetch, maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: gw.baseUrl.replace(/\/v1$/, ''), apiKey: gw.apiKey, fetch, maxRetries: 0 });
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
  await backup?.close();
  await proxy?.close();
});

async function auditRows(requestId: string) {
  return gw.gateway.store.db.selectFrom('audit_events').selectAll().where('request_id', '=', requestId).orderBy('seq').execute();
}

describe('OpenAI SDK through the gateway', () => {
  it('answers a chat completion with the echo of what the vendor received, and audits it', async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: 'echo', messages: [{ role: 'user', content: 'What is the ICD-10 code for type 2 diabetes?' }] })
      .withResponse();
    const echoed = JSON.parse(data.choices[0]?.message.content ?? '{}') as { messages: { content: string }[] };
    expect(echoed.messages[0]?.content).toBe('What is the ICD-10 code for type 2 diabetes?');
    expect(data.usage?.total_tokens).toBeGreaterThan(0);
    const requestId = response.headers.get('x-request-id') ?? '';
    const rows = await auditRows(requestId);
    expect(rows.map((r) => [r.stage, r.outcome])).toEqual([
      ['disclosure', 'pending'],
      ['completed', 'success'],
    ]);
    expect(rows[1]?.body).not.toContain('ICD-10');
  });

  it('streams with usage and the [DONE] terminator', async () => {
    upstream.script({ text: 'Patient stable; continue current plan.' });
    const stream = await openai.chat.completions.create({
      model: 'clinical-llm',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Summarise the note.' }],
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Patient stable; continue current plan.');
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    expect(upstream.requests.at(-1)?.summary.model).toBe('meta-llama/Llama-3.1-8B-Instruct');
  });

  it('passes tools through and returns tool calls', async () => {
    upstream.script({ toolCalls: [{ id: 'call_1', name: 'lookup_allergy', arguments: '{"substance":"penicillin"}' }] });
    const completion = await openai.chat.completions.create({
      model: 'clinical-llm',
      messages: [{ role: 'user', content: 'Any penicillin allergy?' }],
      tools: [{ type: 'function', function: { name: 'lookup_allergy', parameters: { type: 'object', properties: { substance: { type: 'string' } } } } }],
      response_format: { type: 'json_object' },
    });
    const call = completion.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function.name).toBe('lookup_allergy');
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(upstream.requests.at(-1)?.summary.toolNames).toEqual(['lookup_allergy']);
  });

  it('falls back to an endpoint of equal clearance when the primary fails', async () => {
    upstream.script({ status: 500 });
    backup.script({ text: 'from the backup' });
    const completion = await openai.chat.completions.create({ model: 'clinical-llm', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0]?.message.content).toBe('from the backup');
  });

  it('creates embeddings and lists models', async () => {
    const embeddings = await openai.embeddings.create({ model: 'echo', input: ['chest pain', 'dyspnoea'] });
    expect(embeddings.data).toHaveLength(2);
    expect(embeddings.data[0]?.embedding.length).toBeGreaterThan(0);
    const models = await openai.models.list();
    expect(models.data.map((m) => m.id).sort()).toEqual(['clinical-llm', 'echo', 'gpt-4o']);
  });

  it('de-identifies what goes to an endpoint without a BAA and re-identifies the answer', async () => {
    const note = 'Patient John Smith (MRN 84736251) was seen on 03/04/2021; call him at 617-555-0123.';
    upstream.script({ text: 'Please follow up with [NAME_1] by phone.' });
    const completion = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: note }] });
    const sent = upstream.requests.at(-1)?.rawBody ?? '';
    for (const identifier of ['John', 'Smith', '84736251', '03/04/2021', '617-555-0123']) expect(sent).not.toContain(identifier);
    expect(sent).toContain('[NAME_1]');
    expect(completion.choices[0]?.message.content).toBe('Please follow up with John Smith by phone.');
  });

  it('re-identifies a token split across streamed chunks', async () => {
    upstream.script({ text: 'Discussed results with [NAME_1] today.', chunkChars: 3 });
    const stream = await openai.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'Dr. Maria Gonzalez reviewed the MRI.' }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(upstream.requests.at(-1)?.rawBody).not.toContain('Gonzalez');
    expect(text).toBe('Discussed results with Maria Gonzalez today.');
  });

  it('refuses images to an endpoint without a BAA before anything is sent', async () => {
    const before = upstream.requests.length;
    const err = await openai.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('phi_egress_denied');
    expect(upstream.requests.length).toBe(before);
  });

  it('maps errors to typed OpenAI errors with audit records', async () => {
    const unknownModel = await openai.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(unknownModel).toBeInstanceOf(OpenAI.NotFoundError);
    expect((unknownModel as InstanceType<typeof OpenAI.APIError>).code).toBe('model_not_found');
    const requestId = (unknownModel as InstanceType<typeof OpenAI.APIError>).requestID ?? '';
    expect((await auditRows(requestId)).map((r) => [r.stage, r.outcome])).toEqual([['refused', 'denied']]);

    const badKey = new OpenAI({ baseURL: gw.baseUrl, apiKey: 'phigate_aaaaaaaaaaaa_' + 'A'.repeat(43), fetch: trustingFetch(gw.dispatcher), maxRetries: 0 });
    const unauthenticated = await badKey.models.list().catch((e: unknown) => e);
    expect(unauthenticated).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((unauthenticated as InstanceType<typeof OpenAI.APIError>).code).toBe('unauthenticated');

    upstream.script({ status: 503 });
    backup.script({ status: 503 });
    const unavailable = await openai.chat.completions.create({ model: 'clinical-llm', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect((unavailable as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
  });
});

describe('Anthropic SDK through /v1/messages', () => {
  it('answers non-streaming and streaming requests', async () => {
    upstream.script({ text: 'No acute distress.' });
    const message = await anthropic.messages.create({ model: 'clinical-llm', max_tokens: 100, messages: [{ role: 'user', content: 'Assess.' }] });
    expect(message.content[0]?.type === 'text' && message.content[0].text).toBe('No acute distress.');
    expect(message.stop_reason).toBe('end_turn');

    upstream.script({ text: 'Streaming works end to end.' });
    const streamed = await anthropic.messages.stream({ model: 'clinical-llm', max_tokens: 100, messages: [{ role: 'user', content: 'Go.' }] }).finalMessage();
    expect(streamed.content[0]?.type === 'text' && streamed.content[0].text).toBe('Streaming works end to end.');
  });

  it('renders refusals in Anthropic error format', async () => {
    const err = await anthropic.messages.create({ model: 'nope', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
  });
});

describe('/v1/deid and /v1/reid', () => {
  async function post(path: string, body: unknown, apiKey = gw.apiKey) {
    const { request } = await import('undici');
    const response = await request(`${gw.baseUrl}${path}`, {
      method: 'POST',
      dispatcher: gw.dispatcher,
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
  }

  it('de-identifies text into tokens that only the same caller can re-identify', async () => {
    const text = 'SSN 123-45-6789, phone (617) 555-0199, email jane.doe@example.org.';
    const deid = await post('/deid', { text, conversation: 'visit-42' });
    expect(deid.status).toBe(200);
    expect(deid.body.text).not.toContain('123-45-6789');
    expect(deid.body.text).not.toContain('jane.doe@example.org');
    expect(deid.body.safe_harbor).toBe(true);
    expect(deid.body.spans).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'SSN', start: 4, end: 15 })]));
    const reid = await post('/reid', { text: deid.body.text, conversation: 'visit-42' });
    expect(reid.body.text).toBe(text);
  });

  it('refuses malformed requests with typed errors', async () => {
    expect((await post('/deid', { text: 1 })).body).toMatchObject({ error: { code: 'invalid_request' } });
    expect((await post('/reid', { text: 'x' })).body).toMatchObject({ error: { code: 'invalid_request' } });
    expect((await post('/deid', { text: 'x' }, 'wrong')).status).toBe(401);
  });
});

describe('egress proxy', () => {
  it('carried every request the local vendors received', () => {
    const destinations = new Set(proxy.records.map((r) => r.destination));
    expect([...destinations].sort()).toEqual([new URL(upstream.url).host, new URL(backup.url).host].sort());
    expect(proxy.records.length).toBe(upstream.requests.length + backup.requests.length);
    expect(proxy.records.length).toBeGreaterThan(5);
  });
});
