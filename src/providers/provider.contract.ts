// SPDX-License-Identifier: Apache-2.0
/**
 * The contract every network adapter meets, run against a fake server that speaks the
 * vendor's real wire format. Each adapter's test file calls `describeProviderContract` with
 * a factory; the adapter makes real HTTP calls to the fake.
 */
import { describe, expect, it } from 'vitest';
import { isGatewayError } from '../kernel/errors.js';
import type { ErrorCode } from '../kernel/errors.js';
import { sealOutbound } from '../policy/outbound.js';
import type { CallOptions, Provider } from './provider.js';
import { collectStream } from './testing/collect-stream.js';
import type { FakeVendorServer } from './testing/fake-server.js';
import type { ChatDelta, ChatRequest, EmbedRequest } from './types.js';

export interface ContractTarget {
  readonly provider: Provider;
  readonly server: FakeVendorServer;
  /** Caller-facing model name configured on the endpoint. */
  readonly model: string;
  /** The vendor model name the server must see for `model`. */
  readonly upstreamModel: string;
}

export interface ContractOptions {
  /** Endpoint timeout for this target; the factory's default otherwise. */
  readonly timeoutMs?: number | undefined;
  readonly maxRetries?: number | undefined;
}

export interface ContractFeatures {
  /** Whether the adapter offers embeddings; otherwise `embed` must fail with provider_rejected. */
  readonly embeddings: boolean;
  /** `native`: the vendor receives the JSON schema as such; `instruction`: it is written into the system prompt. */
  readonly responseFormat: 'native' | 'instruction';
}

const schema = { type: 'object', properties: { value: { type: 'number' } }, required: ['value'] } as const;
const png = 'iVBORw0KGgoAAAANSUhEUg==';

