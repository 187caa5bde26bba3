// SPDX-License-Identifier: Apache-2.0
/**
 * Development aid: runs `detect()` over the English development set repeatedly, for
 * `node --cpu-prof` (`npx tsx --cpu-prof bench/deid/profile.ts`) or a quick MB/s figure.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDeidEngine } from '../../src/deid/detect.js';
import { buildDevSet } from './dev-set.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const sharedData = process.env.PHIGATE_SHARED_DATA ?? resolve(here, '..', '..', '..', 'shared', 'data');
const rounds = Number(process.argv[2] ?? 3);
const dev = buildDevSet(resolve(sharedData, 'notes'));
const texts = [...(dev['dev:mtsamples-planted'] ?? []), ...(dev['dev:synthea-notes'] ?? [])].map((d) => d.text);
const engine = createDeidEngine();
for (const t of texts.slice(0, 100)) engine.detect(t);
const bytes = texts.reduce((s, t) => s + Buffer.byteLength(t), 0);
for (let r = 0; r < rounds; r++) {
  const c0 = process.cpuUsage();
  let spans = 0;
  for (const t of texts) spans += engine.detect(t).length;
  const c = process.cpuUsage(c0);
  console.log(`round ${r}: ${(bytes / 1e6 / ((c.user + c.system) / 1e6)).toFixed(2)} MB/s of CPU time (${spans} spans)`);
}
