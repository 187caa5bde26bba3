// SPDX-License-Identifier: Apache-2.0
// The retrieval scope property, run on every database (SQLite and PGlite in
// rag/retrieve.property.test.ts, the real PostgreSQL server in rag/retrieve.property.int.test.ts).
// Property: for random documents across patients, sensitivity labels and units, and random
// callers' scopes and queries, retrieval never returns a chunk outside the scope and never more
// than k — and, because the scope is applied before ranking, never fewer than min(k, the number
// of chunks in scope). The expected scope is computed here from the generated corpus, not read
// back from the database.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sensitiveCategories, type SensitiveCategory } from '../../registry/use-case-spec.js';
import { textDocument } from '../documents.js';
import type { RagHarness } from './harness.js';

const patients = ['Patient/p0', 'Patient/p1', 'Patient/p2', 'Patient/p3'] as const;
const units = ['icu', 'ward-2', 'onc'] as const;
const vocabulary = ['cough', 'fever', 'insulin', 'wound', 'dressing', 'warfarin', 'rash', 'dyspnoea', 'sepsis', 'fracture', 'pain', 'nausea'];

interface GeneratedDoc {
  readonly patient: (typeof patients)[number];
  readonly sensitivity: readonly SensitiveCategory[];
  readonly unit: (typeof units)[number] | null;
  readonly words: readonly string[];
}

interface GeneratedScope {
  readonly patient: (typeof patients)[number];
  readonly allowed: readonly SensitiveCategory[];
  readonly units: readonly (typeof units)[number][];
  readonly k: number;
  readonly query: readonly string[];
}

const docArb: fc.Arbitrary<GeneratedDoc> = fc.record({
  patient: fc.constantFrom(...patients),
  // Mostly unlabelled, as clinical notes are; a labelled one carries one or more categories.
  sensitivity: fc.oneof({ arbitrary: fc.constant([] as SensitiveCategory[]), weight: 3 }, { arbitrary: fc.subarray([...sensitiveCategories], { minLength: 1 }), weight: 1 }),
  unit: fc.option(fc.constantFrom(...units), { nil: null, freq: 2 }),
  words: fc.array(fc.constantFrom(...vocabulary), { minLength: 1, maxLength: 12 }),
});

const scopeArb: fc.Arbitrary<GeneratedScope> = fc.record({
  patient: fc.constantFrom(...patients),
  allowed: fc.subarray([...sensitiveCategories]),
  units: fc.subarray([...units]),
  k: fc.integer({ min: 1, max: 8 }),
  query: fc.array(fc.constantFrom(...vocabulary, 'unrelated'), { minLength: 1, maxLength: 4 }),
});

function inScope(doc: GeneratedDoc, scope: GeneratedScope): boolean {
  return doc.patient === scope.patient && doc.sensitivity.every((c) => scope.allowed.includes(c)) && (doc.unit === null || scope.units.includes(doc.unit));
}

/** Runs the property against the harness `open` makes. */
export function describeProperty(name: string, open: () => Promise<RagHarness>, numRuns: number): void {
  describe(`retrieval scope property: ${name}`, () => {
    let h: RagHarness;
    beforeAll(async () => {
      h = await open();
    });
    afterAll(() => h.close());

    it(`property: never outside the scope, never more than k, never fewer than min(k, in scope) (${numRuns} corpora × 6 callers)`, async () => {
      let checked = 0;
      let returned = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(docArb, { minLength: 1, maxLength: 14 }), fc.array(scopeArb, { minLength: 6, maxLength: 6 }), async (docs, scopes) => {
          for (const row of await h.db.selectFrom('documents').select('id').execute()) await h.ingester.remove(row.id);
          const byId = new Map<string, GeneratedDoc>();
          for (const [i, doc] of docs.entries()) {
            // A distinct ordinal word keeps every note distinct, so none is dropped as a duplicate.
            const text = `Note ${i}: ${doc.words.join(' ')}.`;
            const result = await h.ingester.ingest(textDocument({ patient: doc.patient, text, sensitivity: doc.sensitivity, unit: doc.unit ?? undefined }, h.limits), { userId: 'u', requestId: 'prop' });
            byId.set(result.id, doc);
          }
          for (const s of scopes) {
            const hits = await h.retriever.retrieve(s.query.join(' '), { patient: s.patient, allowedSensitivity: s.allowed, units: s.units, k: s.k }, { caller: { requestId: 'prop' } });
            const expectedInScope = docs.filter((d) => inScope(d, s)).length;
            expect(hits.length).toBeLessThanOrEqual(s.k);
            // Every in-scope chunk has a vector, so the vector ranker alone fills k when it can.
            expect(hits.length).toBe(Math.min(s.k, expectedInScope));
            for (const hit of hits) {
              const doc = byId.get(hit.documentId);
              expect(doc).toBeDefined();
              expect(inScope(doc as GeneratedDoc, s)).toBe(true);
              expect(hit.sensitivity.every((c) => s.allowed.includes(c))).toBe(true);
            }
            checked += 1;
            returned += hits.length;
          }
        }),
        { numRuns },
      );
      process.stdout.write(`retrieval property (${name}): ${checked} retrievals, ${returned} chunks returned, 0 outside the scope\n`);
    });
  });
}

