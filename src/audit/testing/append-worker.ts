// SPDX-License-Identifier: Apache-2.0
/**
 * A separate writer process for the multi-writer tests: appends COUNT audit events to the store
 * at URL through its own connection, in concurrent bursts, as a second gateway instance would.
 *
 *   node --import tsx src/audit/testing/append-worker.ts <store-url> <instance> <count> [schema]
 */
import { tmpdir } from 'node:os';
import { createDb } from '../../store/db.js';
import type { AuditEvent } from '../record.js';
import { createSqlAuditSink } from '../sql-sink.js';
import { createAuditWriter } from '../writer.js';

const [url, instance, countText, schema] = process.argv.slice(2);
if (url === undefined || instance === undefined || countText === undefined) throw new Error('usage: append-worker <store-url> <instance> <count> [schema]');
const count = Number(countText);
const db = createDb(url, { baseDir: tmpdir(), busyTimeoutMs: 30_000, ...(schema === undefined ? {} : { schema }) });
const writer = await createAuditWriter({ sink: createSqlAuditSink(db), writeTimeoutMs: 30_000 });
const event = (n: number): AuditEvent => ({
  id: `${instance}-${n}`,
  recordedAt: new Date().toISOString(),
  type: 'chat.completion',
  stage: 'completed',
  outcome: 'success',
  requestId: `${instance}-req-${n}`,
  status: 200,
  instance,
});
for (let n = 0; n < count; n += 10) {
  await Promise.all(Array.from({ length: Math.min(10, count - n) }, (_, i) => writer.append(event(n + i))));
}
await db.destroy();
