// SPDX-License-Identifier: Apache-2.0
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../kernel/errors.js';
import { createLogger } from './logger.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ level: 'info', destination }), lines };
}

describe('logger', () => {
  it('never writes the message of a foreign error, nor request content', () => {
    const { logger, lines } = capture();
    logger.error({ err: new Error('patient Zebulon Quackenbush not found'), messages: [{ content: 'MRN 55501234' }] }, 'failed');
    const text = lines.join('');
    expect(text).not.toContain('Zebulon');
    expect(text).not.toContain('55501234');
    expect(text).toContain('"type":"Error"');
  });

  it('keeps the fixed message and code of a gateway error', () => {
    const { logger, lines } = capture();
    logger.warn({ err: new GatewayError('provider_timeout') }, 'vendor slow');
    expect(lines.join('')).toContain('"code":"provider_timeout"');
  });
});
