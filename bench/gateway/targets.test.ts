// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { BENCH_MODEL, benchConfig, telltale } from './targets.js';

describe('benchConfig', () => {
  it('gives a config phigate accepts: plain HTTP on loopback, quiet logs, the mock as the only endpoint', () => {
    const original = { server: { port: 8443, tls: { enabled: true, certFile: 'tls/cert.pem' } }, store: { url: 'sqlite:phigate.db' }, logging: { level: 'info' } };
    const config = configSchema.parse(benchConfig(original, 40123, 40124));
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 40123, tls: { enabled: false, certFile: 'tls/cert.pem' } });
    expect(config.logging).toEqual({ level: 'warn', accessLog: false });
    expect(config.store.url).toBe('sqlite:phigate.db');
    expect(config.endpoints).toHaveLength(1);
    expect(config.endpoints[0]).toMatchObject({ id: 'mock', kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:40124/v1', selfHosted: true, models: [{ name: BENCH_MODEL }] });
  });

  it('starts from nothing when init wrote an empty file', () => {
    expect(() => configSchema.parse(benchConfig(null, 1, 2))).not.toThrow();
  });
});

describe('telltale', () => {
  it('picks the error line out of a stack trace', () => {
    const output = [
      'node:internal/modules/run_main:123',
      '    triggerUncaughtException(',
      '    ^',
      "Error [ERR_MODULE_NOT_FOUND]: Cannot find module '/x/src/cli/main.ts'",
      '    at finalizeResolution (node:internal/modules/esm/resolve:283:11)',
      '}',
      '',
      'Node.js v20.20.2',
    ].join('\n');
    expect(telltale(output)).toBe("Error [ERR_MODULE_NOT_FOUND]: Cannot find module '/x/src/cli/main.ts'");
  });

  it('falls back to the last lines', () => {
    expect(telltale('starting\nport busy\n')).toBe('starting / port busy');
    expect(telltale('')).toBe('');
  });
});
