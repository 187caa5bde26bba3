// SPDX-License-Identifier: Apache-2.0
/**
 * Server-Sent Events framing for OpenAI-compatible streams
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html): every chunk is one
 * `data:` line followed by a blank line, and the stream ends with `data: [DONE]`.
 *
 * This runs once per streamed token, so it is plain string concatenation around a single
 * `JSON.stringify`. JSON never contains a raw newline, so one `data:` line is always enough.
 */
import type { ChatDelta } from '../../providers/types.js';
import type { ErrorBody } from '../../kernel/errors.js';

/** The terminating frame of an OpenAI stream. */
export const SSE_DONE = 'data: [DONE]\n\n';

/** Response headers for an SSE stream; `x-accel-buffering` stops nginx from holding chunks back. */
export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
});

/** Encodes one chat chunk as an SSE frame: `data: {json}\n\n`. */
export function encodeChatChunk(chunk: ChatDelta): string {
  return 'data: ' + JSON.stringify(chunk) + '\n\n';
}

/**
 * Encodes an error that happens after the stream has started. OpenAI sends the error body as a
 * plain data frame, and the official SDKs raise it as an `APIError`.
 */
export function encodeStreamError(body: ErrorBody): string {
  return 'data: ' + JSON.stringify(body) + '\n\n';
}

/** An SSE comment line; proxies and clients ignore it, so it keeps idle connections open. */
export const SSE_KEEPALIVE = ': keep-alive\n\n';

/**
 * Encodes a whole stream of chunks, ending with `[DONE]` when the source completes. An error
 * thrown by the source propagates to the consumer, which decides how to report it.
 */
export async function* encodeChatStream(chunks: AsyncIterable<ChatDelta>): AsyncGenerator<string, void, undefined> {
  for await (const chunk of chunks) yield 'data: ' + JSON.stringify(chunk) + '\n\n';
  yield SSE_DONE;
}
