// SPDX-License-Identifier: Apache-2.0
/**
 * The `DocumentIndex` contract, run against every implementation (SQLite in
 * `index/sqlite-index.test.ts`, PGlite with pgvector in `index/postgres-index.pglite.test.ts`, a
 * real PostgreSQL without pgvector in `index/postgres-index.int.test.ts`). Rows are written the way
 * the ingester writes them (repository insert + `index.add` in one transaction).
 */
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hashEmbedding } from '../providers/echo/echo-provider.js';
import { migrateToLatest } from '../store/migrate.js';
import { createDocumentRepo, type NewChunk } from '../store/repos/document-repo.js';
import type { Database } from '../store/schema.js';
import { sensitivityMask } from './sensitivity-mask.js';
import { queryTerms, type DocumentIndex, type SearchScope } from './vector-index.js';

export interface IndexUnderTest {
  readonly db: Kysely<Database>;
  readonly index: DocumentIndex;
  readonly cleanup?: () => Promise<void>;
}

interface Row {
  readonly id: string;
  readonly patient: string;
  readonly text: string;
  readonly mask?: number;
  readonly unit?: string | null;
  /** Embed with this model (default `m1`), or not at all (`null`). */
  readonly model?: string | null;
  readonly dims?: number;
}

const hex = (s: string): string => Buffer.from(s.padEnd(16, '_')).toString('hex').slice(0, 32);
const patientIndex = (p: string): string => hex(`patient:${p}`);

function scopeOf(patient: string, extra: Partial<SearchScope> = {}): SearchScope {
  return { patientIndex: patientIndex(patient), disallowedMask: 0, units: [], ...extra };
}

async function write(db: Kysely<Database>, index: DocumentIndex, rows: readonly Row[]): Promise<void> {
  for (const row of rows) if (row.model !== null) await index.prepare(row.dims ?? 64);
  await db.transaction().execute(async (trx) => {
    const repo = createDocumentRepo(trx);
    for (const row of rows) {
      const documentId = `doc-${row.id}`;
      const chunk: NewChunk = {
        id: `${documentId}:0`,
        documentId,
        ordinal: 0,
        patientIndex: patientIndex(row.patient),
        sensitivityMask: row.mask ?? 0,
        unit: row.unit ?? null,
        textEnc: 'v1.test.ciphertext',
        deidText: row.text,
        embedding: row.model === null ? undefined : { model: row.model ?? 'm1', vector: Float32Array.from(hashEmbedding(row.text, row.dims ?? 64)) },
      };
      await repo.insert(
        {
          id: documentId,
          patientIndex: chunk.patientIndex,
          contentIndex: hex(`content:${row.id}`),
          sourceIndex: null,
          source: 'text',
          label: null,
          date: null,
          sensitivity: [],
          sensitivityMask: chunk.sensitivityMask,
          unit: chunk.unit,
          charCount: row.text.length,
          chunkCount: 1,
          embeddingModel: chunk.embedding?.model ?? null,
          createdBy: 'test',
          createdAt: 1,
        },
        [chunk],
      );
      await index.add(trx, [{ id: chunk.id, documentId, deidText: chunk.deidText, embedding: chunk.embedding }]);
    }
  });
}

const ids = (hits: readonly { chunkId: string }[]): string[] => hits.map((h) => h.chunkId);
const vec = (text: string, dims = 64): Float32Array => Float32Array.from(hashEmbedding(text, dims));

