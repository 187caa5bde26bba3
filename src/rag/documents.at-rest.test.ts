// SPDX-License-Identifier: Apache-2.0
// Documents at rest, checked the way an attacker with the disk would: ingest notes carrying
// distinctive identifiers into a real SQLite file, then read every byte of every file in the
// state folder (database, -wal, -shm) for them. The raw chunks are ciphertexts; what the full-text
// index and the embeddings hold is the de-identified text, so the identifiers appear nowhere.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryAuditSink } from '../audit/testing/memory-sink.js';
import { createAuditWriter } from '../audit/writer.js';
import { configSchema } from '../config/schema.js';
import { ensureLocalKeyFile } from '../crypto/kms/local-keyfile.js';
import { createDeidentifier } from '../deid/deidentify.js';
import { createProviders } from '../providers/registry.js';
import { createEndpointDirectory } from '../registry/endpoints.js';
import { createMemoryRegistry } from '../registry/testing/memory-registry.js';
import { openStore } from '../store/store.js';
import { textDocument } from './documents.js';
import { createDocumentServices } from './runtime.js';
import { sharedDeidEngine } from './testing/harness.js';

const temps: string[] = [];
afterEach(async () => {
  await Promise.all(temps.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(full)));
    else out.push(full);
  }
  return out;
}

async function scan(dir: string, needles: readonly string[]): Promise<{ files: string[]; hits: string[] }> {
  const files = await filesUnder(dir);
  const hits: string[] = [];
  for (const file of files) {
    const bytes = await readFile(file);
    for (const [i, needle] of needles.entries()) {
      for (const encoding of ['utf8', 'utf16le'] as const) if (bytes.includes(Buffer.from(needle, encoding))) hits.push(`${file}: needle ${i} (${encoding})`);
    }
  }
  return { files, hits };
}

describe('documents: encryption at rest', () => {
  it('leaves no identifier, and no raw sentence that carries one, anywhere in the state folder', async () => {
    const home = await mkdtemp(join(tmpdir(), 'phigate-docs-'));
    temps.push(home);
    const kms = await ensureLocalKeyFile(join(home, 'keys', 'local-kek'));
    const store = await openStore({ url: 'sqlite:phigate.db', baseDir: home, kms });
    const config = configSchema.parse({ endpoints: [{ id: 'local-embed', kind: 'echo', models: [{ name: 'embed', capabilities: ['embeddings'] }] }], rag: { embeddingModel: 'embed' } });
    const providers = createProviders(config.endpoints, { baseDir: home, env: {} });
    const audit = await createAuditWriter({ sink: createMemoryAuditSink(), writeTimeoutMs: 2000 });
    const services = await createDocumentServices({
      config,
      store,
      endpoints: createEndpointDirectory(config.endpoints, providers),
      registry: createMemoryRegistry(),
      deidentifier: createDeidentifier({ detector: sharedDeidEngine() }),
      audit,
      clock: { now: Date.now },
      keyedHash: (v, p) => store.fieldCrypto.blindIndex(v, p),
      instanceId: 'test',
      logger: { info: () => undefined, warn: () => undefined },
    });

    const tag = randomBytes(4).toString('hex').toUpperCase();
    const name = `Zebulon${tag} Quartermaine`;
    const mrn = `${parseInt(tag, 16) % 90_000_000 + 10_000_000}`;
    const ssn = `${(parseInt(tag.slice(0, 2), 16) % 600) + 100}-55-${(parseInt(tag.slice(2), 16) % 9000) + 1000}`;
    const email = `canary.${tag.toLowerCase()}@example.org`;
    const phone = `(316) 555-${(parseInt(tag.slice(4), 16) % 9000) + 1000}`;
    // A raw sentence of the note (it carries the name): only its de-identified form may be stored.
    const sentence = `${name} is a 67 year-old man seen for chest pain`;
    const text = [
      `# History of Present Illness`,
      `${sentence}. MRN: ${mrn}. SSN ${ssn}.`,
      `Contact: ${email}, phone ${phone}.`,
      ``,
      `# Procedure`,
      `Cardiac catheterisation was uneventful; the radial artery was used.`,
    ].join('\n');
    const result = await services.ingester.ingest(
      textDocument({ patient: 'Patient/canary-1', text, knownPhi: { names: [name] } }, services.limits),
      { userId: 'u', requestId: 'r' },
    );
    expect(result.embedded).toBe(true);
    // The note is really there and readable through the store (so the scan below is not passing on an empty database).
    const hits = await services.retriever.retrieve('chest pain catheterisation', { patient: 'Patient/canary-1', allowedSensitivity: [], units: [], k: 3 }, { caller: { requestId: 'r' } });
    expect(hits.map((h) => h.text).join('\n')).toContain(name);
    const needles = [name, `Zebulon${tag}`, mrn, ssn, email, phone, sentence, 'Patient/canary-1', 'canary-1'];

    const open = await scan(home, needles);
    expect(open.files.some((f) => f.endsWith('phigate.db-wal'))).toBe(true);
    expect(open.hits).toEqual([]);
    await audit.drain();
    await Promise.all([...providers.values()].map((p) => p.close()));
    await store.close();
    const closed = await scan(home, needles);
    expect(closed.hits).toEqual([]);

    // The de-identified text is what the index holds: clinical words kept, identifiers typed.
    const reopened = await openStore({ url: 'sqlite:phigate.db', baseDir: home, kms });
    const rows = await reopened.db.selectFrom('document_chunks').select('deid_text').execute();
    const indexed = rows.map((r) => r.deid_text).join('\n');
    expect(indexed).toContain('[NAME] is a 67 year-old man seen for chest pain');
    expect(indexed).toContain('Cardiac catheterisation was uneventful');
    await reopened.close();

    // The scan is able to fail: the same bytes in clear are found.
    await writeFile(join(home, 'leak.txt'), `note: ${mrn}`);
    expect((await scan(home, needles)).hits).toHaveLength(1);
  });
});
