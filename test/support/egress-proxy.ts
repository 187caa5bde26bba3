// SPDX-License-Identifier: Apache-2.0
/**
 * A loopback HTTP forward proxy for tests, standing in for a hospital's egress proxy: every
 * connection the gateway makes to a vendor passes through it, and it records each destination.
 * Plain-HTTP requests arrive in absolute form (`POST http://127.0.0.1:41234/v1/chat/completions`)
 * and are recorded with method, path and body, then forwarded and streamed back unbuffered;
 * HTTPS arrives as `CONNECT host:port` and is tunnelled (recorded without content, as a real
 * proxy sees it).
 */
import { createServer, request as httpRequest, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface ProxyRecord {
  /** `host:port` of the destination. */
  readonly destination: string;
  readonly method: string;
  /** Path with query string; empty for a tunnel. */
  readonly path: string;
  /** The request body (plain HTTP only). */
  readonly body: string;
  readonly tunnel: boolean;
  /** Status the destination answered (plain HTTP only; 0 when it could not be reached). */
  status: number;
}

export interface EgressProxy {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Every request or tunnel, in arrival order. */
  readonly records: ProxyRecord[];
  /** Requests that did not come in proxy form (relative URL): a client that bypassed nothing but also asked nothing. */
  readonly rejected: number;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Starts the proxy on 127.0.0.1 and a free port. */
export async function startEgressProxy(): Promise<EgressProxy> {
  const records: ProxyRecord[] = [];
  const sockets = new Set<Socket>();
  const agent = new Agent({ keepAlive: true });
  let rejected = 0;

  async function forward(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let target: URL;
    try {
      target = new URL(request.url ?? '');
    } catch {
      rejected += 1;
      response.writeHead(400, { 'content-type': 'text/plain' }).end('absolute-form request expected');
      return;
    }
    if (target.protocol !== 'http:') {
      rejected += 1;
      response.writeHead(400, { 'content-type': 'text/plain' }).end('only http:// is forwarded; use CONNECT for https');
      return;
    }
    const body = await readBody(request);
    const record: ProxyRecord = { destination: target.host, method: request.method ?? 'GET', path: `${target.pathname}${target.search}`, body: body.toString('utf8'), tunnel: false, status: 0 };
    records.push(record);
    const headers = { ...request.headers };
    delete headers['proxy-connection'];
    delete headers['proxy-authorization'];
    const upstream = httpRequest({ host: target.hostname, port: target.port, method: request.method, path: record.path, headers, agent }, (answer) => {
      record.status = answer.statusCode ?? 0;
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    // A client that goes away (cancelled stream) cancels the vendor call too.
    response.on('close', () => {
      if (!response.writableFinished) upstream.destroy();
    });
    upstream.on('error', () => {
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' }).end('upstream unreachable');
      else response.destroy();
    });
    upstream.end(body);
  }

  const server = createServer((request, response) => {
    void forward(request, response).catch(() => response.destroy());
  });
  server.on('connect', (request: IncomingMessage, client: Socket, head: Buffer) => {
    const [host, port] = (request.url ?? '').split(':');
    records.push({ destination: request.url ?? '', method: 'CONNECT', path: '', body: '', tunnel: true, status: 0 });
    const upstream = connect(Number(port), host ?? '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    const end = (): void => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on('error', end);
    client.on('error', end);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    records,
    get rejected() {
      return rejected;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
