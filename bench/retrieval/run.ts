// SPDX-License-Identifier: Apache-2.0
/**
 * `npm run bench:retrieval` — does retrieval still find the right note when what is indexed is
 * de-identified text? Known-item retrieval on the MTSamples notes of ../shared/data/notes (read in
 * place): every note is ingested under one synthetic patient (Synthea notes under other patients
 * are distractors the scope must filter out), and each note's title (the upstream sample name,
 * e.g. "Laparoscopic Gastric Bypass Consult") is the query that should find it.
 *
 * Two indexes are built from the same notes with the same chunker and ranker:
 * - `de-identified` — phigate's: chunks de-identified (typed redaction) before indexing, the
 *   query de-identified the same way;
 * - `raw` — a baseline that indexes the raw text (what phigate does not do).
 * Retrieval is full text (BM25): the machine has no embedding model, and the echo provider's
 * vectors carry no meaning.
 *
 * Reports recall@1/5/10, MRR@10, the query words that de-identification removed from their own
 * note's indexed text, and retrieval latency (p50/p95, the whole retriever: query de-identified,
 * search in scope, decrypt, audit record). Options: --limit N (notes), --distractors N (Synthea
 * notes under other patients, default all 1,215), --json OUT.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMemoryAuditSink } from '../../src/audit/testing/memory-sink.js';
import { createAuditWriter } from '../../src/audit/writer.js';
import { configSchema } from '../../src/config/schema.js';
import { createFieldCrypto } from '../../src/crypto/envelope.js';
import { createMemoryKms } from '../../src/crypto/testing/memory-kms.js';
import { createDeidEngine } from '../../src/deid/detect.js';
import { createDeidentifier, type Deidentifier } from '../../src/deid/deidentify.js';
import { createEndpointDirectory } from '../../src/registry/endpoints.js';
import { createMemoryRegistry } from '../../src/registry/testing/memory-registry.js';
import { textDocument } from '../../src/rag/documents.js';
import { createDocumentServices } from '../../src/rag/runtime.js';
import { queryTerms } from '../../src/rag/vector-index.js';
import { createDb } from '../../src/store/db.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { createDataKeyRepo } from '../../src/store/repos/data-key-repo.js';

const here = dirname(fileURLToPath(import.meta.url));
const sharedData = process.env.PHIGATE_SHARED_DATA ?? resolve(here, '..', '..', '..', 'shared', 'data');
const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const limit = Number(opt('--limit') ?? 0);
const distractorsOpt = opt('--distractors');
const jsonOut = opt('--json') ?? resolve(here, 'results', 'retrieval.json');

interface MtNote {
  readonly id: string;
  readonly specialty: string;
  readonly title: string;
  readonly text: string;
}
interface SyntheaNote {
  readonly patient: string;
  readonly text: string;
}

const readJsonl = <T>(file: string): T[] =>
  readFileSync(resolve(sharedData, 'notes', file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);

const mtsamples = readJsonl<MtNote>('mtsamples.jsonl').slice(0, limit > 0 ? limit : undefined);
const synthea = readJsonl<SyntheaNote>('synthea-notes.jsonl').slice(0, distractorsOpt === undefined ? undefined : Number(distractorsOpt));

/** The title as a query: the upstream sample name without its " - 2" variant suffix. */
const queryOf = (note: MtNote): string => note.title.replace(/\s+-\s+\d+\s*$/, '').trim();

/** The baseline: a "de-identifier" that changes nothing, so raw text is indexed and queried. */
const passThrough: Deidentifier = {
  deidentify: (text) => Promise.resolve({ text, spans: [], replacements: [], form: 'identified', safeHarbor: false, pseudonymised: false, counts: {} }),
};

interface ModeResult {
  readonly mode: string;
  readonly queries: number;
  readonly recall1: number;
  readonly recall5: number;
  readonly recall10: number;
  readonly mrr10: number;
  readonly p50ms: number;
  readonly p95ms: number;
  readonly ingestSeconds: number;
  readonly chunks: number;
  /** Query words present in the note's raw text but not in its indexed text. */
  readonly wordsLost: number;
  readonly wordsChecked: number;
  /** The lost words themselves (title words: sample names, not PHI), with counts. */
  readonly lostWords: Readonly<Record<string, number>>;
  /** Ids of the notes whose known item this mode missed in the top 10 and the other found. */
  readonly missed: string[];
}

const quantile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