function callOptions(overrides: Partial<CallOptions> = {}): CallOptions {
  return { signal: new AbortController().signal, requestId: 'req-contract', deadlineMs: Date.now() + 20_000, ...overrides };
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<unknown> {
  const err = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(isGatewayError(err), `expected GatewayError ${code}, got ${String(err)}`).toBe(true);
  expect(isGatewayError(err) ? err.code : undefined).toBe(code);
  // Vendor error bodies carry request text; none of it may surface.
  expect(JSON.stringify({ message: (err as Error).message, detail: isGatewayError(err) ? err.detail : undefined })).not.toMatch(/vendor-error-text|Jane Roe/);
  return err;
}

async function drain(stream: AsyncIterable<ChatDelta>): Promise<void> {
  await collectStream(stream);
}

/** Registers the contract suite for one adapter. */
export function describeProviderContract(
  name: string,
  factory: (options: ContractOptions) => Promise<ContractTarget>,
  features: ContractFeatures,
): void {
  async function withTarget(options: ContractOptions, body: (target: ContractTarget) => Promise<void>): Promise<void> {
    const target = await factory(options);
    try {
      await body(target);
    } finally {
      await target.provider.close();
      await target.server.close();
    }
  }

  const chatRequest = (target: ContractTarget, extra: Partial<ChatRequest> = {}): ChatRequest => ({
    model: target.model,
    messages: [
      { role: 'system', content: 'You are a terse clinical assistant.' },
      { role: 'user', content: 'Summarise [NAME_1]\'s visit.' },
    ],
    max_tokens: 200,
    ...extra,
  });
  const seal = <T>(target: ContractTarget, payload: T) => sealOutbound(payload, target.provider.id, 'deidentified');

  const toolRequest = (target: ContractTarget, stream: boolean): ChatRequest =>
    chatRequest(target, {
      messages: [
        { role: 'system', content: 'Use tools when needed.' },
        { role: 'user', content: 'What was the last A1c?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup_lab', arguments: '{"test":"a1c"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '6.1%' },
      ],
      tools: [{ type: 'function', function: { name: 'lookup_lab', description: 'Looks up a lab result', parameters: { type: 'object', properties: { test: { type: 'string' } } } } }],
      tool_choice: 'auto',
      ...(stream ? { stream: true } : {}),
    });

  describe(`${name}: Provider contract`, () => {
    it('answers a non-streaming chat with content, finish reason and usage', () =>
      withTarget({}, async (target) => {
        target.server.script({ text: 'The visit was routine.', usage: { input: 11, output: 6 } });
        const result = await target.provider.chat(seal(target, chatRequest(target)), callOptions());
        expect(result.object).toBe('chat.completion');
        expect(result.model).toBe(target.model);
        expect(result.choices[0]?.message.content).toBe('The visit was routine.');
        expect(result.choices[0]?.finish_reason).toBe('stop');
        expect(result.usage).toEqual({ prompt_tokens: 11, completion_tokens: 6, total_tokens: 17 });
        const seen = target.server.requests[0]?.summary;
        expect(seen?.model).toBe(target.upstreamModel);
        expect(seen?.stream).toBe(false);
        expect(seen?.system).toContain('terse clinical assistant');
        expect(seen?.texts).toContain("Summarise [NAME_1]'s visit.");
        expect(seen?.maxTokens).toBe(200);
      }));

    it('streams a chat: assembled content, finish reason and a usage chunk', () =>
      withTarget({}, async (target) => {
        const text = 'Streaming works, ünïcödé included.';
        target.server.script({ text, usage: { input: 9, output: 4 } });
        const stream = target.provider.chatStream(seal(target, chatRequest(target, { stream: true, stream_options: { include_usage: true } })), callOptions());
        const collected = await collectStream(stream);
        expect(collected.content).toBe(text);
        expect(collected.finishReason).toBe('stop');
        expect(collected.usage).toEqual({ prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 });
        expect(collected.chunks.length).toBeGreaterThan(3);
        expect(collected.chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.model === target.model)).toBe(true);
        expect(target.server.requests[0]?.summary.stream).toBe(true);
      }));

    it('leaves usage out of the stream unless the caller asked for it', () =>
      withTarget({}, async (target) => {
        const collected = await collectStream(target.provider.chatStream(seal(target, chatRequest(target, { stream: true })), callOptions()));
        expect(collected.usage).toBeNull();
        expect(collected.content.length).toBeGreaterThan(0);
      }));

    it('round-trips a tool call without streaming', () =>
      withTarget({}, async (target) => {
        target.server.script({ toolCalls: [{ id: 'call_2', name: 'lookup_lab', arguments: '{"test":"ldl","units":"mg/dL"}' }] });
        const result = await target.provider.chat(seal(target, toolRequest(target, false)), callOptions());
        const choice = result.choices[0];
        expect(choice?.finish_reason).toBe('tool_calls');
        expect(choice?.message.tool_calls?.[0]?.function.name).toBe('lookup_lab');
        expect(JSON.parse(choice?.message.tool_calls?.[0]?.function.arguments ?? 'null')).toEqual({ test: 'ldl', units: 'mg/dL' });
        expect(choice?.message.tool_calls?.[0]?.id).toMatch(/.+/);
        const seen = target.server.requests[0]?.summary;
        expect(seen?.toolNames).toEqual(['lookup_lab']);
        expect(seen?.toolUses.map((use) => [use.name, use.arguments])).toEqual([['lookup_lab', { test: 'a1c' }]]);
        expect(seen?.toolResults.map((result) => result.content)).toEqual(['6.1%']);
      }));

    it('assembles streamed tool-call arguments', () =>
      withTarget({}, async (target) => {
        target.server.script({ toolCalls: [{ id: 'call_3', name: 'lookup_lab', arguments: '{"test":"hemoglobin a1c","window_days":90}' }] });
        const collected = await collectStream(target.provider.chatStream(seal(target, toolRequest(target, true)), callOptions()));
        expect(collected.finishReason).toBe('tool_calls');
        expect(collected.toolCalls).toHaveLength(1);
        expect(collected.toolCalls[0]?.name).toBe('lookup_lab');
        expect(collected.toolCalls[0]?.id).toMatch(/.+/);
        expect(JSON.parse(collected.toolCalls[0]?.arguments ?? 'null')).toEqual({ test: 'hemoglobin a1c', window_days: 90 });
      }));

    it('passes response_format on', () =>
      withTarget({}, async (target) => {
        target.server.script({ text: '{"value":1}' });
        const request = chatRequest(target, { response_format: { type: 'json_schema', json_schema: { name: 'lab', schema } } });
        const result = await target.provider.chat(seal(target, request), callOptions());
        expect(result.choices[0]?.message.content).toBe('{"value":1}');
        const seen = target.server.requests[0]?.summary;
        if (features.responseFormat === 'native') expect(seen?.responseSchema).toEqual(schema);
        else expect(seen?.system).toContain(JSON.stringify(schema));
      }));

    it('passes an image part, translated to the vendor form', () =>
      withTarget({}, async (target) => {
        const request = chatRequest(target, {
          messages: [{ role: 'user', content: [{ type: 'text', text: 'Describe the image.' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } }] }],
        });
        await target.provider.chat(seal(target, request), callOptions());
        const seen = target.server.requests[0]?.summary;
        expect(seen?.texts).toContain('Describe the image.');
        expect(seen?.images).toEqual([{ mediaType: 'image/png', data: png }]);
      }));

    it('retries a 429 and then succeeds', () =>
      withTarget({ maxRetries: 2 }, async (target) => {
        target.server.script({ status: 429, retryAfterSeconds: 0 }, { text: 'after the wait' });
        const result = await target.provider.chat(seal(target, chatRequest(target)), callOptions());
        expect(result.choices[0]?.message.content).toBe('after the wait');
        expect(target.server.requests).toHaveLength(2);
      }));

    it('retries a 503 before the first streamed byte', () =>
      withTarget({ maxRetries: 2 }, async (target) => {
        target.server.script({ status: 503 }, { text: 'second try' });
        const collected = await collectStream(target.provider.chatStream(seal(target, chatRequest(target, { stream: true })), callOptions()));
        expect(collected.content).toBe('second try');
        expect(target.server.requests).toHaveLength(2);
      }));

    it('gives up after maxRetries on a persistent 500', () =>
      withTarget({ maxRetries: 2 }, async (target) => {
        target.server.script({ status: 500 }, { status: 500 }, { status: 500 }, { text: 'never reached' });
        await expectCode(target.provider.chat(seal(target, chatRequest(target)), callOptions()), 'provider_unavailable');
        expect(target.server.requests).toHaveLength(3);
      }));

    it('fails without retrying when the connection breaks after the first streamed byte', () =>
      withTarget({ maxRetries: 2 }, async (target) => {
        target.server.script({ text: 'x'.repeat(400), stallAfterFrames: 10 }, { text: 'must not be requested' });
        const iterator = target.provider.chatStream(seal(target, chatRequest(target, { stream: true })), callOptions())[Symbol.asyncIterator]();
        let content = '';
        while (content === '') {
          const next = await iterator.next();
          expect(next.done).toBe(false);
          if (!next.done) content += next.value.choices[0]?.delta.content ?? '';
        }
        target.server.interrupt();
        await expectCode((async () => { for (;;) { const next = await iterator.next(); if (next.done) return; } })(), 'provider_unavailable');
        expect(target.server.requests).toHaveLength(1);
      }));

    it('fails without retrying on a vendor error event mid-stream', () =>
      withTarget({ maxRetries: 2 }, async (target) => {
        target.server.script({ text: 'y'.repeat(400), streamErrorAfterFrames: 10 }, { text: 'must not be requested' });
        const chunks: ChatDelta[] = [];
        const run = (async () => {
          for await (const chunk of target.provider.chatStream(seal(target, chatRequest(target, { stream: true })), callOptions())) chunks.push(chunk);
        })();
        await expectCode(run, 'provider_unavailable');
        expect(chunks.some((chunk) => (chunk.choices[0]?.delta.content ?? '') !== '')).toBe(true);
        expect(target.server.requests).toHaveLength(1);
      }));

    it('times out with provider_timeout when the vendor does not answer', () =>
      withTarget({ timeoutMs: 150, maxRetries: 2 }, async (target) => {
        target.server.script({ hang: true }, { hang: true }, { hang: true });
        await expectCode(target.provider.chat(seal(target, chatRequest(target)), callOptions()), 'provider_timeout');
        await expectCode(drain(target.provider.chatStream(seal(target, chatRequest(target, { stream: true })), callOptions())), 'provider_timeout');
      }));

    it('times out with provider_timeout when a stream goes silent, without retrying', () =>
      withTarget({ timeoutMs: 200, maxRetries: 2 }, async (target) => {
        target.server.script({ text: 's'.repeat(400), stallAfterFrames: 10 }, { text: 'must not be requested' });
        const chunks: ChatDelta[] = [];
        const run = (async () => {
          for await (const chunk of target.provider.chatStream(seal(target, chatRequest(target, { stream: true })), callOptions())) chunks.push(chunk);
        })();
        await expectCode(run, 'provider_timeout');
        expect(chunks.length).toBeGreaterThan(0);
        expect(target.server.requests).toHaveLength(1);
        await target.server.waitForClientClose(1);
      }));

    it('honours the call deadline', () =>
      withTarget({}, async (target) => {
        target.server.script({ hang: true });
        await expectCode(target.provider.chat(seal(target, chatRequest(target)), callOptions({ deadlineMs: Date.now() + 150 })), 'provider_timeout');
      }));

    it('aborts the upstream request when the caller aborts', () =>
      withTarget({}, async (target) => {
        target.server.script({ hang: true });
        const controller = new AbortController();
        const pending = target.provider.chat(seal(target, chatRequest(target)), callOptions({ signal: controller.signal }));
        await target.server.waitForRequests(1);
        controller.abort();
        await expectCode(pending, 'provider_unavailable');
        await target.server.waitForClientClose(1);
      }));

    it('aborts the upstream stream when the caller stops reading', () =>
      withTarget({}, async (target) => {
        target.server.script({ text: 'z'.repeat(400), stallAfterFrames: 10 });
        for await (const chunk of target.provider.chatStream(seal(target, chatRequest(target, { stream: true })), callOptions())) {
          if (chunk.choices[0]?.delta.content) break;
        }
        await target.server.waitForClientClose(1);
      }));

    it('maps unreadable JSON to provider_bad_response without retrying', () =>
      withTarget({ maxRetries: 2 }, async (target) => {
        target.server.script({ rawBody: '{"choices": [ oops' }, { rawBody: '{"unexpected":true}' });
        await expectCode(target.provider.chat(seal(target, chatRequest(target)), callOptions()), 'provider_bad_response');
        await expectCode(target.provider.chat(seal(target, chatRequest(target)), callOptions()), 'provider_bad_response');
        expect(target.server.requests).toHaveLength(2);
      }));

    it('maps a 400 to provider_rejected without the vendor text', () =>
      withTarget({ maxRetries: 2 }, async (target) => {
        target.server.script({ status: 400 });
        const err = await expectCode(target.provider.chat(seal(target, chatRequest(target)), callOptions()), 'provider_rejected');
        expect(isGatewayError(err) ? err.detail : undefined).toMatchObject({ upstreamStatus: 400 });
        expect(target.server.requests).toHaveLength(1);
      }));

    it('refuses a payload sealed for another endpoint before any I/O', () =>
      withTarget({}, async (target) => {
        const outbound = sealOutbound(chatRequest(target), 'some-other-endpoint', 'raw');
        await expect(target.provider.chat(outbound, callOptions())).rejects.toMatchObject({ code: 'phi_egress_denied' });
        expect(target.server.requests).toHaveLength(0);
      }));

    it(features.embeddings ? 'embeds inputs in order' : 'refuses embeddings with a typed error', () =>
      withTarget({}, async (target) => {
        const request: EmbedRequest = { model: target.model, input: ['first text', 'second text'] };
        if (!features.embeddings) {
          await expectCode(target.provider.embed(seal(target, request), callOptions()), 'provider_rejected');
          return;
        }
        const result = await target.provider.embed(seal(target, request), callOptions());
        expect(result.data.map((item) => item.index)).toEqual([0, 1]);
        expect(result.data[0]?.embedding.length).toBeGreaterThan(0);
        expect(result.data[0]?.embedding).not.toEqual(result.data[1]?.embedding);
        expect(target.server.requests.flatMap((request) => request.summary.embedInputs ?? []).sort()).toEqual(['first text', 'second text']);
      }));
  });
}
