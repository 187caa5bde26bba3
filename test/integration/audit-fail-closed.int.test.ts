// SPDX-License-Identifier: Apache-2.0
/**
 * Fail closed: for each way the audit store can fail — read-only, disk full, database
 * unreachable, slower than `audit.writeTimeoutMs` — a chat completion through the real gateway
 * is answered 503 `audit_unavailable` and the local vendor server receives nothing.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { auditChainLockKey } from '../../src/audit/sql-sink.js';
import { generateApiKey } from '../../src/auth/api-keys.js';
import { startFakeOpenAiServer } from '../../src/providers/testing/fake-openai-server.js';
import type { FakeVendorServer } from '../../src/providers/testing/fake-server.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const pgUrl = process.env.PHIGATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Pool({ connectionString: pgUrl, max: 2 });
afterAll(() => admin.end());

interface Harness {
  readonly gw: TestGateway;
  readonly vendor: FakeVendorServer;
  readonly apiKey: string;
  chat(): Promise<{ status: number; code: string | undefined }>;
  close(): Promise<void>;
}

/** A gateway on `storeUrl` with one vendor endpoint, and a caller whose key lives in that store. */
async function startHarness(storeUrl: string | undefined): Promise<Harness> {
  const vendor = await startFakeOpenAiServer({ apiKey: 'upstream-key' });
  const gw = await startTestGateway({
    env: { UPSTREAM_KEY: 'upstream-key' },
    config: {
      ...(storeUrl === undefined ? {} : { store: { url: storeUrl } }),
      audit: { writeTimeoutMs: 400, checkpointIntervalMs: 0 },
      endpoints: [
        { id: 'vendor', kind: 'openai-compatible', baseUrl: `${vendor.url}/v1`, apiKey: 'env:UPSTREAM_KEY', selfHosted: true, maxRetries: 0, models: [{ name: 'clinical-llm' }] },
      ],
    },
  });
  let apiKey = gw.apiKey;
  if (storeUrl !== undefined) {
    // The test gateway's key was made in the state folder's own database; make one in this store.
    const store = gw.gateway.store;
    const userId = `user-${randomBytes(4).toString('hex')}`;
    await store.users.create({ id: userId, name: userId, roles: ['admin'], kind: 'user' });
    const key = generateApiKey((secret) => store.fieldCrypto.blindIndex(secret, 'api-key'));
    await store.apiKeys.create({ id: key.keyId, userId, secretHash: key.secretHash, roles: ['admin'], useCases: [] });
    apiKey = key.key;
  }
  return {
    gw,
    vendor,
    apiKey,
    async chat() {
      const response = await request(`${gw.baseUrl}/chat/completions`, {
        method: 'POST',
        dispatcher: gw.dispatcher,
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'clinical-llm', messages: [{ role: 'user', content: 'Summarise the plan for follow-up.' }] }),
      });
      const body = (await response.body.json()) as { error?: { code?: string } };
      return { status: response.statusCode, code: body.error?.code };
    },
    async close() {
      await gw.close();
      await vendor.close();
    },
  };
}

/** Sends `n` requests and expects every one refused with nothing forwarded. */
async function expectFailClosed(h: Harness, n = 3): Promise<void> {
  const before = h.vendor.requests.length;
  for (let i = 0; i < n; i++) expect(await h.chat()).toEqual({ status: 503, code: 'audit_unavailable' });
  expect(h.vendor.requests.length - before).toBe(0);
}

