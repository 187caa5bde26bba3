// SPDX-License-Identifier: Apache-2.0
// The Object Lock export against a local S3-compatible server that verifies SigV4, requires a
// checksum on locked writes and refuses to delete a locked version before its retain-until date.
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../../providers/bedrock/sigv4.js';
import { createDb } from '../../store/db.js';
import { migrateToLatest } from '../../store/migrate.js';
import { createSqlAuditSink } from '../sql-sink.js';
import { smallTrail } from '../testing/audit-fixtures.js';
import { createS3ObjectLockClient, exportAuditToS3, exportObjectKey, S3ExportError } from './s3-object-lock.js';
import { startLocalS3Server, type LocalS3Server } from './testing/local-s3-server.js';

const bucket = 'audit-worm';
let s3: LocalS3Server;
const db = createDb('sqlite::memory:', { baseDir: tmpdir() });

beforeAll(async () => {
  s3 = await startLocalS3Server({ bucket });
  await migrateToLatest(db);
  await createSqlAuditSink(db).appendBatch(smallTrail());
});
afterAll(async () => {
  await s3.close();
  await db.destroy();
});

async function signed(method: 'DELETE' | 'PUT' | 'GET', key: string, query = '', headers: Record<string, string> = {}, body = ''): Promise<Response> {
  const url = new URL(`/${bucket}/${key}${query ? `?${query}` : ''}`, s3.endpoint);
  const sent = signRequest({
    method,
    host: url.host,
    path: url.pathname,
    query,
    headers: { ...headers, 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex') },
    body,
    region: s3.region,
    service: 's3',
    credentials: s3.credentials,
  });
  const { host: _host, ...rest } = sent;
  return fetch(url, { method, headers: rest, ...(method === 'PUT' ? { body } : {}) });
}

describe('S3 Object Lock export', () => {
  const retainUntil = new Date(Date.UTC(2033, 0, 1));

  it('writes the log as FHIR NDJSON in COMPLIANCE mode with a checksum, and the object cannot be deleted early', async () => {
    const client = createS3ObjectLockClient({ endpoint: s3.endpoint, bucket, region: s3.region, credentials: s3.credentials });
    const key = exportObjectKey('phigate/audit', Date.UTC(2026, 2, 3), {});
    expect(key).toBe('phigate/audit/2026/03/03/audit-start-2026-03-03T00-00-00-000Z.ndjson');
    const result = await exportAuditToS3(db, client, { key, retainUntil });
    expect(result.records).toBe(9);

    const [stored] = s3.versions(bucket, key);
    expect(stored?.lockMode).toBe('COMPLIANCE');
    expect(stored?.retainUntil).toBe(retainUntil.getTime());
    expect(stored?.versionId).toBe(result.versionId);
    const lines = stored!.body.toString('utf8').trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { resourceType: string }).resourceType)).toEqual(Array(9).fill('AuditEvent'));
    expect(createHash('sha256').update(stored!.body).digest('hex')).toBe(result.sha256);

    const head = await signed('GET', key);
    expect(head.headers.get('x-amz-object-lock-mode')).toBe('COMPLIANCE');
    await head.arrayBuffer();
    const del = await signed('DELETE', key, `versionId=${result.versionId}`);
    expect(del.status).toBe(403);
    await del.text();
    expect(s3.refusals).toContain('AccessDenied');
    expect(s3.versions(bucket, key)).toHaveLength(1);
  });

  it('the server refuses a locked write without a checksum (so the client must send one)', async () => {
    const res = await signed('PUT', 'x/no-checksum.ndjson', '', { 'x-amz-object-lock-mode': 'COMPLIANCE', 'x-amz-object-lock-retain-until-date': retainUntil.toISOString() }, 'data\n');
    expect(res.status).toBe(400);
    await res.text();
  });

  it('fails with the S3 error code when the signature is wrong, naming no secret', async () => {
    const client = createS3ObjectLockClient({ endpoint: s3.endpoint, bucket, region: s3.region, credentials: { accessKeyId: s3.credentials.accessKeyId, secretAccessKey: 'wrong-secret' } });
    const err = await client.putLockedObject({ key: 'x/bad.ndjson', body: 'x\n', retainUntil }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(S3ExportError);
    expect(err).toMatchObject({ status: 403, s3Code: 'SignatureDoesNotMatch' });
    expect(String((err as Error).message)).not.toContain('wrong-secret');
    await expect(client.putLockedObject({ key: 'bad key!', body: 'x', retainUntil })).rejects.toThrow(/object key/);
  });
});
