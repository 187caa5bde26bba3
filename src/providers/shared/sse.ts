// SPDX-License-Identifier: Apache-2.0
/**
 * A server-sent events reader per the WHATWG grammar: lines may be split across chunks, end in
 * `\n`, `\r\n` or `\r`, comments start with `:`, several `data:` lines join with `\n`, and a
 * blank line dispatches the event. UTF-8 sequences split across chunks are decoded correctly.
 */

export interface SseEvent {
  /** The `event:` field, or "message" when absent. */
  readonly event: string;
  readonly data: string;
}

/** Incremental parser; `push` returns the events completed by this chunk. */
export function createSseParser(): { push(chunk: Uint8Array | string): SseEvent[]; end(): SseEvent[] } {
  const decoder = new TextDecoder('utf-8');
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let pendingCr = false;

  function line(text: string, out: SseEvent[]): void {
    if (text === '') {
      if (data.length > 0) out.push({ event: event === '' ? 'message' : event, data: data.join('\n') });
      event = '';
      data = [];
      return;
    }
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
  }

  function scan(out: SseEvent[]): void {
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const ch = buffer.charCodeAt(i);
      if (pendingCr) {
        pendingCr = false;
        if (ch === 10 && i === start) {
          start = i + 1;
          continue;
        }
      }
      if (ch === 10 || ch === 13) {
        line(buffer.slice(start, i), out);
        if (ch === 13) {
          if (i + 1 < buffer.length) {
            if (buffer.charCodeAt(i + 1) === 10) i++;
          } else pendingCr = true;
        }
        start = i + 1;
      }
    }
    buffer = buffer.slice(start);
  }

  return {
    push(chunk) {
      buffer += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
      const out: SseEvent[] = [];
      scan(out);
      return out;
    },
    end() {
      buffer += decoder.decode();
      const out: SseEvent[] = [];
      scan(out);
      if (buffer !== '') line(buffer, out);
      buffer = '';
      // An unterminated final event is dropped, as the spec requires.
      return out;
    },
  };
}

/** Reads SSE events from a byte stream. */
export async function* readSse(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const parser = createSseParser();
  for await (const chunk of chunks) yield* parser.push(chunk);
  yield* parser.end();
}
