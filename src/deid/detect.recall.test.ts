// SPDX-License-Identifier: Apache-2.0
/**
 * Recall regression on a slice of the shared data, scored exactly as bench/deid (Safe Harbor rules).
 * Floors sit a little below the figures measured when they were set; a drop below one fails.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sharedDataPath } from '../../test/support/shared-data.js';
import { buildDevSet, type Doc } from '../../bench/deid/dev-set.js';
import { Categories, newAcc, prepare, scoreDoc } from '../../bench/deid/score.js';
import { createDeidEngine } from './detect.js';

function readJsonl(path: string, limit: number): Doc[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .slice(0, limit)
    .map((l) => JSON.parse(l) as Doc);
}

function score(docs: readonly Doc[], language: 'en' | 'es'): { recall: number; precision: number; touched: number } {
  const engine = createDeidEngine({ language });
  const cats = new Categories();
  const acc = newAcc();
  for (const doc of docs) {
    const p = prepare(doc, cats);
    scoreDoc(p, engine.detect(doc.text).map((s) => [s.start, s.end, s.type] as [number, number, string]), acc);
  }
  return { recall: acc.strict / acc.gold, precision: acc.flaggedGold / acc.flagged, touched: acc.phiFreeTouched / (acc.phiFreeDocs || 1) };
}

describe('recall floors on shared data', () => {
  const dev = buildDevSet(sharedDataPath('notes'));

  it('English clinical development set: planted identifiers', () => {
    const r = score((dev['dev:mtsamples-planted'] ?? []).slice(0, 120), 'en');
    // measured 0.997 / 0.973
    expect(r.recall).toBeGreaterThanOrEqual(0.995);
    expect(r.precision).toBeGreaterThanOrEqual(0.96);
  });

  it('English clinical development set: Synthea notes', () => {
    const r = score((dev['dev:synthea-notes'] ?? []).filter((_, i) => i % 10 === 0), 'en');
    // measured 1.000 / 1.000
    expect(r.recall).toBeGreaterThanOrEqual(0.995);
    expect(r.precision).toBeGreaterThanOrEqual(0.99);
  });

  it('MEDDOCAN (Spanish pack)', () => {
    const r = score(readJsonl(sharedDataPath('deid', 'meddocan.jsonl'), 150), 'es');
    // measured 0.970 / 0.937
    expect(r.recall).toBeGreaterThanOrEqual(0.965);
    expect(r.precision).toBeGreaterThanOrEqual(0.93);
  });

  it('Presidio synthetic English (general PII)', () => {
    const r = score(readJsonl(sharedDataPath('deid', 'presidio_synth_v2.jsonl'), 400), 'en');
    // measured 0.645 / 0.988
    expect(r.recall).toBeGreaterThanOrEqual(0.63);
    expect(r.precision).toBeGreaterThanOrEqual(0.98);
  });

  it('PHI-free MTSamples notes: few touched', () => {
    const r = score(dev['dev:mtsamples-clean'] ?? [], 'en');
    // measured 5/79 = 0.063
    expect(r.touched).toBeLessThanOrEqual(0.07);
  });
});
