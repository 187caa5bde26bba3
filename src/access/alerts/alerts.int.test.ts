// SPDX-License-Identifier: Apache-2.0
// Break-glass alert channels against real local servers (an SMTP server over node:net, an HTTP
// server, UDP and TCP syslog sockets), and the dispatcher's retries over the real outbox table.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import type { Kysely } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestFieldCrypto } from '../../crypto/testing/memory-kms.js';
import { createDb } from '../../store/db.js';
import { migrateToLatest } from '../../store/migrate.js';
import { createBreakGlassRepo } from '../../store/repos/break-glass-repo.js';
import { createUserRepo } from '../../store/repos/user-repo.js';
import type { Database } from '../../store/schema.js';
import { openBreakGlass } from '../break-glass.js';
import type { AlertChannel } from './channel.js';
import { createAlertDispatcher, retryDelay } from './dispatcher.js';
import { createSmtpChannel } from './smtp.js';
import { createSyslogChannel } from './syslog.js';
import { createWebhookChannel, signWebhook } from './webhook.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const payload = JSON.stringify({
  type: 'phigate.break_glass.started',
  sessionId: 'sess-1',
  userId: 'user-1',
  category: 'emergency_treatment',
  purpose: 'ETREAT',
  startedAt: '2026-11-25T10:00:00.000Z',
  expiresAt: '2026-11-25T11:00:00.000Z',
  patientHash: 'ab'.repeat(16),
  instance: 'test',
});
const signal = new AbortController().signal;

