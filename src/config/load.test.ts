// SPDX-License-Identifier: Apache-2.0
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, applyEnvOverrides, loadConfig } from './load.js';

const homes: string[] = [];
function home(yaml?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'phigate-config-'));
  homes.push(dir);
  if (yaml !== undefined) writeFileSync(join(dir, 'phigate.yaml'), yaml);
  return dir;
}
afterEach(() => {
  for (const dir of homes.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function issuesOf(fn: () => unknown): ConfigError['issues'] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('gives the embedded defaults when there is no file', () => {
    const config = loadConfig({ home: home(), env: {} });
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8443, tls: { enabled: true, minVersion: 'TLSv1.2' } });
    expect(config.store.url).toBe('sqlite:phigate.db');
    expect(config.endpoints).toEqual([expect.objectContaining({ id: 'echo', kind: 'echo', selfHosted: true })]);
  });

  it('is deeply frozen', () => {
    const config = loadConfig({ home: home(), env: {} });
    expect(Object.isFrozen(config.server.tls)).toBe(true);
    expect(Object.isFrozen(config.endpoints[0]?.models)).toBe(true);
  });

  it('overlays PHIGATE_* variables with __ for nesting and _ for camelCase', () => {
    const config = loadConfig({ home: home('server:\n  port: 9000\n'), env: { PHIGATE_SERVER__PORT: '9443', PHIGATE_SERVER__MAX_BODY_BYTES: '2048', PHIGATE_HOME: '/ignored' } });
    expect(config.server.port).toBe(9443);
    expect(config.server.maxBodyBytes).toBe(2048);
  });

  it('names path, expectation and finding for every issue', () => {
    const issues = issuesOf(() => loadConfig({ home: home('server:\n  port: "high"\n  colour: blue\n'), env: {} }));
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'server.port', expected: 'number', found: '"high"' },
        expect.objectContaining({ path: 'server', expected: expect.stringContaining('colour') }),
      ]),
    );
  });

  it('never prints a value written where a secret reference belongs', () => {
    const yaml = 'endpoints:\n  - id: oa\n    kind: openai\n    apiKey: sk-live-0123456789\n    models: [{ name: gpt-4o }]\n';
    const issues = issuesOf(() => loadConfig({ home: home(yaml), env: {} }));
    const issue = issues.find((i) => i.path === 'endpoints.0.apiKey');
    expect(issue?.found).toBe('(hidden)');
    expect(JSON.stringify(issues)).not.toContain('sk-live');
  });

  it('refuses YAML syntax errors with the line', () => {
    const issues = issuesOf(() => loadConfig({ home: home('server:\n  port: [1,\n'), env: {} }));
    expect(issues[0]?.expected).toBe('valid YAML');
  });

  it('refuses unknown fallbacks and duplicate endpoint ids', () => {
    const yaml = [
      'endpoints:',
      '  - { id: a, kind: echo, models: [{ name: m }], fallbacks: [missing] }',
      '  - { id: a, kind: echo, models: [{ name: m }] }',
    ].join('\n');
    const issues = issuesOf(() => loadConfig({ home: home(yaml), env: {} }));
    expect(issues.map((i) => i.path)).toEqual(expect.arrayContaining(['endpoints.1.id', 'endpoints.0.fallbacks.0']));
  });
});

describe('applyEnvOverrides', () => {
  it('reads JSON values and leaves other strings as they are', () => {
    expect(applyEnvOverrides({}, { PHIGATE_SERVER__TLS__ENABLED: 'false', PHIGATE_STORE__URL: 'postgres://db/x' })).toEqual({
      server: { tls: { enabled: false } },
      store: { url: 'postgres://db/x' },
    });
  });
});
