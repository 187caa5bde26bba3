// SPDX-License-Identifier: Apache-2.0
/**
 * Local servers that speak each vendor's real wire format, for any module's tests: start one,
 * point an endpoint's `baseUrl` at `server.url`, `script()` the answers, inspect `requests`.
 *
 * @example
 * const server = await startFakeOpenAiServer({ apiKey: 'sk-test' });
 * server.script({ status: 429 }, { text: 'ok', usage: { input: 3, output: 1 } });
 * // … configure an `openai` endpoint with baseUrl `${server.url}/v1` and call it …
 * expect(server.requests).toHaveLength(2);
 * await server.close();
 */
export { collectStream } from './collect-stream.js';
export type { CollectedStream } from './collect-stream.js';
export { defaultText } from './fake-server.js';
export type { FakeReply, FakeToolCall, FakeVendorServer, RecordedRequest, RequestSummary } from './fake-server.js';
export { startFakeOpenAiServer } from './fake-openai-server.js';
export type { FakeOpenAiOptions } from './fake-openai-server.js';
export { startFakeAnthropicServer } from './fake-anthropic-server.js';
export type { FakeAnthropicOptions } from './fake-anthropic-server.js';
export { fakeAwsCredentials, startFakeBedrockServer, verifySigV4 } from './fake-bedrock-server.js';
export type { FakeBedrockOptions } from './fake-bedrock-server.js';
export { startFakeVertexServer } from './fake-vertex-server.js';
export type { FakeVertexOptions, FakeVertexServer } from './fake-vertex-server.js';
