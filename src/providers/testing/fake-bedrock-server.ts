// SPDX-License-Identifier: Apache-2.0
/**
 * A local server speaking AWS Bedrock Runtime: `POST /model/{modelId}/converse`,
 * `/converse-stream` (binary event-stream framing with both CRCs) and `/invoke` (Titan text
 * embeddings). Every request's SigV4 Authorization header is parsed and its signature
 * recomputed with the test secret; anything else is refused with 403 as AWS would.
 */
import type { IncomingMessage } from 'node:http';
import { encodeEventStreamMessage } from '../bedrock/event-stream.js';
import { canonicalRequest, signature } from '../bedrock/sigv4.js';
import { emptySummary, fakeVector, fragments, replyFinish, replyUsage, startFakeServer } from './fake-server.js';
import type { FakeReply, FakeVendorServer, RequestSummary } from './fake-server.js';

export interface FakeBedrockOptions {
  readonly accessKeyId?: string | undefined;
  readonly secretAccessKey?: string | undefined;
  readonly region?: string | undefined;
}

/** The credentials the fake accepts by default. */
export const fakeAwsCredentials = { accessKeyId: 'AKIAFAKEFAKEFAKE', secretAccessKey: 'fake/secret/key/for/tests/only' } as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const stopReasons = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use', content_filter: 'content_filtered' } as const;

/** Verifies a SigV4-signed request; returns false on any malformation or mismatch. */
export function verifySigV4(request: IncomingMessage, rawBody: string, expected: { accessKeyId: string; secretAccessKey: string; region: string; service: string }): boolean {
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(request.headers.authorization ?? '');
  if (!match) return false;
  const [, keyId, day, region, service, signedHeaders, sig] = match;
  const date = request.headers['x-amz-date'];
  if (keyId !== expected.accessKeyId || region !== expected.region || service !== expected.service || typeof date !== 'string' || !date.startsWith(day ?? '-')) return false;
  const names = (signedHeaders ?? '').split(';');
  if (!names.includes('host') || !names.includes('x-amz-date')) return false;
  const headers: Record<string, string> = {};
  for (const name of names) {
    const value = request.headers[name];
    if (typeof value !== 'string') return false;
    headers[name] = value;
  }
  const url = request.url ?? '/';
  const q = url.indexOf('?');
  const { request: canonical } = canonicalRequest(request.method ?? 'GET', q === -1 ? url : url.slice(0, q), q === -1 ? '' : url.slice(q + 1), headers, rawBody);
  return signature(expected.secretAccessKey, date, expected.region, expected.service, canonical) === sig;
}

function textOf(content: unknown): string {
  return Array.isArray(content) ? content.map((block) => (isRecord(block) && typeof block.text === 'string' ? block.text : '')).join('') : '';
}

/** Reads a Converse or InvokeModel body the way Bedrock would. */
export function summarizeBedrockBody(path: string, body: unknown): RequestSummary {
  const match = /^\/model\/([^/]+)\/(converse|converse-stream|invoke)$/.exec(path.split('?')[0] ?? '');
  if (!match || !isRecord(body)) return emptySummary;
  const model = decodeURIComponent(match[1] ?? '');
  if (match[2] === 'invoke') return { ...emptySummary, kind: 'embed', model, embedInputs: [String(body.inputText)] };
  const texts: string[] = [];
  const images: { mediaType?: string; data?: string }[] = [];
  const toolUses: { id: string; name: string; arguments: unknown }[] = [];
  const toolResults: { id: string; content: string }[] = [];
  for (const message of Array.isArray(body.messages) ? body.messages.filter(isRecord) : []) {
    const blocks = Array.isArray(message.content) ? message.content.filter(isRecord) : [];
    const text = textOf(blocks);
    if (text !== '') texts.push(text);
    for (const block of blocks) {
      if (isRecord(block.image) && isRecord(block.image.source)) images.push({ mediaType: `image/${String(block.image.format)}`, data: String(block.image.source.bytes) });
      if (isRecord(block.toolUse)) toolUses.push({ id: String(block.toolUse.toolUseId), name: String(block.toolUse.name), arguments: block.toolUse.input });
      if (isRecord(block.toolResult)) toolResults.push({ id: String(block.toolResult.toolUseId), content: textOf(block.toolResult.content) });
    }
  }
  const toolConfig = isRecord(body.toolConfig) ? body.toolConfig : {};
  const inference = isRecord(body.inferenceConfig) ? body.inferenceConfig : {};
  return {
    kind: 'chat',
    model,
    stream: match[2] === 'converse-stream',
    system: textOf(body.system),
    texts,
    images,
    toolNames: Array.isArray(toolConfig.tools) ? toolConfig.tools.map((tool) => (isRecord(tool) && isRecord(tool.toolSpec) ? String(tool.toolSpec.name) : '')) : [],
    toolUses,
    toolResults,
    maxTokens: typeof inference.maxTokens === 'number' ? inference.maxTokens : undefined,
  };
}

