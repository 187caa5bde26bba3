// SPDX-License-Identifier: Apache-2.0
/**
 * A local server speaking Vertex AI's Gemini routes
 * (`/v1/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent`,
 * `:streamGenerateContent?alt=sse`, `:predict`) and Google's OAuth token endpoint (`/token`).
 * It makes its own service-account key; the token endpoint verifies the RS256 assertion
 * against it, and model routes accept only bearer tokens the endpoint issued.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { jwtVerify } from 'jose';
import { emptySummary, fakeVector, fragments, replyFinish, replyUsage, startFakeServer } from './fake-server.js';
import type { FakeReply, FakeVendorServer, RecordedRequest, RequestSummary } from './fake-server.js';

export interface FakeVertexServer extends FakeVendorServer {
  /** A service-account JSON key (as text) whose assertions the token endpoint accepts. */
  readonly serviceAccountKey: string;
  /** This server's token endpoint. */
  readonly tokenUrl: string;
  /** Token exchanges received. */
  readonly tokenRequests: RecordedRequest[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const finishReasons = { stop: 'STOP', length: 'MAX_TOKENS', tool_calls: 'STOP', content_filter: 'SAFETY' } as const;
const statuses: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 503: 'UNAVAILABLE' };

function partsText(parts: unknown): string {
  return Array.isArray(parts) ? parts.map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : '')).join('') : '';
}

/** Reads a Gemini or predict body the way Vertex would. */
export function summarizeVertexBody(path: string, body: unknown): RequestSummary {
  const match = /\/publishers\/google\/models\/([^/:]+):(generateContent|streamGenerateContent|predict)/.exec(path);
  if (!match || !isRecord(body)) return emptySummary;
  const model = decodeURIComponent(match[1] ?? '');
  if (match[2] === 'predict') {
    const instances = Array.isArray(body.instances) ? body.instances.filter(isRecord) : [];
    return { ...emptySummary, kind: 'embed', model, embedInputs: instances.map((instance) => String(instance.content)) };
  }
  const texts: string[] = [];
  const images: { mediaType?: string; data?: string; url?: string }[] = [];
  const toolUses: { id: string; name: string; arguments: unknown }[] = [];
  const toolResults: { id: string; content: string }[] = [];
  for (const content of Array.isArray(body.contents) ? body.contents.filter(isRecord) : []) {
    const parts = Array.isArray(content.parts) ? content.parts.filter(isRecord) : [];
    const text = partsText(parts);
    if (text !== '') texts.push(text);
    for (const part of parts) {
      if (isRecord(part.inlineData)) images.push({ mediaType: String(part.inlineData.mimeType), data: String(part.inlineData.data) });
      if (isRecord(part.fileData)) images.push({ mediaType: String(part.fileData.mimeType), url: String(part.fileData.fileUri) });
      if (isRecord(part.functionCall)) toolUses.push({ id: String(part.functionCall.name), name: String(part.functionCall.name), arguments: part.functionCall.args });
      if (isRecord(part.functionResponse)) {
        const response = part.functionResponse.response;
        toolResults.push({ id: String(part.functionResponse.name), content: isRecord(response) ? String(response.content) : '' });
      }
    }
  }
  const tools = Array.isArray(body.tools) ? body.tools.filter(isRecord) : [];
  const generation = isRecord(body.generationConfig) ? body.generationConfig : {};
  return {
    kind: 'chat',
    model,
    stream: match[2] === 'streamGenerateContent',
    system: isRecord(body.systemInstruction) ? partsText(body.systemInstruction.parts) : '',
    texts,
    images,
    toolNames: tools.flatMap((tool) => (Array.isArray(tool.functionDeclarations) ? tool.functionDeclarations.map((fn) => (isRecord(fn) ? String(fn.name) : '')) : [])),
    toolUses,
    toolResults,
    responseSchema: generation.responseJsonSchema,
    maxTokens: typeof generation.maxOutputTokens === 'number' ? generation.maxOutputTokens : undefined,
  };
}

function geminiChunk(parts: unknown[], extra: Record<string, unknown> = {}, finish?: string): Record<string, unknown> {
  return { candidates: [{ content: { role: 'model', parts }, index: 0, ...(finish ? { finishReason: finish } : {}) }], modelVersion: 'gemini-fake-001', responseId: 'resp-fake01', ...extra };
}

export interface FakeVertexOptions {
  /** Generate a key pair for this server alone instead of the per-process shared one. */
  readonly uniqueKey?: boolean | undefined;
}

