// SPDX-License-Identifier: Apache-2.0
/** `phigate audit checkpoint / verify / public-key / proof` as an operator runs them, in a child process. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyInclusion } from '../../src/audit/merkle.js';
import type { AuditEvent } from '../../src/audit/record.js';
import { createSqlAuditSink } from '../../src/audit/sql-sink.js';
import { createKms } from '../../src/crypto/kms/index.js';
import { initHome } from '../../src/main.js';
import { openStore } from '../../src/store/store.js';

const cli = resolve(import.meta.dirname, '../../src/cli/main.ts');
let dir: string;
let home: string;

async function phigate(...args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', cli, ...args, '--home', home]);
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '' };
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'phigate-audit-cli-'));
  home = join(dir, 'state');
  await initHome(home, {});
  const store = await openStore({ url: 'sqlite:phigate.db', baseDir: home, kms: await createKms({ kind: 'local', keyFile: 'keys/local-kek' }, { baseDir: home }) });
  const events = Array.from({ length: 12 }, (_, i): AuditEvent => ({
    id: `cli-${i}`,
    recordedAt: new Date(1_750_000_000_000 + i).toISOString(),
    type: 'chat.completion',
    stage: 'completed',
    outcome: 'success',
    requestId: `req-${i}`,
    status: 200,
    instance: 'cli-test',
  }));
  await createSqlAuditSink(store.db).appendBatch(events);
  await store.close();
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('phigate audit', () => {
  it('signs a head, verifies with a pinned key, gives a proof that checks out, then names the tampered record and exits 1', async () => {
    const checkpoint = await phigate('audit', 'checkpoint', '--json');
    const head = JSON.parse(checkpoint.stdout) as { treeSize: number; rootHash: string };
    expect(head.treeSize).toBeGreaterThanOrEqual(12);

    const pem = await phigate('audit', 'public-key');
    expect(pem.stdout).toContain('BEGIN PUBLIC KEY');
    const keyFile = join(dir, 'audit.pem');
    writeFileSync(keyFile, pem.stdout);

    const ok = await phigate('audit', 'verify', '--json', '--public-key', keyFile);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, keys: 'pinned', lastVerifiedHead: head.treeSize });

    const proof = JSON.parse((await phigate('audit', 'proof', '--seq', '5')).stdout) as { leafIndex: number; treeSize: number; leafHash: string; rootHash: string; path: string[] };
    expect(proof.rootHash).toBe(head.rootHash);
    const hex = (h: string) => Buffer.from(h, 'hex');
    expect(verifyInclusion(proof.leafIndex, proof.treeSize, hex(proof.leafHash), proof.path.map(hex), hex(proof.rootHash))).toBe(true);

    // An attacker with the database file: triggers dropped, one body edited.
    const db = new SqliteDatabase(join(home, 'phigate.db'));
    db.exec('DROP TRIGGER audit_events_no_update');
    db.prepare(`UPDATE audit_events SET body = replace(body, '"status":200', '"status":201') WHERE seq = 7`).run();
    db.close();
    const bad = await phigate('audit', 'verify', '--json', '--public-key', keyFile);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, failure: { seq: 7, reason: 'hash_mismatch' } });
  }, 120_000);
});
