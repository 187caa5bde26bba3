// SPDX-License-Identifier: Apache-2.0
/**
 * Development aid: prints the engine's false alarms and misses per category for one data set, with
 * a little context, to the terminal only (nothing is written; never paste its output into the
 * repository — the notes are third-party text).
 *
 * npx tsx bench/deid/inspect.ts --set dev:mtsamples-planted [--fp|--miss] [--type NAME] [--n 40] [--detector]
 */
import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDeidEngine } from '../../src/deid/detect.js';
import { buildDevSet, type Doc } from './dev-set.js';
import { isExcluded } from './score.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const sharedData = process.env.PHIGATE_SHARED_DATA ?? resolve(here, '..', '..', '..', 'shared', 'data');
const args = process.argv.slice(2);
const opt = (n: string): string | undefined => {
  const i = args.indexOf(n);
  return i >= 0 ? args[i + 1] : undefined;
};
const setName = opt('--set') ?? 'dev:mtsamples-planted';
const want = args.includes('--miss') ? 'miss' : 'fp';
const typeFilter = opt('--type');
const limit = Number(opt('--n') ?? 40);

let docs: Doc[];
if (setName.startsWith('dev:')) docs = buildDevSet(resolve(sharedData, 'notes'))[setName] ?? [];
else {
  const p = resolve(sharedData, 'deid', setName);
  docs = existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Doc) : [];
}
const language = setName.startsWith('meddocan') ? 'es' : 'en';
const engine = createDeidEngine({ language });
const counts = new Map<string, number>();
const examples = new Map<string, string[]>();
for (const d of docs) {
  const gold = new Int8Array(d.text.length);
  const goldType: string[] = [];
  for (const s of d.phi) {
    const neutral = isExcluded(s, d.text.slice(s.start, s.end));
    for (let i = s.start; i < s.end; i++) {
      gold[i] = neutral ? 2 : 1;
      goldType[i] = s.type;
    }
  }
  const spans = engine.detect(d.text, { language });
  const mask = new Uint8Array(d.text.length);
  for (const s of spans) for (let i = s.start; i < s.end; i++) mask[i] = 1;
  const ctx = (a: number, b: number): string =>
    `${d.text.slice(Math.max(0, a - 30), a)}[[${d.text.slice(a, b)}]]${d.text.slice(b, b + 30)}`.replace(/\s+/g, ' ');
  if (want === 'fp') {
    for (const s of spans) {
      let bad = false;
      for (let i = s.start; i < s.end; i++) if (gold[i] === 0 && /\w/.test(d.text[i] ?? '')) bad = true;
      if (!bad) continue;
      const key = `${s.type} ${args.includes('--detector') ? s.detector : ''}`;
      if (typeFilter && s.type !== typeFilter) continue;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      const ex = examples.get(key) ?? [];
      ex.push(ctx(s.start, s.end));
      examples.set(key, ex);
    }
  } else {
    for (const s of d.phi) {
      if (isExcluded(s, d.text.slice(s.start, s.end))) continue;
      if (typeFilter && s.type !== typeFilter) continue;
      let missed = false;
      for (let i = s.start; i < s.end; i++) if (!mask[i] && /\w/.test(d.text[i] ?? '')) missed = true;
      if (!missed) continue;
      counts.set(s.type, (counts.get(s.type) ?? 0) + 1);
      const ex = examples.get(s.type) ?? [];
      const marked = [...d.text.slice(s.start, s.end)].map((c, k) => (mask[s.start + k] ? c.toUpperCase() === c ? c : c : c)).join('');
      ex.push(`${ctx(s.start, s.end)}  (${marked.length} chars)`);
      examples.set(s.type, ex);
    }
  }
}
for (const [k, c] of [...counts].sort((a, b) => b[1] - a[1])) {
  console.log(`\n## ${k}: ${c}`);
  const ex = examples.get(k) ?? [];
  const step = Math.max(1, Math.floor(ex.length / limit));
  for (let i = 0; i < ex.length && i / step < limit; i += step) console.log(`  ${ex[i]}`);
}