async function run(mode: 'de-identified' | 'raw', engine: ReturnType<typeof createDeidEngine>): Promise<ModeResult & { ranks: Map<string, number> }> {
  const db = createDb('sqlite::memory:', { baseDir: tmpdir() });
  await migrateToLatest(db);
  const fieldCrypto = await createFieldCrypto({ kms: createMemoryKms(), keyStore: createDataKeyRepo(db) });
  const config = configSchema.parse({});
  const audit = await createAuditWriter({ sink: createMemoryAuditSink(), writeTimeoutMs: 5000 });
  const deidentifier = mode === 'raw' ? passThrough : createDeidentifier({ detector: engine });
  const services = await createDocumentServices({
    config,
    store: { db, fieldCrypto },
    endpoints: createEndpointDirectory(config.endpoints, new Map()),
    registry: createMemoryRegistry(),
    deidentifier,
    audit,
    clock: { now: Date.now },
    keyedHash: (v, p) => fieldCrypto.blindIndex(v, p),
    instanceId: 'bench',
    logger: { info: () => undefined, warn: () => undefined },
  });
  const patient = 'Patient/bench-mtsamples';
  const started = process.hrtime.bigint();
  const docOf = new Map<string, string>();
  for (const note of mtsamples) {
    const result = await services.ingester.ingest(textDocument({ patient, text: note.text }, services.limits), { userId: 'bench', requestId: 'bench' });
    docOf.set(note.id, result.id);
  }
  for (const note of synthea) await services.ingester.ingest(textDocument({ patient: note.patient, text: note.text }, services.limits), { userId: 'bench', requestId: 'bench' });
  const ingestSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const chunks = (await db.selectFrom('document_chunks').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;

  // Query words that survive: in the raw note, and still in the note's indexed (de-identified) text.
  let wordsLost = 0;
  let wordsChecked = 0;
  const lostWords: Record<string, number> = {};
  for (const note of mtsamples) {
    const rows = await db.selectFrom('document_chunks').select('deid_text').where('document_id', '=', docOf.get(note.id) as string).execute();
    const indexed = new Set(queryTerms(rows.map((r) => r.deid_text).join(' ')));
    const raw = new Set(queryTerms(note.text));
    for (const term of queryTerms(queryOf(note))) {
      if (!raw.has(term)) continue;
      wordsChecked += 1;
      if (!indexed.has(term)) {
        wordsLost += 1;
        lostWords[term] = (lostWords[term] ?? 0) + 1;
      }
    }
  }

  const ranks = new Map<string, number>();
  const times: number[] = [];
  let h1 = 0;
  let h5 = 0;
  let h10 = 0;
  let rr = 0;
  for (const note of mtsamples) {
    const t0 = process.hrtime.bigint();
    const hits = await services.retriever.retrieve(queryOf(note), { patient, allowedSensitivity: [], units: [], k: 10 }, { caller: { requestId: 'bench' } });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const docs = [...new Set(hits.map((h) => h.documentId))];
    const rank = docs.indexOf(docOf.get(note.id) as string) + 1;
    ranks.set(note.id, rank);
    if (rank === 1) h1 += 1;
    if (rank >= 1 && rank <= 5) h5 += 1;
    if (rank >= 1 && rank <= 10) {
      h10 += 1;
      rr += 1 / rank;
    }
  }
  await audit.drain();
  await db.destroy();
  times.sort((a, b) => a - b);
  const n = mtsamples.length;
  return { mode, queries: n, recall1: h1 / n, recall5: h5 / n, recall10: h10 / n, mrr10: rr / n, p50ms: quantile(times, 0.5), p95ms: quantile(times, 0.95), ingestSeconds, chunks: Number(chunks), wordsLost, wordsChecked, lostWords, missed: [], ranks };
}

const engine = createDeidEngine({ language: 'en' });
const deid = await run('de-identified', engine);
const raw = await run('raw', engine);
const missedBy = (a: Map<string, number>, b: Map<string, number>): string[] => [...a.entries()].filter(([id, r]) => (r === 0 || r > 10) && (b.get(id) ?? 0) >= 1).map(([id]) => id);
const results = [
  { ...deid, missed: missedBy(deid.ranks, raw.ranks) },
  { ...raw, missed: missedBy(raw.ranks, deid.ranks) },
].map(({ ranks: _ranks, ...rest }) => rest);

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
console.log(`# Retrieval benchmark (known item: MTSamples title → its note; BM25; SQLite)\n`);
console.log(`${mtsamples.length} MTSamples notes under one patient, ${synthea.length} Synthea notes under ${new Set(synthea.map((n) => n.patient)).size} other patient(s) as distractors (filtered out by the scope).\n`);
console.log('| index | recall@1 | recall@5 | recall@10 | MRR@10 | query words lost to de-id | p50 ms | p95 ms | chunks | ingest s |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(`| ${r.mode} | ${pct(r.recall1)} | ${pct(r.recall5)} | ${pct(r.recall10)} | ${r.mrr10.toFixed(3)} | ${r.wordsLost}/${r.wordsChecked} | ${r.p50ms.toFixed(2)} | ${r.p95ms.toFixed(2)} | ${r.chunks} | ${r.ingestSeconds.toFixed(1)} |`);
}
console.log(`\nfound in the top 10 by raw but not by de-identified: ${results[0]?.missed.length ?? 0} (${(results[0]?.missed ?? []).slice(0, 12).join(', ')}${(results[0]?.missed.length ?? 0) > 12 ? ', …' : ''})`);
console.log(`found in the top 10 by de-identified but not by raw: ${results[1]?.missed.length ?? 0}`);
console.log(`query words de-identification removed from their own note: ${Object.entries(results[0]?.lostWords ?? {}).map(([w, n]) => `${w} ×${n}`).join(', ') || 'none'}`);
mkdirSync(dirname(jsonOut), { recursive: true });
writeFileSync(jsonOut, `${JSON.stringify({ notes: mtsamples.length, distractors: synthea.length, results }, null, 2)}\n`);