export function describeDocumentIndexContract(name: string, open: () => Promise<IndexUnderTest>, expected: { readonly vectorMode: 'exact' | 'pgvector' }): void {
  describe(`DocumentIndex contract: ${name}`, () => {
    let under: IndexUnderTest;
    let db: Kysely<Database>;
    let index: DocumentIndex;

    beforeAll(async () => {
      under = await open();
      db = under.db;
      index = under.index;
      await migrateToLatest(db);
      await index.init();
    });
    afterAll(async () => {
      await db.destroy();
      await under.cleanup?.();
    });
    beforeEach(async () => {
      const all = await db.selectFrom('document_chunks').select('id').execute();
      await db.transaction().execute(async (trx) => {
        await index.remove(trx, all.map((r) => r.id));
        await trx.deleteFrom('documents').execute();
      });
    });

    it(`runs vector search in ${expected.vectorMode} mode`, () => {
      expect(index.vectorMode).toBe(expected.vectorMode);
    });

    it('ranks full-text matches inside the patient, best first', async () => {
      await write(db, index, [
        { id: 'a', patient: 'p1', text: 'Chest pain radiating to the left arm; troponin negative.' },
        { id: 'b', patient: 'p1', text: 'Follow-up for asthma; peak flow improved.' },
        { id: 'c', patient: 'p1', text: 'Chest pain resolved. Chest wall tenderness on palpation.' },
      ]);
      const hits = await index.searchText(scopeOf('p1'), queryTerms('chest pain'), 10);
      expect(new Set(ids(hits))).toEqual(new Set(['doc-a:0', 'doc-c:0']));
      expect(hits.map((h) => h.rank)).toEqual([1, 2]);
      // Stemming: "pains" finds "pain".
      expect(ids(await index.searchText(scopeOf('p1'), queryTerms('pains'), 10)).sort()).toEqual(['doc-a:0', 'doc-c:0']);
      expect(await index.searchText(scopeOf('p1'), [], 10)).toEqual([]);
    });

    it('never ranks another patient\'s chunk, even an exact match', async () => {
      await write(db, index, [
        { id: 'mine', patient: 'p1', text: 'Metformin started for type 2 diabetes.' },
        { id: 'theirs', patient: 'p2', text: 'Metformin started for type 2 diabetes.' },
      ]);
      expect(ids(await index.searchText(scopeOf('p1'), queryTerms('metformin diabetes'), 50))).toEqual(['doc-mine:0']);
      expect(ids(await index.searchVector(scopeOf('p1'), { model: 'm1', vector: vec('Metformin started for type 2 diabetes.') }, 50))).toEqual(['doc-mine:0']);
      expect(await index.searchText(scopeOf('p3'), queryTerms('metformin'), 50)).toEqual([]);
    });

    it('applies the scope before ranking: k = 1 still finds the one chunk in scope among better matches', async () => {
      const rows: Row[] = [{ id: 'in', patient: 'p1', text: 'warfarin dose' }];
      for (let i = 0; i < 30; i++) rows.push({ id: `out${i}`, patient: `other${i}`, text: 'warfarin warfarin warfarin dose dose' });
      for (let i = 0; i < 10; i++) rows.push({ id: `sens${i}`, patient: 'p1', text: 'warfarin warfarin warfarin dose dose', mask: sensitivityMask(['substance_use_part2']) });
      await write(db, index, rows);
      const scope = scopeOf('p1', { disallowedMask: sensitivityMask(['substance_use_part2']) });
      expect(ids(await index.searchText(scope, queryTerms('warfarin dose'), 1))).toEqual(['doc-in:0']);
      expect(ids(await index.searchVector(scope, { model: 'm1', vector: vec('warfarin warfarin warfarin dose dose') }, 1))).toEqual(['doc-in:0']);
    });

    it('keeps disallowed sensitivity and other units out; unrestricted chunks stay in', async () => {
      const part2 = sensitivityMask(['substance_use_part2']);
      const hiv = sensitivityMask(['hiv']);
      await write(db, index, [
        { id: 'plain', patient: 'p1', text: 'lisinopril for hypertension' },
        { id: 'part2', patient: 'p1', text: 'lisinopril and methadone clinic', mask: part2 },
        { id: 'both', patient: 'p1', text: 'lisinopril viral load', mask: part2 | hiv },
        { id: 'icu', patient: 'p1', text: 'lisinopril held in icu', unit: 'icu' },
        { id: 'ward', patient: 'p1', text: 'lisinopril on ward', unit: 'ward-3' },
      ]);
      const q = queryTerms('lisinopril');
      const all = part2 | hiv;
      expect(ids(await index.searchText(scopeOf('p1', { disallowedMask: all }), q, 50)).sort()).toEqual(['doc-plain:0']);
      expect(ids(await index.searchText(scopeOf('p1', { disallowedMask: hiv }), q, 50)).sort()).toEqual(['doc-part2:0', 'doc-plain:0']);
      expect(ids(await index.searchText(scopeOf('p1', { disallowedMask: 0 }), q, 50)).sort()).toEqual(['doc-both:0', 'doc-part2:0', 'doc-plain:0']);
      expect(ids(await index.searchText(scopeOf('p1', { disallowedMask: all, units: ['icu'] }), q, 50)).sort()).toEqual(['doc-icu:0', 'doc-plain:0']);
      expect(ids(await index.searchText(scopeOf('p1', { disallowedMask: all, units: ['icu', 'ward-3'] }), q, 50)).sort()).toEqual(['doc-icu:0', 'doc-plain:0', 'doc-ward:0']);
      const v = { model: 'm1', vector: vec('lisinopril on ward') };
      expect(ids(await index.searchVector(scopeOf('p1', { disallowedMask: all }), v, 50)).sort()).toEqual(['doc-plain:0']);
      expect(ids(await index.searchVector(scopeOf('p1', { disallowedMask: all, units: ['ward-3'] }), v, 1))).toEqual(['doc-ward:0']);
    });

    it('returns at most `limit` hits', async () => {
      const rows: Row[] = [];
      for (let i = 0; i < 25; i++) rows.push({ id: `n${i}`, patient: 'p1', text: `amoxicillin course day ${i}` });
      await write(db, index, rows);
      for (const limit of [1, 5, 24, 25, 100]) {
        expect((await index.searchText(scopeOf('p1'), queryTerms('amoxicillin'), limit)).length).toBe(Math.min(limit, 25));
        expect((await index.searchVector(scopeOf('p1'), { model: 'm1', vector: vec('x') }, limit)).length).toBe(Math.min(limit, 25));
      }
      expect(await index.searchText(scopeOf('p1'), queryTerms('amoxicillin'), 0)).toEqual([]);
    });

    it('finds the nearest vector first and compares only vectors of the same model and length', async () => {
      await write(db, index, [
        { id: 'x', patient: 'p1', text: 'alpha text' },
        { id: 'y', patient: 'p1', text: 'beta text' },
        { id: 'other-model', patient: 'p1', text: 'gamma text', model: 'm2' },
        { id: 'other-dims', patient: 'p1', text: 'gamma text', dims: 32 },
        { id: 'none', patient: 'p1', text: 'gamma text', model: null },
      ]);
      const near = await index.searchVector(scopeOf('p1'), { model: 'm1', vector: vec('beta text') }, 10);
      expect(near[0]?.chunkId).toBe('doc-y:0');
      expect(ids(near).sort()).toEqual(['doc-x:0', 'doc-y:0']);
      expect(ids(await index.searchVector(scopeOf('p1'), { model: 'm2', vector: vec('gamma text') }, 10))).toEqual(['doc-other-model:0']);
      expect(ids(await index.searchVector(scopeOf('p1'), { model: 'm1', vector: vec('gamma text', 32) }, 10))).toEqual(['doc-other-dims:0']);
    });

    it('does not index the de-identifier\'s placeholders as words', async () => {
      await write(db, index, [{ id: 'ph', patient: 'p1', text: '[NAME] seen on [DATE] by [NAME_2] for cough' }]);
      expect(await index.searchText(scopeOf('p1'), ['name'], 10)).toEqual([]);
      expect(await index.searchText(scopeOf('p1'), ['date'], 10)).toEqual([]);
      expect(ids(await index.searchText(scopeOf('p1'), ['cough'], 10))).toEqual(['doc-ph:0']);
    });

    it('forgets removed chunks', async () => {
      await write(db, index, [{ id: 'gone', patient: 'p1', text: 'insulin glargine nightly' }]);
      expect(ids(await index.searchText(scopeOf('p1'), ['insulin'], 10))).toEqual(['doc-gone:0']);
      await db.transaction().execute(async (trx) => {
        await index.remove(trx, ['doc-gone:0']);
        await createDocumentRepo(trx).delete('doc-gone');
      });
      expect(await index.searchText(scopeOf('p1'), ['insulin'], 10)).toEqual([]);
      expect(await index.searchVector(scopeOf('p1'), { model: 'm1', vector: vec('insulin glargine nightly') }, 10)).toEqual([]);
    });

    it('refuses a scope that is not a blind index', async () => {
      await expect(index.searchText({ patientIndex: "x' or 1=1 --", disallowedMask: 0, units: [] }, ['a'], 1)).rejects.toThrow(RangeError);
    });
  });
}
