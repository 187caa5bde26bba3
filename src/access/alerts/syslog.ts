// SPDX-License-Identifier: Apache-2.0
/**
 * Syslog alerts (RFC 5424): facility authpriv (10), severity alert (1), MSGID `breakglass`, the
 * alert fields as structured data. Over UDP (RFC 5426, one datagram per message) or TCP
 * (RFC 6587 octet counting: `<length> <message>`).
 */
import { createSocket } from 'node:dgram';
import { Socket } from 'node:net';
import { hostname } from 'node:os';
import { AlertDeliveryError, alertSummary, type AlertChannel } from './channel.js';

export interface SyslogChannelOptions {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly transport: 'udp' | 'tcp';
  readonly appName: string;
  readonly timeoutMs: number;
  readonly now?: () => number;
}

/** Private enterprise number placeholder for the SD-ID (`name@<PEN>`); 32473 is IANA's example PEN. */
const sdId = 'phigate@32473';
const priority = 10 * 8 + 1;

const sdEscape = (value: string): string => value.replace(/[\\"\]]/g, (ch) => `\\${ch}`);
const headerField = (value: string, max: number): string => value.replace(/[^\x21-\x7e]/g, '_').slice(0, max) || '-';

/** Formats one RFC 5424 message. */
export function formatSyslogMessage(payload: string, appName: string, at: number, host: string = hostname()): string {
  const { subject, fields } = alertSummary(payload);
  const params = Object.entries(fields)
    .filter(([key]) => /^[A-Za-z0-9_]{1,32}$/.test(key))
    .map(([key, value]) => `${key}="${sdEscape(value)}"`)
    .join(' ');
  return `<${priority}>1 ${new Date(at).toISOString()} ${headerField(host, 255)} ${headerField(appName, 48)} ${process.pid} breakglass [${sdId} ${params}] ${subject}`;
}

export function createSyslogChannel(options: SyslogChannelOptions): AlertChannel {
  const now = options.now ?? Date.now;
  return {
    id: options.id,
    kind: 'syslog',
    async send(payload, signal) {
      const message = Buffer.from(formatSyslogMessage(payload, options.appName, now()), 'utf8');
      if (options.transport === 'udp') {
        const socket = createSocket(options.host.includes(':') ? 'udp6' : 'udp4');
        try {
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new AlertDeliveryError('timeout')), options.timeoutMs);
            socket.send(message, options.port, options.host, (err) => {
              clearTimeout(timer);
              if (err) reject(new AlertDeliveryError('syslog_udp', { cause: err }));
              else resolve();
            });
          });
        } finally {
          socket.close();
        }
        return;
      }
      const socket = new Socket();
      const timer = setTimeout(() => socket.destroy(new AlertDeliveryError('timeout')), options.timeoutMs);
      const onAbort = (): void => void socket.destroy(new AlertDeliveryError('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once('error', (err) => reject(err instanceof AlertDeliveryError ? err : new AlertDeliveryError('syslog_tcp', { cause: err })));
          socket.connect(options.port, options.host, () => {
            socket.end(Buffer.concat([Buffer.from(`${message.length} `, 'ascii'), message]), () => resolve());
          });
        });
      } finally {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
      }
    },
  };
}