/** A minimal SMTP server: answers every command and records the envelope and message. */
async function startSmtpServer(options: { rejectRcpt?: boolean } = {}): Promise<{ port: number; mails: { from: string; to: string[]; data: string }[] }> {
  const mails: { from: string; to: string[]; data: string }[] = [];
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setEncoding('utf8');
    let buffer = '';
    let inData = false;
    let mail = { from: '', to: [] as string[], data: '' };
    socket.write('220 test.local ESMTP ready\r\n');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          mail.data = buffer.slice(0, end);
          buffer = buffer.slice(end + 5);
          inData = false;
          mails.push(mail);
          mail = { from: '', to: [], data: '' };
          socket.write('250 2.0.0 queued\r\n');
          continue;
        }
        const newline = buffer.indexOf('\r\n');
        if (newline < 0) return;
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') socket.write('250-test.local\r\n250-8BITMIME\r\n250 SIZE 1000000\r\n');
        else if (verb === 'MAIL') {
          mail.from = line;
          socket.write('250 2.1.0 ok\r\n');
        } else if (verb === 'RCPT') {
          mail.to.push(line);
          socket.write(options.rejectRcpt ? '550 5.1.1 no such user\r\n' : '250 2.1.5 ok\r\n');
        } else if (verb === 'DATA') {
          inData = true;
          socket.write('354 end with .\r\n');
        } else if (verb === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('502 unknown\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as AddressInfo).port, mails };
}

async function startHttpServer(statuses: number[]): Promise<{ url: string; received: { body: string; headers: Record<string, string | string[] | undefined> }[] }> {
  const received: { body: string; headers: Record<string, string | string[] | undefined> }[] = [];
  const server: HttpServer = createHttpServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({ body, headers: req.headers });
      res.writeHead(statuses.shift() ?? 200).end('server text that must not be kept');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

describe('webhook channel', () => {
  it('POSTs the JSON payload with a verifiable HMAC signature', async () => {
    const server = await startHttpServer([204]);
    const channel = createWebhookChannel({ id: 'w', url: server.url, secret: 's3cret', timeoutMs: 2000, now: () => 1_800_000_000_000 });
    await channel.send(payload, signal);
    const got = server.received[0];
    expect(got?.body).toBe(payload);
    expect(got?.headers['x-phigate-timestamp']).toBe('1800000000');
    expect(got?.headers['x-phigate-signature']).toBe(signWebhook('s3cret', '1800000000', payload));
    expect(got?.headers['x-phigate-signature']).not.toBe(signWebhook('other', '1800000000', payload));
  });

  it('fails on a non-2xx answer with the status only', async () => {
    const server = await startHttpServer([503]);
    const channel = createWebhookChannel({ id: 'w', url: server.url, secret: 's', timeoutMs: 2000 });
    await expect(channel.send(payload, signal)).rejects.toMatchObject({ code: 'http_503' });
  });
});

describe('SMTP channel', () => {
  it('delivers a mail with the alert fields through EHLO, MAIL, RCPT, DATA', async () => {
    const smtp = await startSmtpServer();
    const channel = createSmtpChannel({ id: 'm', host: '127.0.0.1', port: smtp.port, helo: 'gw.test', from: 'phigate@hospital.test', to: ['privacy@hospital.test', 'security@hospital.test'], timeoutMs: 2000 });
    await channel.send(payload, signal);
    expect(smtp.mails).toHaveLength(1);
    const mail = smtp.mails[0];
    expect(mail?.from).toBe('MAIL FROM:<phigate@hospital.test>');
    expect(mail?.to).toEqual(['RCPT TO:<privacy@hospital.test>', 'RCPT TO:<security@hospital.test>']);
    expect(mail?.data).toContain('Subject: phigate break-glass: emergency_treatment by user user-1');
    expect(mail?.data).toContain('sessionId: sess-1');
  });

  it('fails with the SMTP step and code when the server refuses', async () => {
    const smtp = await startSmtpServer({ rejectRcpt: true });
    const channel = createSmtpChannel({ id: 'm', host: '127.0.0.1', port: smtp.port, helo: 'gw.test', from: 'a@b.test', to: ['c@d.test'], timeoutMs: 2000 });
    await expect(channel.send(payload, signal)).rejects.toMatchObject({ code: 'smtp_rcpt_550' });
  });

  it('fails cleanly when nothing listens', async () => {
    const smtp = await startSmtpServer();
    const port = smtp.port;
    for (const cleanup of cleanups.splice(0)) await cleanup();
    const channel = createSmtpChannel({ id: 'm', host: '127.0.0.1', port, helo: 'gw.test', from: 'a@b.test', to: ['c@d.test'], timeoutMs: 2000 });
    await expect(channel.send(payload, signal)).rejects.toMatchObject({ name: 'AlertDeliveryError' });
  });
});

describe('syslog channel', () => {
  const rfc5424 = /^<81>1 \d{4}-\d{2}-\d{2}T[\d:.]+Z \S+ phigate \d+ breakglass \[phigate@32473 [^\]]*sessionId="sess-1"[^\]]*\] phigate break-glass: emergency_treatment by user user-1$/;

  it('sends one RFC 5424 datagram over UDP', async () => {
    const socket: UdpSocket = createSocket('udp4');
    const messages: string[] = [];
    socket.on('message', (msg) => messages.push(msg.toString('utf8')));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
    const channel = createSyslogChannel({ id: 's', host: '127.0.0.1', port: socket.address().port, transport: 'udp', appName: 'phigate', timeoutMs: 2000 });
    await channel.send(payload, signal);
    await expect.poll(() => messages.length).toBe(1);
    expect(messages[0]).toMatch(rfc5424);
  });

  it('frames the message with octet counting over TCP', async () => {
    const frames: string[] = [];
    const server = createTcpServer((socket) => {
      let data = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (data += chunk));
      socket.on('end', () => frames.push(data));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const channel = createSyslogChannel({ id: 's', host: '127.0.0.1', port: (server.address() as AddressInfo).port, transport: 'tcp', appName: 'phigate', timeoutMs: 2000 });
    await channel.send(payload, signal);
    await expect.poll(() => frames.length).toBe(1);
    const frame = frames[0] as string;
    const space = frame.indexOf(' ');
    const message = frame.slice(space + 1);
    expect(Number(frame.slice(0, space))).toBe(Buffer.byteLength(message));
    expect(message).toMatch(rfc5424);
  });
});

describe('dispatcher over the outbox', () => {
  async function outbox() {
    const db: Kysely<Database> = createDb('sqlite::memory:', { baseDir: tmpdir() });
    cleanups.push(() => db.destroy());
    await migrateToLatest(db);
    await createUserRepo(db).create({ id: 'user-1', name: 'er', roles: ['physician'], kind: 'user' });
    return createBreakGlassRepo(db, await createTestFieldCrypto());
  }

  it('retries with backoff until the webhook accepts, and delivers every channel once', async () => {
    let clock = 1_800_000_000_000;
    const repo = await outbox();
    const http = await startHttpServer([500, 502, 200]);
    const smtp = await startSmtpServer();
    const channels: AlertChannel[] = [
      createWebhookChannel({ id: 'hook', url: http.url, secret: 'k', timeoutMs: 2000 }),
      createSmtpChannel({ id: 'mail', host: '127.0.0.1', port: smtp.port, helo: 'gw.test', from: 'a@b.test', to: ['c@d.test'], timeoutMs: 2000 }),
    ];
    const session = await openBreakGlass({
      repo, userId: 'user-1', patient: 'Patient/x', request: { category: 'patient_safety', reason: 'a reason that stays secret' },
      now: clock, minutes: 60, channelIds: ['hook', 'mail'], patientHash: 'h', instance: 'test',
    });
    const dispatcher = createAlertDispatcher({ repo, channels, now: () => clock, maxAttempts: 5, retryBaseMs: 1000, retryMaxMs: 60_000, pollMs: 1000 });
    expect(await dispatcher.runOnce()).toEqual({ delivered: 1, failed: 1 });
    // Not due yet: nothing is sent again before the backoff has passed.
    expect(await dispatcher.runOnce()).toEqual({ delivered: 0, failed: 0 });
    clock += retryDelay(1, 1000, 60_000);
    expect(await dispatcher.runOnce()).toEqual({ delivered: 0, failed: 1 });
    clock += retryDelay(2, 1000, 60_000) - 1;
    expect(await dispatcher.runOnce()).toEqual({ delivered: 0, failed: 0 });
    clock += 1;
    expect(await dispatcher.runOnce()).toEqual({ delivered: 1, failed: 0 });
    const alerts = await repo.listAlerts(session.id);
    expect(alerts.map((a) => [a.channelId, a.attempts, a.deliveredAt !== null, a.lastError])).toEqual([
      ['hook', 3, true, null],
      ['mail', 1, true, null],
    ]);
    expect(http.received.every((r) => !r.body.includes('secret'))).toBe(true);
    expect(smtp.mails).toHaveLength(1);
  });

  it('marks an alert dead after the last attempt and keeps the error class only', async () => {
    let clock = 1_800_000_000_000;
    const repo = await outbox();
    const http = await startHttpServer([500, 500]);
    await openBreakGlass({ repo, userId: 'user-1', patient: 'Patient/x', request: { category: 'patient_safety', reason: 'another reason' }, now: clock, minutes: 60, channelIds: ['hook', 'gone'], patientHash: 'h', instance: 'test' });
    const dispatcher = createAlertDispatcher({
      repo, channels: [createWebhookChannel({ id: 'hook', url: http.url, secret: 'k', timeoutMs: 2000 })], now: () => clock, maxAttempts: 2, retryBaseMs: 10, retryMaxMs: 10, pollMs: 1000,
    });
    await dispatcher.runOnce();
    clock += 10;
    await dispatcher.runOnce();
    clock += 10;
    expect(await dispatcher.runOnce()).toEqual({ delivered: 0, failed: 0 });
    const alerts = await repo.listAlerts();
    expect(alerts.map((a) => [a.channelId, a.attempts, a.deadAt !== null, a.lastError])).toEqual([
      ['hook', 2, true, 'http_500'],
      ['gone', 2, true, 'unknown_channel'],
    ]);
  });

  it('backs off exponentially up to the cap', () => {
    expect([1, 2, 3, 4, 10].map((n) => retryDelay(n, 1000, 5000))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });
});
