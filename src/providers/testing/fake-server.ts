// SPDX-License-Identifier: Apache-2.0
/**
 * The scriptable core shared by the fake vendor servers: a real `node:http` server on
 * 127.0.0.1 and a random port that records every request, answers from a queue of scripted
 * replies (text, tool calls, error status, delay, hang, broken or failing streams) and notices
 * when a client goes away. Each vendor module supplies only its wire format.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface FakeToolCall {
  readonly id?: string | undefined;
  readonly name: string;
  /** JSON text of the arguments. */
  readonly arguments: string;
}

/** One scripted answer. With no field set, the server answers `defaultText`. */
export interface FakeReply {
  readonly text?: string | undefined;
  readonly toolCalls?: readonly FakeToolCall[] | undefined;
  /** Canonical finish reason; the server writes its vendor's equivalent. */
  readonly finishReason?: 'stop' | 'length' | 'tool_calls' | 'content_filter' | undefined;
  readonly usage?: { readonly input: number; readonly output: number } | undefined;
  /** Answer with this non-2xx status and the vendor's error body. */
  readonly status?: number | undefined;
  /** Seconds sent in `retry-after` with an error status. Default 0 for 429 and 503. */
  readonly retryAfterSeconds?: number | undefined;
  /** Wait this long before answering. */
  readonly delayMs?: number | undefined;
  /** Never answer; the request stays open until the client leaves or the server closes. */
  readonly hang?: boolean | undefined;
  /** Answer 200 with this body verbatim (e.g. broken JSON). */
  readonly rawBody?: string | undefined;
  /** Streaming: after this many frames, stop writing and wait for `interrupt()` or the client. */
  readonly stallAfterFrames?: number | undefined;
  /** Streaming: after this many frames, send the vendor's in-stream error event and end. */
  readonly streamErrorAfterFrames?: number | undefined;
  /** Characters per streamed text fragment. Default 4. */
  readonly chunkChars?: number | undefined;
  /** Embedding vectors to return, one per input; deterministic values when absent. */
  readonly embeddings?: readonly (readonly number[])[] | undefined;
}

/** What the vendor understood from a request, in vendor-neutral terms, for assertions. */
export interface RequestSummary {
  readonly kind: 'chat' | 'embed' | 'other';
  readonly model: string;
  readonly stream: boolean;
  readonly system: string;
  /** User and assistant text in order. */
  readonly texts: readonly string[];
  readonly images: readonly { readonly mediaType?: string | undefined; readonly data?: string | undefined; readonly url?: string | undefined }[];
  readonly toolNames: readonly string[];
  readonly toolUses: readonly { readonly id: string; readonly name: string; readonly arguments: unknown }[];
  readonly toolResults: readonly { readonly id: string; readonly content: string }[];
  /** The JSON schema the vendor was asked to answer in, if any. */
  readonly responseSchema?: unknown;
  readonly maxTokens?: number | undefined;
  /** OpenAI streams only: the client asked for a usage chunk (`stream_options.include_usage`). */
  readonly streamUsage?: boolean | undefined;
  readonly embedInputs?: readonly string[] | undefined;
}

export interface RecordedRequest {
  readonly method: string;
  /** Path with query string, as received. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The client's source port: equal ports mean a reused (pooled) connection. */
  readonly remotePort: number | undefined;
  readonly rawBody: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  readonly body: unknown;
  readonly summary: RequestSummary;
}

/** The API every fake vendor server offers. */
export interface FakeVendorServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** Every model request received, in order (side routes such as token endpoints excluded). */
  readonly requests: RecordedRequest[];
  /** Queues replies; each request takes the next, then `defaultText` answers. */
  script(...replies: FakeReply[]): void;
  /** Destroys the connections of stalled streams, as a crashing vendor would. */
  interrupt(): void;
  /** Resolves once `count` requests have arrived. */
  waitForRequests(count?: number): Promise<void>;
  /** Resolves once `count` responses were cut short because the client went away. */
  waitForClientClose(count?: number): Promise<void>;
  /** How many responses the client abandoned before they ended. */
  readonly clientCloses: number;
  close(): Promise<void>;
}

export const emptySummary: RequestSummary = {
  kind: 'other',
  model: '',
  stream: false,
  system: '',
  texts: [],
  images: [],
  toolNames: [],
  toolUses: [],
  toolResults: [],
};

/** What a vendor module supplies. */
export interface VendorWire {
  /** Handles vendor routes that are not model calls (e.g. an OAuth token endpoint); true when handled. */
  route?(request: IncomingMessage, response: ServerResponse, rawBody: string): boolean | Promise<boolean>;
  /** True when the credentials on the request are the ones the test configured. */
  authorize(request: IncomingMessage, rawBody: string): boolean;
  summarize(path: string, body: unknown): RequestSummary;
  errorBody(status: number): string;
  completion(reply: FakeReply, summary: RequestSummary): string;
  embedding(reply: FakeReply, summary: RequestSummary): string;
  readonly streamContentType: string;
  streamFrames(reply: FakeReply, summary: RequestSummary): (string | Buffer)[];
  streamError(): string | Buffer;
  readonly jsonContentType?: string;
  /** Status for bad credentials. Default 401. */
  readonly authFailureStatus?: number;
}

