// SPDX-License-Identifier: Apache-2.0
/**
 * Server-Sent Events framing for Anthropic streams
 * (https://docs.anthropic.com/en/api/messages-streaming): each event is an `event:` line naming
 * the type, one `data:` line of JSON and a blank line. There is no `[DONE]` terminator;
 * `message_stop` ends the stream.
 */
import type { AnthropicStreamEvent } from './translate.js';

/** A `ping` frame; Anthropic sends these to keep idle streams open and the SDKs skip them. */
export const ANTHROPIC_PING = 'event: ping\ndata: {"type":"ping"}\n\n';

/** Response headers for a Messages stream. */
export const ANTHROPIC_SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
});

/** Encodes one event as an SSE frame. JSON never contains a raw newline, so one data line suffices. */
export function encodeAnthropicEvent(event: AnthropicStreamEvent): string {
  return 'event: ' + event.event + '\ndata: ' + JSON.stringify(event.data) + '\n\n';
}

/** Encodes a whole event stream; errors from the source propagate to the consumer. */
export async function* encodeAnthropicStream(events: AsyncIterable<AnthropicStreamEvent>): AsyncGenerator<string, void, undefined> {
  for await (const event of events) yield 'event: ' + event.event + '\ndata: ' + JSON.stringify(event.data) + '\n\n';
}
