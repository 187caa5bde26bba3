// SPDX-License-Identifier: Apache-2.0
/**
 * Rotation and ciphertext-binding tests, run against every database (SQLite in
 * `rotation.test.ts`, PostgreSQL in `rotation.int.test.ts`). The store is populated with rows in
 * every registered encrypted column, written with the registry's contexts.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { totpFieldContext } from '../auth/login.js';
import { migrateToLatest } from '../store/migrate.js';
import { createDataKeyRepo } from '../store/repos/data-key-repo.js';
import { documentChunkContext } from '../store/repos/document-repo.js';
import { tokenVaultContext } from '../store/repos/token-vault-repo.js';
import type { Database } from '../store/schema.js';
import { createFieldCrypto, type DataKeyStore, type EnvelopeFieldCrypto } from './envelope.js';
import { columnName, encryptedColumns, keyStatus, reencryptColumns, rotateDataKeys, rotateKek, startBackgroundReencryption, type EncryptedColumn, type ReencryptCursor, type RotatableKms } from './rotation.js';
import { createMemoryKms, type MemoryKms } from './testing/memory-kms.js';

export interface RotationDb {
  readonly db: Kysely<Database>;
  readonly cleanup?: () => Promise<void>;
}

/** Rows per table the suite writes. */
const ROWS = 6;

interface Cell {
  readonly column: EncryptedColumn;
  readonly key: readonly string[];
  readonly plaintext: string;
}

/** Writes ROWS rows into every table that has a registered column; returns every cell written. */
async function populate(db: Kysely<Database>, crypto: EnvelopeFieldCrypto): Promise<Cell[]> {
  const cells: Cell[] = [];
  const enc = async (table: string, column: string, key: readonly string[]): Promise<string> => {
    const col = encryptedColumns.find((c) => c.table === table && c.column === column);
    if (col === undefined) throw new Error(`${table}.${column} is not registered`);
    const plaintext = `synthetic ${table}.${column} ${key.join('/')} ${randomBytes(4).toString('hex')}`;
    cells.push({ column: col, key, plaintext });
    return crypto.encrypt(plaintext, col.context(key), col.dataClass);
  };
  const t = 1_800_000_000_000;
  await db.insertInto('users').values({ id: 'u-1', name: 'clinician', roles: '[]', org_unit: null, kind: 'user', created_at: t, disabled_at: null }).execute();
  await db.insertInto('access_units').values({ id: 'unit-1', organisation: 'default', created_at: t }).execute();
  for (let i = 0; i < ROWS; i++) {
    const id = `row-${i}`;
    await db
      .insertInto('token_vault')
      .values({ conversation_hash: `conv-${i % 2}`, token: `[NAME_${i}]`, type: 'NAME', sequence: i, value_index: `ix-${i}`, value_enc: await enc('token_vault', 'value_enc', [`conv-${i % 2}`, `[NAME_${i}]`]), expires_at: t })
      .execute();
    await db
      .insertInto('care_team_assignments')
      .values({ id, user_id: 'u-1', patient_index: `p-${i}`, patient_enc: await enc('care_team_assignments', 'patient_enc', [id]), team_role: 'attending', start_at: t, end_at: null, source: 'api', created_by: 'u-1', created_at: t })
      .execute();
    await db.insertInto('access_patient_units').values({ id, unit_id: 'unit-1', patient_index: `p-${i}`, patient_enc: await enc('access_patient_units', 'patient_enc', [id]), start_at: t, end_at: null }).execute();
    await db
      .insertInto('break_glass_sessions')
      .values({
        id,
        user_id: 'u-1',
        patient_index: `p-${i}`,
        patient_enc: await enc('break_glass_sessions', 'patient_enc', [id]),
        category: 'emergency',
        reason_enc: await enc('break_glass_sessions', 'reason_enc', [id]),
        purpose: null,
        started_at: t,
        expires_at: t,
        ended_at: null,
        review_status: 'justified',
        reviewed_by: 'u-1',
        reviewed_at: t,
        review_note_enc: await enc('break_glass_sessions', 'review_note_enc', [id]),
        incident_id: null,
      })
      .execute();
    await db.insertInto('user_credentials').values({ user_id: id, password_hash: null, totp_secret_enc: await enc('user_credentials', 'totp_secret_enc', [id]), totp_last_step: null, updated_at: t }).execute();
    await db.insertInto('audit_signing_keys').values({ key_id: id, public_key: 'spki', private_key_enc: await enc('audit_signing_keys', 'private_key_enc', [id]), created_at: t }).execute();
    await db
      .insertInto('review_items')
      .values({
        id,
        request_id: `req-${i}`,
        status: 'rejected',
        version: 3,
        use_case_id: 'triage',
        use_case_version: 1,
        requester_id: 'u-1',
        subject_user_id: 'u-1',
        patient_index: `p-${i}`,
        patient_enc: await enc('review_items', 'patient_enc', [id]),
        purpose: 'TREAT',
        surface: 'chat.completion',
        endpoint_id: 'echo',
        vendor: null,
        model: 'echo',
        answer_hmac: 'h',
        answer_enc: await enc('review_items', 'answer_enc', [id]),
        edited_enc: await enc('review_items', 'edited_enc', [id]),
        reason_enc: await enc('review_items', 'reason_enc', [id]),
        provenance_enc: await enc('review_items', 'provenance_enc', [id]),
        claimed_by: 'u-1',
        claimed_at: t,
        lease_until: null,
        decided_by: 'u-1',
        decided_at: t,
        created_at: t,
        updated_at: t,
      })
      .execute();
    await db
      .insertInto('documents')
      .values({ id, patient_index: `p-${i}`, content_index: `c-${i}`, source_index: null, source: 'text', label: null, doc_date: null, sensitivity: '[]', sensitivity_mask: 0, unit: null, char_count: 1, chunk_count: 1, embedding_model: null, created_by: 'u-1', created_at: t })
      .execute();
    await db
      .insertInto('document_chunks')
      .values({ id: `${id}:0`, document_id: id, ordinal: 0, patient_index: `p-${i}`, sensitivity_mask: 0, unit: null, text_enc: await enc('document_chunks', 'text_enc', [`${id}:0`]), deid_text: 'synthetic', embedding: null, embedding_model: null, embedding_dims: null })
      .execute();
  }
  return cells;
}