export const defaultText = 'Hello from the fake vendor.';

/** Splits text into fragments of `size` characters (at least one fragment). */
export function fragments(text: string, size = 4): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length === 0 ? [''] : out;
}

/** Usage figures for a reply: scripted, or derived from the text lengths. */
export function replyUsage(reply: FakeReply, summary: RequestSummary): { input: number; output: number } {
  return reply.usage ?? { input: 7 + summary.texts.join('').length, output: Math.max(1, (reply.text ?? '').length) };
}

/** Deterministic small vectors for fake embeddings. */
export function fakeVector(input: string, index: number): number[] {
  let h = 2166136261 ^ index;
  for (let i = 0; i < input.length; i++) h = Math.imul(h ^ input.charCodeAt(i), 16777619);
  return Array.from({ length: 8 }, (_, i) => ((((h >>> i) & 0xff) / 255) * 2 - 1));
}

/** The reply with defaults applied: text when nothing else was scripted. */
export function normaliseReply(reply: FakeReply): FakeReply {
  if (reply.text === undefined && reply.toolCalls === undefined) return { ...reply, text: defaultText };
  return reply;
}

/** Canonical finish reason of a reply. */
export function replyFinish(reply: FakeReply): 'stop' | 'length' | 'tool_calls' | 'content_filter' {
  return reply.finishReason ?? (reply.toolCalls && reply.toolCalls.length > 0 ? 'tool_calls' : 'stop');
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts a fake vendor server speaking `wire`. */
export async function startFakeServer(wire: VendorWire): Promise<FakeVendorServer> {
  const queue: FakeReply[] = [];
  const requests: RecordedRequest[] = [];
  const stalled = new Set<Socket>();
  let clientCloses = 0;
  const waiters = new Set<() => void>();
  const notify = (): void => {
    for (const waiter of [...waiters]) waiter();
  };
  const until = (condition: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      if (condition()) return resolve();
      const check = (): void => {
        if (condition()) {
          waiters.delete(check);
          resolve();
        }
      };
      waiters.add(check);
    });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const rawBody = await readBody(request);
    const path = request.url ?? '/';
    response.on('close', () => {
      if (!response.writableFinished) {
        clientCloses++;
        notify();
      }
    });
    // Side routes (token endpoints) are the vendor module's to record; `requests` holds model calls only.
    if (await wire.route?.(request, response, rawBody)) return;
    const body = parseJson(rawBody);
    const summary = wire.summarize(path, body);
    requests.push({ method: request.method ?? '', path, headers: request.headers, remotePort: request.socket.remotePort, rawBody, body, summary });
    notify();
    const reply = normaliseReply(queue.shift() ?? {});
    if (!wire.authorize(request, rawBody)) {
      const status = wire.authFailureStatus ?? 401;
      response.writeHead(status, { 'content-type': 'application/json' }).end(wire.errorBody(status));
      return;
    }
    if (reply.delayMs) await wait(reply.delayMs);
    if (reply.hang) return;
    if (reply.status !== undefined && reply.status >= 300) {
      const retryAfter = reply.retryAfterSeconds ?? (reply.status === 429 || reply.status === 503 ? 0 : undefined);
      response
        .writeHead(reply.status, { 'content-type': 'application/json', ...(retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }) })
        .end(wire.errorBody(reply.status));
      return;
    }
    if (reply.rawBody !== undefined) {
      response.writeHead(200, { 'content-type': wire.jsonContentType ?? 'application/json' }).end(reply.rawBody);
      return;
    }
    if (summary.kind === 'embed') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(wire.embedding(reply, summary));
      return;
    }
    if (!summary.stream) {
      response.writeHead(200, { 'content-type': wire.jsonContentType ?? 'application/json' }).end(wire.completion(reply, summary));
      return;
    }
    const frames = wire.streamFrames(reply, summary);
    response.writeHead(200, { 'content-type': wire.streamContentType, 'cache-control': 'no-cache' });
    for (const [index, frame] of frames.entries()) {
      if (reply.stallAfterFrames === index) {
        stalled.add(response.socket as Socket);
        return;
      }
      if (reply.streamErrorAfterFrames === index) {
        response.end(wire.streamError());
        return;
      }
      await new Promise<void>((resolve) => response.write(frame, () => resolve()));
      if (response.destroyed) return;
    }
    response.end();
  }

  const server = createServer((request, response) => {
    handle(request, response).catch(() => response.destroy());
  });
  // Long enough that undici (which subtracts a 2 s safety margin from the hint) reuses connections.
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: (...replies) => {
      queue.push(...replies);
    },
    interrupt: () => {
      for (const socket of stalled) socket.destroy();
      stalled.clear();
    },
    waitForRequests: (count = 1) => until(() => requests.length >= count),
    waitForClientClose: (count = 1) => until(() => clientCloses >= count),
    get clientCloses() {
      return clientCloses;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
