// SPDX-License-Identifier: Apache-2.0
/**
 * Operational logging (pino, JSON to stdout). What reaches a log line is chosen field by field:
 * the serializers below copy only named, PHI-free properties, and `redact` is the second line
 * of defence for anything that slips into a log call by mistake. Never log bodies.
 */
import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

export type { Logger };

const redactPaths = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["x-phigate-patient"]',
  'req.headers["x-phigate-break-glass"]',
  'req.headers["x-phigate-user-token"]',
  'messages',
  'content',
  'input',
  'prompt',
  'text',
  '*.messages',
  '*.content',
  '*.input',
  '*.prompt',
  '*.apiKey',
  '*.text',
];

/** Copies the allowed fields of an error: name, registry code, status and stack, never `cause` bodies. */
function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { type: typeof err };
  // A stack's first line repeats the message, which for foreign errors may quote data: keep the frames only.
  const frames = err.stack?.split('\n').slice(1).join('\n');
  const out: Record<string, unknown> = { type: err.name, stack: frames };
  const coded = err as Error & { code?: unknown; status?: unknown };
  if (typeof coded.code === 'string') out.code = coded.code;
  if (typeof coded.status === 'number') out.status = coded.status;
  // GatewayError messages are fixed registry strings; other errors may quote data, so only their class is kept.
  if (err.name === 'GatewayError') out.message = err.message;
  return out;
}

export function createLogger(options: { level: LevelWithSilent; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'phigate' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths, censor: '[redacted]' },
      serializers: { err: serializeError, error: serializeError },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}