async function pgSchema(owner?: string): Promise<{ schema: string; url: (user?: string, port?: number) => string; drop(): Promise<void> }> {
  const schema = `phigate_audit_fc_${randomBytes(5).toString('hex')}`;
  await admin.query(`create schema ${schema}${owner ? ` authorization ${owner}` : ''}`);
  return {
    schema,
    url: (user = 'postgres', port = 5432) => `postgres://${user}@127.0.0.1:${port}/test?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    drop: async () => void (await admin.query(`drop schema if exists ${schema} cascade`)),
  };
}

describe('fail closed when the audit store cannot be written', () => {
  it('SQLite files made read-only (immutable): 503, nothing forwarded', async (ctx) => {
    const h = await startHarness(undefined);
    const files = ['phigate.db', 'phigate.db-wal'].map((name) => join(h.gw.home, name));
    const setImmutable = (on: boolean): void => {
      execFileSync('chattr', [on ? '+i' : '-i', ...files], { stdio: 'ignore' });
    };
    try {
      expect((await h.chat()).status).toBe(200);
      expect(h.vendor.requests.length).toBe(1);
      try {
        // Immutable files refuse writes even through descriptors already open, and even for root.
        setImmutable(true);
      } catch {
        ctx.skip(); // Needs chattr on a filesystem with inode flags (ext4 here).
      }
      try {
        await expectFailClosed(h);
      } finally {
        setImmutable(false);
      }
      expect((await h.chat()).status).toBe(200);
    } finally {
      await h.close();
    }
  });

  it('PostgreSQL with INSERT on the audit table revoked: 503, nothing forwarded', async () => {
    const role = `phigate_audit_ro_${randomBytes(4).toString('hex')}`;
    await admin.query(`create role ${role} login`);
    const s = await pgSchema(role);
    try {
      const h = await startHarness(s.url(role));
      try {
        expect((await h.chat()).status).toBe(200);
        await admin.query(`revoke insert on ${s.schema}.audit_events from ${role}`);
        await expectFailClosed(h);
      } finally {
        await h.close();
      }
    } finally {
      await s.drop();
      await admin.query(`drop owned by ${role}`);
      await admin.query(`drop role ${role}`);
    }
  });

  it('disk full (SQLite on a full tmpfs): 503, nothing forwarded', async (ctx) => {
    const mount = mkdtempSync(join(tmpdir(), 'phigate-audit-full-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mount], { stdio: 'ignore' });
    } catch {
      rmSync(mount, { recursive: true, force: true });
      ctx.skip(); // Needs root and tmpfs; the benchmark README says where this ran.
      return;
    }
    try {
      mkdirSync(join(mount, 'db'));
      const h = await startHarness(`sqlite:${join(mount, 'db', 'phigate.db')}`);
      try {
        expect((await h.chat()).status).toBe(200);
        const filler = openSync(join(mount, 'filler'), 'w');
        const block = Buffer.alloc(64 * 1024);
        try {
          for (;;) writeSync(filler, block);
        } catch {
          // ENOSPC: the disk is full.
        }
        try {
          for (;;) writeSync(filler, block, 0, 512);
        } catch {
          // And the last few blocks too.
        }
        closeSync(filler);
        await expectFailClosed(h);
        rmSync(join(mount, 'filler'));
        expect((await h.chat()).status).toBe(200);
      } finally {
        await h.close();
      }
    } finally {
      execFileSync('umount', [mount], { stdio: 'ignore' });
      rmSync(mount, { recursive: true, force: true });
    }
  });

  it('PostgreSQL unreachable (network partition): 503 within the timeout, nothing forwarded', async () => {
    const s = await pgSchema();
    const proxy = await startPartitionProxy(5432);
    try {
      const h = await startHarness(s.url('postgres', proxy.port));
      try {
        expect((await h.chat()).status).toBe(200);
        proxy.partition(true);
        await expectFailClosed(h, 2);
        proxy.partition(false);
      } finally {
        await h.close();
      }
    } finally {
      await proxy.close();
      await s.drop();
    }
  });

  it('PostgreSQL slower than audit.writeTimeoutMs (the chain lock held elsewhere): 503, nothing forwarded', async () => {
    const s = await pgSchema();
    const holder = await admin.connect();
    try {
      const h = await startHarness(s.url());
      try {
        expect((await h.chat()).status).toBe(200);
        await holder.query(`select pg_advisory_lock(${auditChainLockKey.toString()}::bigint)`);
        try {
          await expectFailClosed(h, 2);
        } finally {
          await holder.query(`select pg_advisory_unlock(${auditChainLockKey.toString()}::bigint)`);
        }
      } finally {
        await h.close();
      }
    } finally {
      holder.release();
      await s.drop();
    }
  });
});

/**
 * A TCP proxy to PostgreSQL that can stop moving bytes both ways, as a network partition does,
 * without closing connections (which would only test the driver's reconnect path).
 */
async function startPartitionProxy(targetPort: number): Promise<{ port: number; partition(on: boolean): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let partitioned = false;
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      if (partitioned) socket.pause();
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    partition(on) {
      partitioned = on;
      for (const socket of sockets) {
        if (on) socket.pause();
        else socket.resume();
      }
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
