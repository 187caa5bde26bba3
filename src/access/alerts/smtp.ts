// SPDX-License-Identifier: Apache-2.0
/**
 * Email alerts over SMTP (RFC 5321), hand-written over `node:net`: EHLO, MAIL FROM, RCPT TO,
 * DATA, QUIT — enough for a relay on the local network (Postfix, an internal Exchange
 * connector). No STARTTLS or AUTH yet: point it at a relay that accepts the gateway's address.
 * The message carries only the PHI-free alert fields.
 */
import { Socket } from 'node:net';
import { AlertDeliveryError, alertSummary, type AlertChannel } from './channel.js';

export interface SmtpChannelOptions {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly helo: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly timeoutMs: number;
  readonly now?: () => number;
}

const addressPattern = /^[^\s<>@]+@[^\s<>@]+$/;

/** Reads SMTP replies (multi-line `250-…` up to `250 …`) from a socket, one at a time. */
function createReplyReader(socket: Socket): () => Promise<number> {
  let buffer = '';
  const waiting: ((code: number | Error) => void)[] = [];
  const ready: (number | Error)[] = [];
  const deliver = (value: number | Error): void => {
    const next = waiting.shift();
    if (next) next(value);
    else ready.push(value);
  };
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, '');
      buffer = buffer.slice(newline + 1);
      const match = /^(\d{3})([ -])/.exec(line) ?? /^(\d{3})$/.exec(line);
      if (!match) {
        deliver(new AlertDeliveryError('smtp_protocol'));
        continue;
      }
      if (match[2] !== '-') deliver(Number(match[1]));
    }
    if (buffer.length > 64 * 1024) socket.destroy(new AlertDeliveryError('smtp_protocol'));
  });
  const fail = (err: Error): void => {
    deliver(err);
    while (waiting.length > 0) waiting.shift()?.(err);
  };
  socket.on('error', fail);
  socket.on('close', () => fail(new AlertDeliveryError('smtp_closed')));
  return () =>
    new Promise<number>((resolve, reject) => {
      const settle = (value: number | Error): void => (value instanceof Error ? reject(value) : resolve(value));
      const first = ready.shift();
      if (first !== undefined) settle(first);
      else waiting.push(settle);
    });
}

/** Dot-stuffs and CRLF-normalises a message body (RFC 5321 §4.5.2). */
export function dotStuff(text: string): string {
  return text
    .replace(/\r?\n/g, '\r\n')
    .split('\r\n')
    .map((line) => (line.startsWith('.') ? `.${line}` : line))
    .join('\r\n');
}

export function createSmtpChannel(options: SmtpChannelOptions): AlertChannel {
  const now = options.now ?? Date.now;
  for (const address of [options.from, ...options.to]) {
    if (!addressPattern.test(address)) throw new Error(`smtp channel ${options.id}: an address is not of the form local@domain`);
  }
  return {
    id: options.id,
    kind: 'smtp',
    async send(payload, signal) {
      const { subject, fields } = alertSummary(payload);
      const socket = new Socket();
      const timer = setTimeout(() => socket.destroy(new AlertDeliveryError('timeout')), options.timeoutMs);
      const onAbort = (): void => void socket.destroy(new AlertDeliveryError('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        const reply = createReplyReader(socket);
        await new Promise<void>((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('error', reject);
          socket.connect(options.port, options.host);
        });
        const expect = async (ok: (code: number) => boolean, step: string): Promise<void> => {
          const code = await reply();
          if (!ok(code)) throw new AlertDeliveryError(`smtp_${step}_${code}`);
        };
        const command = async (line: string, ok: (code: number) => boolean, step: string): Promise<void> => {
          socket.write(`${line}\r\n`);
          await expect(ok, step);
        };
        const is2xx = (code: number): boolean => code >= 200 && code < 300;
        await expect((code) => code === 220, 'greeting');
        await command(`EHLO ${options.helo}`, is2xx, 'ehlo');
        await command(`MAIL FROM:<${options.from}>`, is2xx, 'mail');
        for (const to of options.to) await command(`RCPT TO:<${to}>`, is2xx, 'rcpt');
        await command('DATA', (code) => code === 354, 'data');
        const body = [
          `From: <${options.from}>`,
          `To: ${options.to.map((to) => `<${to}>`).join(', ')}`,
          `Subject: ${subject}`,
          `Date: ${new Date(now()).toUTCString()}`,
          `Message-ID: <${fields.sessionId ?? now()}.${now()}@${options.helo}>`,
          'MIME-Version: 1.0',
          'Content-Type: text/plain; charset=utf-8',
          'Content-Transfer-Encoding: 8bit',
          'Auto-Submitted: auto-generated',
          '',
          'A break-glass session was opened. Review it in phigate (phigate breakglass list).',
          '',
          ...Object.entries(fields).map(([key, value]) => `${key}: ${value}`),
          '',
        ].join('\r\n');
        await command(`${dotStuff(body)}\r\n.`, is2xx, 'message');
        socket.write('QUIT\r\n');
        await reply().catch(() => 221);
      } catch (err) {
        throw err instanceof AlertDeliveryError ? err : new AlertDeliveryError('smtp_connect', { cause: err });
      } finally {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
      }
    },
  };
}
