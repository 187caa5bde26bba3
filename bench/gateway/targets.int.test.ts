// SPDX-License-Identifier: Apache-2.0
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChildRegistry } from './children.js';
import type { ChildRegistry } from './children.js';
import { buildBody } from './bodies.js';
import { MOCK_COMPLETION_TEXT, startMockUpstream } from './mock-upstream.js';
import { BENCH_MODEL, startTarget } from './targets.js';
import { sendOnce } from './ttfb.js';

const FAKE_CLI = fileURLToPath(new URL('./testing/fake-phigate-cli.mjs', import.meta.url));

describe('starting the phigate target through its CLI contract', () => {
  let logDir: string;
  let registry: ChildRegistry;
  let mock: Awaited<ReturnType<typeof startMockUpstream>>;

  beforeAll(async () => {
    logDir = mkdtempSync(join(tmpdir(), 'bench-gateway-test-'));
    registry = createChildRegistry(join(logDir, 'servers.log'));
    mock = await startMockUpstream(0);
  });
  afterAll(async () => {
    await registry.stopAll();
    mock.server.closeAllConnections();
    await new Promise((resolve) => mock.server.close(resolve));
    rmSync(logDir, { recursive: true, force: true });
  });

  it('initialises, rewrites the config to point at the mock, serves, and authenticates with the printed key', async () => {
    const started = await startTarget('phigate', { registry, mockPort: mock.port, say: () => {}, phigateCli: FAKE_CLI });
    if (!started.ok) throw new Error(started.reason);
    const { target } = started;
    expect(target.pid).toBeGreaterThan(0);
    const body = buildBody('1k', BENCH_MODEL);
    const answer = await sendOnce({ url: target.url, body, headers: target.headers });
    expect(answer.status).toBe(200);
    expect(answer.body).toContain(MOCK_COMPLETION_TEXT);
    const unauthenticated = await sendOnce({ url: target.url, body, headers: { authorization: 'Bearer wrong' } });
    expect(unauthenticated.status).toBe(401);
    await target.stop();
  });

  it('reports why phigate could not start instead of throwing, and leaves no state folder behind', async () => {
    const before = new Set(tmpdirEntries());
    process.env['FAKE_PHIGATE_FAIL'] = 'init';
    try {
      const started = await startTarget('phigate', { registry, mockPort: mock.port, say: () => {}, phigateCli: FAKE_CLI });
      expect(started.ok).toBe(false);
      if (!started.ok) expect(started.reason).toMatch(/^phigate init exited with 1 \(.*fake init failure/);
    } finally {
      delete process.env['FAKE_PHIGATE_FAIL'];
    }
    expect(tmpdirEntries().filter((entry) => !before.has(entry))).toEqual([]);
  });

  it('reports a missing CLI', async () => {
    const started = await startTarget('phigate', { registry, mockPort: mock.port, say: () => {}, phigateCli: join(logDir, 'nope.js') });
    expect(started.ok).toBe(false);
    if (!started.ok) expect(started.reason).toContain('no phigate CLI at');
  });
});

function tmpdirEntries(): string[] {
  return readdirSync(tmpdir()).filter((entry) => entry.startsWith('phigate-bench-'));
}
