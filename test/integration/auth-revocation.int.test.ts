// SPDX-License-Identifier: Apache-2.0
/**
 * Two gateway instances on one SQLite file. With Redis, a key revoked through one instance is
 * refused by the other at once, though that one had the key cached for 30 s; without Redis the
 * other instance keeps its cached answer until the cache TTL — the bound the README states.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { fetch as undiciFetch } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { revocationChannel } from '../../src/auth/revocation-bus.js';
import { startGateway, type RunningGateway } from '../../src/main.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const redisUrl = 'redis://127.0.0.1:6379';
const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close();
});

async function pair(config: Record<string, unknown>): Promise<{ a: TestGateway; b: RunningGateway }> {
  const a = await startTestGateway({ config });
  opened.push(a);
  const logDir = mkdtempSync(join(tmpdir(), 'phigate-b-'));
  const b = await startGateway({ home: a.home, env: {}, logger: createLogger({ level: 'info', destination: pino.destination({ dest: join(logDir, 'b.log'), sync: true }) }) });
  opened.push({ close: async () => { await b.close(); rmSync(logDir, { recursive: true, force: true }); } });
  return { a, b };
}

async function status(gw: TestGateway, base: string, key: string, method = 'GET', path = '/v1/models', body?: unknown): Promise<{ status: number; code?: string; json: Record<string, unknown> }> {
  const response = await undiciFetch(`${base.replace(/\/v1$/, '')}${path}`, {
    method,
    dispatcher: gw.dispatcher,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await response.json()) as Record<string, unknown> & { error?: { code: string } };
  return { status: response.status, json, ...(json.error ? { code: json.error.code } : {}) };
}

async function keyFor(a: TestGateway): Promise<{ key: string; id: string }> {
  const user = await status(a, a.baseUrl, a.apiKey, 'POST', '/admin/api/users', { name: `user-${Date.now()}`, roles: ['physician'] });
  const created = await status(a, a.baseUrl, a.apiKey, 'POST', '/admin/api/keys', { userId: user.json.id });
  return { key: created.json.key as string, id: created.json.id as string };
}

describe('revocation across gateway instances', () => {
  it('reaches the other instance at once through Redis', async () => {
    const { a, b } = await pair({ redis: { url: redisUrl } });
    const { key, id } = await keyFor(a);
    expect((await status(a, b.baseUrl, key)).status).toBe(200);
    // Listen on the channel too, to know when the message has been delivered.
    const listener = new Redis(redisUrl);
    opened.push({ close: async () => void (await listener.quit()) });
    const delivered = new Promise<string>((resolve) => listener.on('message', (_channel: string, message: string) => resolve(message)));
    await listener.subscribe(revocationChannel);
    expect((await status(a, a.baseUrl, a.apiKey, 'POST', `/admin/api/keys/${id}/revoke`)).status).toBe(200);
    expect(await delivered).toBe(id);
    // Instance B's subscriber was subscribed before ours, so it has the message by now; allow it a few turns to process.
    let answer = await status(a, b.baseUrl, key);
    for (let i = 0; i < 50 && answer.status === 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      answer = await status(a, b.baseUrl, key);
    }
    expect([answer.status, answer.code]).toEqual([401, 'api_key_revoked']);
  });

  it('without Redis, the other instance answers from its cache until the TTL ends', async () => {
    const { a, b } = await pair({ auth: { apiKeys: { cacheTtlMs: 30_000 } } });
    const { key, id } = await keyFor(a);
    expect((await status(a, b.baseUrl, key)).status).toBe(200);
    await status(a, a.baseUrl, a.apiKey, 'POST', `/admin/api/keys/${id}/revoke`);
    expect((await status(a, a.baseUrl, key)).code).toBe('api_key_revoked');
    expect((await status(a, b.baseUrl, key)).status).toBe(200);
  });
});