async function readCell(db: Kysely<Database>, column: EncryptedColumn, key: readonly string[]): Promise<string> {
  const match = sql.join(column.key.map((k, i) => sql`${sql.ref(k)} = ${key[i]}`), sql` and `);
  const result = await sql<{ v: string }>`select ${sql.ref(column.column)} as v from ${sql.table(column.table)} where ${match}`.execute(db);
  return result.rows[0]?.v ?? '';
}

async function writeCell(db: Kysely<Database>, column: EncryptedColumn, key: readonly string[], value: string): Promise<void> {
  const match = sql.join(column.key.map((k, i) => sql`${sql.ref(k)} = ${key[i]}`), sql` and `);
  await sql`update ${sql.table(column.table)} set ${sql.ref(column.column)} = ${value} where ${match}`.execute(db);
}

async function opens(crypto: EnvelopeFieldCrypto, db: Kysely<Database>, cell: Pick<Cell, 'column' | 'key'>, ciphertext?: string): Promise<string | undefined> {
  try {
    return await crypto.decryptString(ciphertext ?? (await readCell(db, cell.column, cell.key)), cell.column.context(cell.key));
  } catch {
    return undefined;
  }
}

export function describeRotationSuite(name: string, open: () => Promise<RotationDb>): void {
  describe(`key rotation and ciphertext binding: ${name}`, () => {
    let under: RotationDb;
    let db: Kysely<Database>;
    let memory: MemoryKms;
    let kms: RotatableKms;
    let keyStore: DataKeyStore;
    let crypto: EnvelopeFieldCrypto;
    let cells: Cell[];
    let clock = 1_800_000_000_000;

    beforeEach(async () => {
      under = await open();
      db = under.db;
      await migrateToLatest(db);
      memory = createMemoryKms();
      kms = {
        get id() {
          return memory.id;
        },
        generateDataKey: (c) => memory.generateDataKey(c),
        unwrapDataKey: (w, c) => memory.unwrapDataKey(w, c),
        rewrapDataKey: (w, c) => memory.rewrapDataKey(w, c),
        rotateKek: async () => {
          memory.rotate();
          return memory.id;
        },
      };
      keyStore = createDataKeyRepo(db);
      // A moving clock, so a rotated key is strictly newer than the one it replaces.
      crypto = await createFieldCrypto({ kms, keyStore, now: () => (clock += 1) });
      cells = await populate(db, crypto);
    });

    afterEach(async () => {
      await db.destroy();
      await under.cleanup?.();
    });

    it('registers the contexts the repositories bind', () => {
      const vault = encryptedColumns.find((c) => columnName(c) === 'token_vault.value_enc');
      expect(vault?.context(['conv', '[NAME_1]'])).toEqual(tokenVaultContext('conv', '[NAME_1]'));
      const totp = encryptedColumns.find((c) => columnName(c) === 'user_credentials.totp_secret_enc');
      expect(totp?.context(['u-9'])).toEqual(totpFieldContext('u-9'));
      const chunk = encryptedColumns.find((c) => columnName(c) === 'document_chunks.text_enc');
      expect(chunk?.context(['doc-1:0'])).toEqual(documentChunkContext('doc-1:0'));
    });

    it('figure: 100% of ciphertexts moved to another row or another column fail to decrypt', async () => {
      // Control: every cell opens where it was written.
      for (const cell of cells) expect(await opens(crypto, db, cell)).toBe(cell.plaintext);
      const byColumn = new Map<string, Cell[]>();
      for (const cell of cells) byColumn.set(columnName(cell.column), [...(byColumn.get(columnName(cell.column)) ?? []), cell]);
      let moved = 0;
      let refused = 0;
      // Append-only tables refuse the UPDATE itself; there the move is judged by decrypting the
      // moved ciphertext under the target cell's context, which is what a reader would do.
      const land = async (target: Cell, ciphertext: string): Promise<boolean> => {
        if (target.column.appendOnly === true) return (await opens(crypto, db, target, ciphertext)) === undefined;
        const saved = await readCell(db, target.column, target.key);
        await writeCell(db, target.column, target.key, ciphertext);
        const refusedHere = (await opens(crypto, db, target)) === undefined;
        await writeCell(db, target.column, target.key, saved);
        return refusedHere;
      };
      // Another row, same column: each ciphertext onto the next row of its column.
      for (const group of byColumn.values()) {
        const values = await Promise.all(group.map((c) => readCell(db, c.column, c.key)));
        for (const [i, target] of group.entries()) {
          moved += 1;
          if (await land(target, values[(i + 1) % values.length] ?? '')) refused += 1;
        }
      }
      // Another column (every other registered column, same row position, across and within tables).
      for (const [from, sources] of byColumn) {
        for (const [to, targets] of byColumn) {
          if (from === to) continue;
          for (const [i, target] of targets.entries()) {
            const source = sources[i % sources.length] as Cell;
            moved += 1;
            if (await land(target, await readCell(db, source.column, source.key))) refused += 1;
          }
        }
      }
      const columns = byColumn.size;
      expect(columns).toBe(encryptedColumns.length);
      expect(moved).toBe(cells.length + cells.length * (columns - 1));
      expect(refused).toBe(moved);
      // Put back, everything opens again: the refusals came from the move, not from damage.
      for (const cell of cells) expect(await opens(crypto, db, cell)).toBe(cell.plaintext);
      process.stdout.write(`ciphertext moves (${name}): ${refused}/${moved} refused across ${columns} columns\n`);
    });

    it('a new KEK re-wraps every data key and changes no ciphertext', async () => {
      const before = await Promise.all(cells.map((c) => readCell(db, c.column, c.key)));
      const oldKek = kms.id;
      const result = await rotateKek(kms, crypto);
      expect(result.previousKekId).toBe(oldKek);
      expect(result.kekId).not.toBe(oldKek);
      expect(result.rewrapped).toBe(result.dataKeys);
      const keys = await keyStore.list();
      expect(keys.every((k) => k.kmsKeyId === kms.id)).toBe(true);
      expect(await Promise.all(cells.map((c) => readCell(db, c.column, c.key)))).toEqual(before);
      crypto.forgetKeys();
      for (const cell of cells) expect(await opens(crypto, db, cell)).toBe(cell.plaintext);
      expect((await rotateKek(kms, crypto)).rewrapped).toBe(keys.length);
    });

    it('a new data key takes new writes; re-encryption moves every old value to it, once', async () => {
      const rotated = await rotateDataKeys(crypto, keyStore);
      expect(Object.keys(rotated).sort()).toEqual(['access', 'audit-signing', 'credentials', 'documents', 'review', 'vault']);
      const stale = await keyStatus({ db, kms, keyStore });
      expect(stale.columns.reduce((n, c) => n + c.stale, 0)).toBe(cells.length);
      const fresh = await crypto.encrypt('new', { table: 't', column: 'c', rowId: 'r' }, 'vault');
      expect(fresh.split('.')[1]).toBe(rotated.vault);

      const report = await reencryptColumns({ db, fieldCrypto: crypto, keyStore, batchSize: 4 });
      const writable = cells.filter((c) => c.column.appendOnly !== true);
      const pinned = cells.length - writable.length;
      expect(pinned).toBe(ROWS);
      expect(report).toMatchObject({ reencrypted: writable.length, upToDate: 0, failed: 0, pinned, complete: true, cursor: null });
      for (const cell of cells) expect(await opens(crypto, db, cell)).toBe(cell.plaintext);
      for (const cell of writable) expect((await readCell(db, cell.column, cell.key)).split('.')[1]).toBe(rotated[cell.column.dataClass]);
      const after = await keyStatus({ db, kms, keyStore });
      for (const c of after.columns) {
        expect(c.total).toBe(ROWS);
        expect(c.stale).toBe(c.column === 'audit_signing_keys.private_key_enc' ? ROWS : 0);
      }
      const again = await reencryptColumns({ db, fieldCrypto: crypto, keyStore });
      expect(again).toMatchObject({ reencrypted: 0, upToDate: writable.length, failed: 0, pinned });
    });

    it('stops between batches and resumes from its cursor without doing anything twice', async () => {
      await rotateDataKeys(crypto, keyStore);
      const controller = new AbortController();
      let batches = 0;
      const first = await reencryptColumns({
        db,
        fieldCrypto: crypto,
        keyStore,
        batchSize: 2,
        signal: controller.signal,
        onProgress: () => {
          if (++batches === 3) controller.abort();
        },
      });
      expect(first.complete).toBe(false);
      expect(first.cursor).not.toBeNull();
      const cursor = JSON.parse(JSON.stringify(first.cursor)) as ReencryptCursor;
      const rest = await reencryptColumns({ db, fieldCrypto: crypto, keyStore, batchSize: 2, cursor });
      expect(rest.complete).toBe(true);
      expect(first.reencrypted + rest.reencrypted).toBe(cells.filter((c) => c.column.appendOnly !== true).length);
      expect(rest.upToDate).toBe(0);
      for (const cell of cells) expect(await opens(crypto, db, cell)).toBe(cell.plaintext);
    });

    it('runs as a background job: a pass on demand re-encrypts, and stop() ends it', async () => {
      await rotateDataKeys(crypto, keyStore);
      const passes: number[] = [];
      const job = startBackgroundReencryption({ db, fieldCrypto: crypto, keyStore, batchSize: 5, pauseMs: 0, onPass: (r) => passes.push(r.reencrypted) });
      const report = await job.runOnce();
      expect(report.complete).toBe(true);
      expect(report.reencrypted).toBe(cells.filter((c) => c.column.appendOnly !== true).length);
      expect((await job.runOnce()).reencrypted).toBe(0);
      await job.stop();
      expect(passes).toEqual([report.reencrypted, 0]);
      const stopped = await job.runOnce();
      expect(stopped.complete).toBe(false);
    });

    it('leaves a value that does not decrypt where it is and counts it', async () => {
      await rotateDataKeys(crypto, keyStore);
      const victim = cells.find((c) => c.column.appendOnly !== true) as Cell;
      const other = cells.find((c) => columnName(c.column) === columnName(victim.column) && c.key.join() !== victim.key.join()) as Cell;
      const moved = await readCell(db, other.column, other.key);
      await writeCell(db, victim.column, victim.key, moved);
      const report = await reencryptColumns({ db, fieldCrypto: crypto, keyStore });
      expect(report.failed).toBe(1);
      expect(report.reencrypted).toBe(cells.filter((c) => c.column.appendOnly !== true).length - 1);
      expect(await readCell(db, victim.column, victim.key)).toBe(moved);
    });
  });
}