const event = (type: string, payload: Record<string, unknown>): Buffer =>
  encodeEventStreamMessage({ ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' }, JSON.stringify({ ...payload, p: 'abcdefgh' }));

/** Starts a fake Bedrock Runtime server. */
export function startFakeBedrockServer(options: FakeBedrockOptions = {}): Promise<FakeVendorServer> {
  const expected = {
    accessKeyId: options.accessKeyId ?? fakeAwsCredentials.accessKeyId,
    secretAccessKey: options.secretAccessKey ?? fakeAwsCredentials.secretAccessKey,
    region: options.region ?? 'us-east-1',
    service: 'bedrock',
  };
  return startFakeServer({
    authorize: (request, rawBody) => verifySigV4(request, rawBody, expected),
    authFailureStatus: 403,
    summarize: summarizeBedrockBody,
    errorBody: (status) => JSON.stringify({ message: `vendor-error-text ${status} mentioning Jane Roe` }),
    completion: (reply, summary) => {
      const usage = replyUsage(reply, summary);
      const content: unknown[] = [];
      if (reply.text !== undefined) content.push({ text: reply.text });
      reply.toolCalls?.forEach((call, index) => content.push({ toolUse: { toolUseId: call.id ?? `tooluse_fake${index}`, name: call.name, input: JSON.parse(call.arguments) as unknown } }));
      return JSON.stringify({
        output: { message: { role: 'assistant', content } },
        stopReason: stopReasons[replyFinish(reply)],
        usage: { inputTokens: usage.input, outputTokens: usage.output, totalTokens: usage.input + usage.output },
        metrics: { latencyMs: 12 },
      });
    },
    embedding: (reply, summary) => {
      const input = summary.embedInputs?.[0] ?? '';
      return JSON.stringify({ embedding: reply.embeddings?.[0] ?? fakeVector(input, 0), inputTextTokenCount: input.length });
    },
    streamContentType: 'application/vnd.amazon.eventstream',
    streamFrames: (reply: FakeReply, summary) => {
      const usage = replyUsage(reply, summary);
      const messages: Buffer[] = [event('messageStart', { role: 'assistant' })];
      let index = 0;
      if (reply.text !== undefined) {
        for (const piece of fragments(reply.text, reply.chunkChars)) messages.push(event('contentBlockDelta', { contentBlockIndex: index, delta: { text: piece } }));
        messages.push(event('contentBlockStop', { contentBlockIndex: index }));
        index++;
      }
      reply.toolCalls?.forEach((call, n) => {
        messages.push(event('contentBlockStart', { contentBlockIndex: index, start: { toolUse: { toolUseId: call.id ?? `tooluse_fake${n}`, name: call.name } } }));
        for (const piece of fragments(call.arguments, 5)) messages.push(event('contentBlockDelta', { contentBlockIndex: index, delta: { toolUse: { input: piece } } }));
        messages.push(event('contentBlockStop', { contentBlockIndex: index }));
        index++;
      });
      messages.push(event('messageStop', { stopReason: stopReasons[replyFinish(reply)] }));
      messages.push(event('metadata', { usage: { inputTokens: usage.input, outputTokens: usage.output, totalTokens: usage.input + usage.output }, metrics: { latencyMs: 20 } }));
      // Each message goes out in two writes, so clients see frames split mid-prelude.
      return messages.flatMap((message) => [message.subarray(0, 5), message.subarray(5)]);
    },
    streamError: () =>
      encodeEventStreamMessage(
        { ':exception-type': 'modelStreamErrorException', ':content-type': 'application/json', ':message-type': 'exception' },
        JSON.stringify({ message: 'vendor-error-text stream failed' }),
      ),
  });
}
