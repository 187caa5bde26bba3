// SPDX-License-Identifier: Apache-2.0
/**
 * Builds the pipeline's view of an HTTP request from the Node request: request id, client
 * address, a disconnect signal, and a body reader with a hard size limit. The body is read
 * straight from the socket stream (no Web-stream conversion on the hot path).
 */
import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import type { RequestMeta } from '../gateway/pipeline/context.js';
import { GatewayError } from '../kernel/errors.js';
import { uuidv7 } from '../kernel/ids.js';

const requestIdPattern = /^[A-Za-z0-9._-]{8,128}$/;

export type NodeContext = Context<{ Bindings: HttpBindings }>;

/** Uses a well-formed incoming `x-request-id`, otherwise a new UUIDv7. */
export function requestIdOf(c: NodeContext): string {
  const incoming = c.req.header('x-request-id');
  return incoming !== undefined && requestIdPattern.test(incoming) ? incoming : uuidv7();
}

export function createRequestMeta(c: NodeContext, requestId: string, maxBodyBytes: number, now: number): RequestMeta {
  const { incoming, outgoing } = c.env;
  const controller = new AbortController();
  // The response closing before it finished means the client went away: cancel upstream work.
  outgoing.once('close', () => {
    if (!outgoing.writableFinished) controller.abort();
  });
  return {
    requestId,
    receivedAt: now,
    startedNs: process.hrtime.bigint(),
    clientIp: incoming.socket.remoteAddress,
    userAgent: incoming.headers['user-agent'],
    signal: controller.signal,
    header: (name) => {
      const value = incoming.headers[name];
      return Array.isArray(value) ? value[0] : value;
    },
    readBody: () => readBody(c, maxBodyBytes),
  };
}

function readBody(c: NodeContext, maxBytes: number): Promise<string> {
  const { incoming } = c.env;
  const type = incoming.headers['content-type'];
  if (type !== undefined && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
    return Promise.reject(new GatewayError('unsupported_media_type'));
  }
  const declared = Number(incoming.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    return Promise.reject(new GatewayError('request_too_large', { detail: { limitBytes: maxBytes } }));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        // Stop reading; the error response is sent and the connection closed after it.
        incoming.pause();
        reject(new GatewayError('request_too_large', { detail: { limitBytes: maxBytes } }));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks, size).toString('utf8'));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new GatewayError('invalid_request', { cause: err, detail: { reason: 'body_read_failed' } }));
    };
    const cleanup = (): void => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
  });
}

/** Parses a JSON body, refusing with invalid_json (the parser's message can quote the body, so it is dropped). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new GatewayError('invalid_json');
  }
}
