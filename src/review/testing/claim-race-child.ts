// SPDX-License-Identifier: Apache-2.0
/**
 * One "gateway instance" in the multi-process claim race (queue.int.test.ts): opens the SQLite
 * file on its own connection, waits for the common start time, then claims as the reviewer it
 * is given — either the next free item among the ids, until none is left, or one id once —
 * and prints the ids it won as JSON. Run with `node --import tsx`.
 */
import { tmpdir } from 'node:os';
import { createTestFieldCrypto } from '../../crypto/testing/memory-kms.js';
import { createDb } from '../../store/db.js';
import { createReviewRepo } from '../../store/repos/review-repo.js';

interface Order {
  readonly file: string;
  readonly reviewer: string;
  readonly ids: readonly string[];
  readonly mode: 'next' | 'one';
  readonly startAt: number;
  readonly now: number;
}

const order = JSON.parse(process.argv[2] ?? '{}') as Order;
const db = createDb(`sqlite:${order.file}`, { baseDir: tmpdir(), busyTimeoutMs: 20_000 });
const repo = createReviewRepo(db, await createTestFieldCrypto());
const won: string[] = [];
await new Promise((resolve) => setTimeout(resolve, Math.max(0, order.startAt - Date.now())));
const input = { reviewerId: order.reviewer, at: order.now, leaseUntil: order.now + 600_000 };
if (order.mode === 'one') {
  const claimed = await repo.claim(order.ids[0] ?? '', input);
  if (claimed !== undefined) won.push(claimed.id);
} else {
  for (;;) {
    const claimed = await repo.claimNext(order.ids, input);
    if (claimed === undefined) break;
    won.push(claimed.id);
  }
}
await db.destroy();
process.stdout.write(JSON.stringify(won));