let sharedKeyPair: { privateKey: KeyObject; publicKey: KeyObject } | undefined;
const newKeyPair = (): { privateKey: KeyObject; publicKey: KeyObject } => generateKeyPairSync('rsa', { modulusLength: 2048 });

/**
 * Starts a fake Vertex AI server with its own token endpoint. RSA key generation is slow, so
 * servers share one key pair per process unless `uniqueKey` is set; tokens are per server.
 */
export async function startFakeVertexServer(options: FakeVertexOptions = {}): Promise<FakeVertexServer> {
  const { privateKey, publicKey } = options.uniqueKey ? newKeyPair() : (sharedKeyPair ??= newKeyPair());
  const clientEmail = 'phigate-test@fake-project.iam.gserviceaccount.com';
  const issued = new Set<string>();
  const tokenRequests: RecordedRequest[] = [];
  let tokenUrl = '';

  const server = await startFakeServer({
    route: async (request, response, rawBody) => {
      if (request.method !== 'POST' || request.url !== '/token') return false;
      tokenRequests.push({ method: 'POST', path: '/token', headers: request.headers, remotePort: request.socket.remotePort, rawBody, body: undefined, summary: emptySummary });
      const form = new URLSearchParams(rawBody);
      try {
        if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') throw new Error('grant');
        const { payload } = await jwtVerify(form.get('assertion') ?? '', publicKey, { issuer: clientEmail, audience: tokenUrl, algorithms: ['RS256'] });
        if (payload.scope !== 'https://www.googleapis.com/auth/cloud-platform') throw new Error('scope');
      } catch {
        response.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_grant', error_description: 'Invalid JWT Signature.' }));
        return true;
      }
      const token = `ya29.fake-${randomBytes(12).toString('hex')}`;
      issued.add(token);
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, expires_in: 3599, token_type: 'Bearer' }));
      return true;
    },
    authorize: (request) => issued.has((request.headers.authorization ?? '').replace(/^Bearer /, '')),
    summarize: summarizeVertexBody,
    errorBody: (status) => JSON.stringify({ error: { code: status, message: `vendor-error-text about Jane Roe (${status})`, status: statuses[status] ?? 'INTERNAL' } }),
    completion: (reply, summary) => {
      const usage = replyUsage(reply, summary);
      const parts: unknown[] = [];
      if (reply.text !== undefined) parts.push({ text: reply.text });
      for (const call of reply.toolCalls ?? []) parts.push({ functionCall: { name: call.name, args: JSON.parse(call.arguments) as unknown } });
      return JSON.stringify(geminiChunk(parts, { usageMetadata: { promptTokenCount: usage.input, candidatesTokenCount: usage.output, totalTokenCount: usage.input + usage.output } }, finishReasons[replyFinish(reply)]));
    },
    embedding: (reply, summary) =>
      JSON.stringify({
        predictions: (summary.embedInputs ?? []).map((input, index) => ({ embeddings: { values: reply.embeddings?.[index] ?? fakeVector(input, index), statistics: { token_count: input.length, truncated: false } } })),
        metadata: { billableCharacterCount: 10 },
      }),
    streamContentType: 'text/event-stream',
    streamFrames: (reply: FakeReply, summary) => {
      const usage = replyUsage(reply, summary);
      const frames: string[] = [];
      const data = (value: unknown): string => `data: ${JSON.stringify(value)}\r\n\r\n`;
      if (reply.text !== undefined) for (const piece of fragments(reply.text, reply.chunkChars)) frames.push(data(geminiChunk([{ text: piece }])));
      if (reply.toolCalls && reply.toolCalls.length > 0) {
        frames.push(data(geminiChunk(reply.toolCalls.map((call) => ({ functionCall: { name: call.name, args: JSON.parse(call.arguments) as unknown } })))));
      }
      frames.push(data(geminiChunk([{ text: '' }], { usageMetadata: { promptTokenCount: usage.input, candidatesTokenCount: usage.output, totalTokenCount: usage.input + usage.output } }, finishReasons[replyFinish(reply)])));
      return frames;
    },
    streamError: () => `data: ${JSON.stringify({ error: { code: 500, message: 'vendor-error-text internal', status: 'INTERNAL' } })}\r\n\r\n`,
  });
  tokenUrl = `${server.url}/token`;
  const serviceAccountKey = JSON.stringify({
    type: 'service_account',
    project_id: 'fake-project',
    private_key_id: 'fake-key-1',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: clientEmail,
    token_uri: tokenUrl,
  });
  return Object.assign(server, { serviceAccountKey, tokenUrl, tokenRequests });
}
