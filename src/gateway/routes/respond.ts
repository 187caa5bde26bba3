// SPDX-License-Identifier: Apache-2.0
/**
 * Writing answers: JSON bodies, OpenAI error bodies and SSE streams, straight to the Node
 * response. Streams honour back-pressure and stop as soon as the client goes away.
 */
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Logger } from '../../telemetry/logger.js';
import type { Metrics } from '../../telemetry/metrics.js';
import { GatewayError, toErrorBody, type ErrorBody } from '../../kernel/errors.js';
import type { NodeContext } from '../../http/request-meta.js';

/** Headers on every API answer: nothing cached, nothing sniffed. */
const apiHeaders = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' } as const;

/** Sends a JSON answer. */
export function sendJson(c: NodeContext, status: number, body: unknown, requestId: string, extraHeaders?: Readonly<Record<string, string>>): Response {
  const { outgoing } = c.env;
  const text = JSON.stringify(body);
  outgoing.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-request-id': requestId,
    ...apiHeaders,
    ...extraHeaders,
  });
  outgoing.end(text);
  return RESPONSE_ALREADY_SENT;
}

/** Maps any error to its registry answer; unexpected errors are logged with their stack, never sent. */
export function sendError(
  c: NodeContext,
  err: unknown,
  requestId: string,
  deps: { logger: Logger; metrics: Metrics },
  render: (status: number, body: ErrorBody) => unknown = (_status, body) => body,
): Response {
  const { status, body } = toErrorBody(err);
  deps.metrics.refusals.inc({ code: body.error.code });
  if (!(err instanceof GatewayError) || body.error.code === 'internal_error' || body.error.code === 'audit_unavailable') {
    deps.logger.error({ requestId, err }, 'request failed');
  }
  const headers = err instanceof GatewayError ? err.headers : undefined;
  if (c.env.outgoing.headersSent) {
    c.env.outgoing.destroy();
    return RESPONSE_ALREADY_SENT;
  }
  return sendJson(c, status, render(status, body), requestId, headers);
}

/**
 * Streams server-sent events. `encode` turns each item into SSE text; `onError` renders a
 * failure after headers are sent (the stream then ends without its terminator, so clients see
 * an incomplete answer rather than a truncated one passed off as complete).
 */
export async function sendSse<T>(
  c: NodeContext,
  items: AsyncIterable<T>,
  requestId: string,
  encode: (item: T) => string,
  terminator: string,
  onError: (err: unknown) => string,
): Promise<Response> {
  const { outgoing } = c.env;
  outgoing.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    ...apiHeaders,
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': requestId,
  });
  const iterator = items[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      if (outgoing.destroyed) {
        await iterator.return?.();
        return RESPONSE_ALREADY_SENT;
      }
      if (!outgoing.write(encode(next.value))) await waitForDrain(outgoing);
    }
    outgoing.end(terminator);
  } catch (err) {
    if (!outgoing.destroyed) outgoing.end(onError(err));
  }
  return RESPONSE_ALREADY_SENT;
}

function waitForDrain(outgoing: NodeContext['env']['outgoing']): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      outgoing.off('drain', done);
      outgoing.off('close', done);
      resolve();
    };
    outgoing.once('drain', done);
    outgoing.once('close', done);
  });
}
