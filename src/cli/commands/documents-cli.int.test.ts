// SPDX-License-Identifier: Apache-2.0
// `phigate documents` in-process against a real state folder (SQLite file, local key file, audit
// chain), fed with the shared Synthea notes (read in place; written out only to a temporary
// folder as the files an operator would ingest).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCliStateFolder, runCli, withCliStore } from '../../../test/support/cli-state.js';
import { sharedDataPath } from '../../../test/support/shared-data.js';
import type { OpenedStore } from '../../store/store.js';

interface Note {
  readonly id: string;
  readonly patient: string;
  readonly date: string;
  readonly type: string;
  readonly text: string;
}

let dir: string;
let home: string;
const notes = readFileSync(sharedDataPath('notes', 'synthea-notes.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Note);
const patients = readFileSync(sharedDataPath('notes', 'synthea-notes-patients.ndjson'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as { id: string; resourceType: string });
const byPatient = new Map<string, Note[]>();
for (const note of notes) byPatient.set(note.patient, [...(byPatient.get(note.patient) ?? []), note]);
const [firstPatient, secondPatient] = [...byPatient.keys()] as [string, string];

/** Runs one command; returns what it printed. */
async function phigate(...args: string[]): Promise<string> {
  return runCli(home, args);
}

async function withStore<T>(action: (store: OpenedStore) => Promise<T>): Promise<T> {
  return withCliStore(home, action);
}

beforeAll(async () => {
  ({ dir, home } = await createCliStateFolder('phigate-documents-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  process.exitCode = undefined;
});

describe('phigate documents', () => {
  it('ingests a folder of notes with a summary, and a second run finds them all already stored', async () => {
    const folder = join(dir, 'notes');
    mkdirSync(join(folder, 'nested'), { recursive: true });
    const mine = (byPatient.get(firstPatient) ?? []).slice(0, 12);
    mine.forEach((note, i) => writeFileSync(join(folder, i % 3 === 0 ? 'nested' : '.', `note-${i}.txt`), note.text));
    writeFileSync(join(folder, 'ignored.pdf'), 'not a note');
    const first = JSON.parse(await phigate('documents', 'ingest', '--patient', firstPatient, '--dir', folder, '--json')) as { files: number; ingested: number; duplicates: number; refused: unknown[]; chunks: number };
    expect(first).toMatchObject({ files: 12, ingested: 12, duplicates: 0, refused: [] });
    expect(first.chunks).toBeGreaterThanOrEqual(12);
    const again = await phigate('documents', 'ingest', '--patient', firstPatient, '--dir', folder);
    expect(again).toContain('0 ingested (0 chunks), 12 already stored');
    expect(process.exitCode).toBeUndefined();
  });

  it('ingests a FHIR Bundle of DocumentReferences, using the bundled Patient for detection, and lists them', async () => {
    const theirs = (byPatient.get(secondPatient) ?? []).slice(0, 5);
    const patient = patients.find((p) => `Patient/${p.id}` === secondPatient);
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        { resource: patient },
        ...theirs.map((note) => ({
          resource: {
            resourceType: 'DocumentReference',
            id: note.id.replace(/^synthea-docref-/, ''),
            status: 'current',
            subject: { reference: note.patient },
            date: note.date,
            type: { text: note.type },
            content: [{ attachment: { contentType: 'text/plain', data: Buffer.from(note.text).toString('base64') } }],
          },
        })),
      ],
    };
    const file = join(dir, 'bundle.json');
    writeFileSync(file, JSON.stringify(bundle));
    const out = await phigate('documents', 'ingest', '--fhir', file, '--label', 'HIV');
    expect(out).toContain('5 ingested');
    const list = JSON.parse(await phigate('documents', 'list', '--patient', secondPatient, '--json')) as { id: string; label: string; sensitivity: string[]; source: string }[];
    expect(list).toHaveLength(5);
    expect(list.every((d) => d.source === 'fhir' && d.sensitivity.join() === 'hiv' && /^(History and physical note|Emergency department note), \d{4}$/.test(d.label))).toBe(true);
    // The patient's own name (from the bundled Patient) is replaced in what the index holds.
    const given = (patient as unknown as { name: { given: string[] }[] }).name[0]?.given[0] as string;
    await withStore(async (store) => {
      const rows = await store.db.selectFrom('document_chunks').select('deid_text').where('document_id', 'in', list.map((d) => d.id)).execute();
      expect(rows.length).toBeGreaterThanOrEqual(5);
      for (const row of rows) expect(row.deid_text).not.toContain(given);
    });
  });

  it('refuses an oversized note and a file that is not FHIR JSON, exits 1, and stores nothing for them', async () => {
    const big = join(dir, 'big.txt');
    writeFileSync(big, 'dressing change '.repeat(70_000));
    const out = await phigate('documents', 'ingest', '--patient', firstPatient, '--file', big);
    expect(out).toContain('refused');
    expect(out).toContain('document_too_large');
    expect(process.exitCode).toBe(1);
    process.exitCode = undefined;
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"resourceType": "DocumentReference", ');
    expect(await phigate('documents', 'ingest', '--fhir', broken)).toContain('not valid JSON');
    expect(process.exitCode).toBe(1);
    await expect(phigate('documents', 'ingest', '--patient', firstPatient)).rejects.toThrow(/exactly one of/);
    await expect(phigate('documents', 'ingest', '--dir', dir)).rejects.toThrow(/--patient is required/);
  });

  it('deletes a document, and every change is in the audit chain without text or patient ids', async () => {
    const [doc] = JSON.parse(await phigate('documents', 'list', '--patient', firstPatient, '--json')) as { id: string }[];
    expect(await phigate('documents', 'delete', (doc as { id: string }).id)).toContain('deleted');
    await expect(phigate('documents', 'delete', (doc as { id: string }).id)).rejects.toMatchObject({ code: 'document_not_found' });
    await withStore(async (store) => {
      const rows = await store.db.selectFrom('audit_events').select('body').orderBy('seq').execute();
      const events = rows.map((r) => JSON.parse(r.body) as { type: string; outcome: string; errorCode?: string });
      const types = events.map((e) => e.type);
      expect(types.filter((t) => t === 'document.ingest').length).toBeGreaterThanOrEqual(12 + 12 + 5 + 1);
      expect(types).toContain('document.list');
      expect(events.filter((e) => e.type === 'document.delete').map((e) => e.outcome)).toEqual(['success', 'denied']);
      expect(events.some((e) => e.type === 'document.ingest' && e.errorCode === 'document_too_large')).toBe(true);
      const all = rows.map((r) => r.body).join('\n');
      expect(all).not.toContain(firstPatient);
      expect(all).not.toContain('Chief Complaint');
    });
  });
});
