// SPDX-License-Identifier: Apache-2.0
/**
 * Key rotation, in three independent moves:
 *
 * 1. **New key-encryption key** ({@link rotateKek}): the KMS makes a new KEK version current and
 *    every wrapped data key in `data_keys` is re-wrapped under it (inside the KMS where it can).
 *    No ciphertext in any table changes; old KEK versions can be retired once `status` shows no
 *    data key under them.
 * 2. **New data key** ({@link rotateDataKeys}): a data class gets a fresh data key for new writes;
 *    the old one stays (retired) and keeps decrypting what it wrote.
 * 3. **Re-encryption** ({@link reencryptColumns}): every value in every registered encrypted
 *    column that is still under a non-current data key is decrypted and encrypted again under
 *    its class's current key, in batches, with a resumable cursor and progress callbacks. Each
 *    row is replaced only if it still holds the ciphertext that was read (compare-and-set), so it
 *    runs beside a live gateway ({@link startBackgroundReencryption} is the in-process job). When
 *    it finishes, the retired data keys protect nothing (append-only tables excepted: see
 *    {@link EncryptedColumn.appendOnly}).
 *
 * The registry ({@link encryptedColumns}) lists every column that holds FieldCrypto ciphertexts,
 * with the primary key and the associated-data context each repository uses. A new encrypted
 * column joins by adding an entry (and a test row in `ciphertext-moves.test.ts`).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { DataKeyStore, EnvelopeFieldCrypto } from './envelope.js';
import type { FieldContext } from './field-crypto.js';
import type { Kms } from './kms.js';

/** One column of FieldCrypto ciphertexts. All key columns are text. */
export interface EncryptedColumn {
  readonly table: string;
  /** The SQL column holding the ciphertext (may be nullable; nulls are skipped). */
  readonly column: string;
  /** Primary-key columns, in order: rows are paged and updated by them. */
  readonly key: readonly string[];
  /** The associated-data context the owning repository binds, from the key values. */
  readonly context: (key: readonly string[]) => FieldContext;
  /** The data class the owning repository writes under (re-encryption keeps each value's own class). */
  readonly dataClass: string;
  /**
   * The table refuses UPDATE (triggers): re-encryption reports these values but leaves them under
   * their data key, which therefore stays. For audit signing keys the remedy is a new signing key.
   */
  readonly appendOnly?: boolean;
}

const rowContext =
  (table: string, column: string) =>
  (key: readonly string[]): FieldContext => ({ table, column, rowId: key[0] ?? '' });

/**
 * Every encrypted column phigate has today, with the contexts its repositories use
 * (`token-vault-repo.ts`, `care-team-repo.ts`, `break-glass-repo.ts`, `auth/login.ts`,
 * `audit/checkpoints.ts`, `review-repo.ts`, `document-repo.ts`). `access_incidents.note_enc` is not listed: nothing writes it yet.
 */
export const encryptedColumns: readonly EncryptedColumn[] = [
  {
    table: 'token_vault',
    column: 'value_enc',
    key: ['conversation_hash', 'token'],
    context: (key) => ({ table: 'token_vault', column: 'value', rowId: `${key[0] ?? ''}/${key[1] ?? ''}` }),
    dataClass: 'vault',
  },
  { table: 'care_team_assignments', column: 'patient_enc', key: ['id'], context: rowContext('care_team_assignments', 'patient'), dataClass: 'access' },
  { table: 'access_patient_units', column: 'patient_enc', key: ['id'], context: rowContext('access_patient_units', 'patient'), dataClass: 'access' },
  { table: 'break_glass_sessions', column: 'patient_enc', key: ['id'], context: rowContext('break_glass_sessions', 'patient'), dataClass: 'access' },
  { table: 'break_glass_sessions', column: 'reason_enc', key: ['id'], context: rowContext('break_glass_sessions', 'reason'), dataClass: 'access' },
  { table: 'break_glass_sessions', column: 'review_note_enc', key: ['id'], context: rowContext('break_glass_sessions', 'review_note'), dataClass: 'access' },
  { table: 'user_credentials', column: 'totp_secret_enc', key: ['user_id'], context: rowContext('user_credentials', 'totp_secret_enc'), dataClass: 'credentials' },
  { table: 'audit_signing_keys', column: 'private_key_enc', key: ['key_id'], context: rowContext('audit_signing_keys', 'private_key_enc'), dataClass: 'audit-signing', appendOnly: true },
  { table: 'review_items', column: 'patient_enc', key: ['id'], context: rowContext('review_items', 'patient'), dataClass: 'review' },
  { table: 'review_items', column: 'answer_enc', key: ['id'], context: rowContext('review_items', 'answer'), dataClass: 'review' },
  { table: 'review_items', column: 'edited_enc', key: ['id'], context: rowContext('review_items', 'edited'), dataClass: 'review' },
  { table: 'review_items', column: 'reason_enc', key: ['id'], context: rowContext('review_items', 'reason'), dataClass: 'review' },
  { table: 'review_items', column: 'provenance_enc', key: ['id'], context: rowContext('review_items', 'provenance'), dataClass: 'review' },
  { table: 'document_chunks', column: 'text_enc', key: ['id'], context: rowContext('document_chunks', 'text'), dataClass: 'documents' },
];

/** `table.column`, the name progress, cursors and status use. */
export function columnName(column: Pick<EncryptedColumn, 'table' | 'column'>): string {
  return `${column.table}.${column.column}`;
}

/** The data key id a v1 ciphertext names, or undefined if it is not one. */
export function ciphertextKeyId(ciphertext: string): string | undefined {
  const parts = ciphertext.split('.');
  return parts.length === 5 && parts[0] === 'v1' ? parts[1] : undefined;
}

/** A KMS that can make a new KEK version current (every `createKms` result can try). */
export interface RotatableKms extends Kms {
  rotateKek(): Promise<string>;
}

export interface KekRotationResult {
  readonly previousKekId: string;
  readonly kekId: string;
  readonly rewrapped: number;
  readonly dataKeys: number;
}

/** New KEK version, then every data key re-wrapped under it. Data is not touched. */
export async function rotateKek(kms: RotatableKms, fieldCrypto: EnvelopeFieldCrypto): Promise<KekRotationResult> {
  const previousKekId = kms.id;
  const kekId = await kms.rotateKek();
  const { rewrapped, total } = await fieldCrypto.rewrapDataKeys();
  return { previousKekId, kekId, rewrapped, dataKeys: total };
}

/**
 * A new data key for each class (for new writes). Classes default to every class that has a
 * data key now (the blind-index key is never rotated in place). Returns class → new key id.
 */
export async function rotateDataKeys(fieldCrypto: EnvelopeFieldCrypto, keyStore: DataKeyStore, classes?: readonly string[]): Promise<Readonly<Record<string, string>>> {
  const targets = classes ?? [...new Set((await keyStore.list()).map((k) => k.dataClass))].filter((c) => c !== 'blind-index').sort();
  const out: Record<string, string> = {};
  for (const dataClass of targets) out[dataClass] = await fieldCrypto.rotateDataKey(dataClass);
  return out;
}

/** Where a re-encryption run stopped: the column and the last key it finished. JSON-safe. */
export interface ReencryptCursor {
  readonly column: string;
  readonly after: readonly string[] | null;
}

export interface ColumnProgress {
  readonly column: string;
  /** Non-null ciphertexts read. */
  scanned: number;
  /** Rewritten under the current data key. */
  reencrypted: number;
  /** Already under the current key of their class (or changed by a writer meanwhile). */
  upToDate: number;
  /** Did not decrypt (altered, moved, or an unknown key). Left as they are; never counted as done. */
  failed: number;
  /** Under an old data key in an append-only table: cannot be rewritten, so that key must stay. */
  pinned: number;
}

export interface ReencryptProgress extends ColumnProgress {
  readonly cursor: ReencryptCursor;
}

export interface ReencryptReport {
  readonly columns: readonly ColumnProgress[];
  readonly reencrypted: number;
  readonly upToDate: number;
  readonly failed: number;
  readonly pinned: number;
  /** False when stopped by the signal; resume with `cursor`. */
  readonly complete: boolean;
  readonly cursor: ReencryptCursor | null;
}

export interface ReencryptOptions {
  readonly db: Kysely<Database>;
  readonly fieldCrypto: EnvelopeFieldCrypto;
  readonly keyStore: DataKeyStore;
  /** Default {@link encryptedColumns}. */
  readonly columns?: readonly EncryptedColumn[];
  /** Rows per batch. Default 500. */
  readonly batchSize?: number;
  /** Resume from here (a previous report's or progress's cursor). */
  readonly cursor?: ReencryptCursor | null;
  /** Called after every batch. */
  readonly onProgress?: (progress: ReencryptProgress) => void | Promise<void>;
  /** Stops between batches; the report's cursor says where to resume. */
  readonly signal?: AbortSignal;
  /** Pause between batches, to leave room for live traffic (background mode). Default 0. */
  readonly pauseMs?: number;
}

/**
 * Re-encrypts every registered column to the current data key of each value's class.
 * Idempotent: a second run finds everything up to date.
 */
export async function reencryptColumns(options: ReencryptOptions): Promise<ReencryptReport> {
  const { db, fieldCrypto, keyStore } = options;
  const columns = options.columns ?? encryptedColumns;
  const batchSize = options.batchSize ?? 500;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be a positive integer');
  // Another instance may have rotated since this process cached its current keys.
  fieldCrypto.forgetKeys();

  const classOfKey = new Map<string, string | null>();
  const currentOfClass = new Map<string, string | null>();
  const classOf = async (keyId: string): Promise<string | null> => {
    if (!classOfKey.has(keyId)) classOfKey.set(keyId, (await keyStore.findById(keyId))?.dataClass ?? null);
    return classOfKey.get(keyId) ?? null;
  };
  const currentOf = async (dataClass: string): Promise<string | null> => {
    if (!currentOfClass.has(dataClass)) currentOfClass.set(dataClass, (await keyStore.findCurrent(dataClass))?.id ?? null);
    return currentOfClass.get(dataClass) ?? null;
  };

  let start = 0;
  let after: readonly string[] | null = null;
  if (options.cursor) {
    start = columns.findIndex((c) => columnName(c) === options.cursor?.column);
    if (start < 0) throw new RangeError('the cursor names a column that is not registered');
    after = options.cursor.after;
  }

  const report: ColumnProgress[] = [];
  for (let i = start; i < columns.length; i++) {
    const col = columns[i] as EncryptedColumn;
    const name = columnName(col);
    const progress: ColumnProgress = { column: name, scanned: 0, reencrypted: 0, upToDate: 0, failed: 0, pinned: 0 };
    report.push(progress);
    for (;;) {
      if (options.signal?.aborted) return finish(report, false, { column: name, after });
      const rows = await readBatch(db, col, after, batchSize);
      for (const row of rows) {
        progress.scanned += 1;
        const keyId = ciphertextKeyId(row.value);
        const dataClass = keyId === undefined ? null : await classOf(keyId);
        const current = dataClass === null ? null : await currentOf(dataClass);
        if (keyId === undefined || dataClass === null || current === null) {
          progress.failed += 1;
          continue;
        }
        if (keyId === current) {
          progress.upToDate += 1;
          continue;
        }
        if (col.appendOnly === true) {
          progress.pinned += 1;
          continue;
        }
        const context = col.context(row.key);
        let plaintext: Uint8Array;
        try {
          plaintext = await fieldCrypto.decrypt(row.value, context);
        } catch {
          progress.failed += 1;
          continue;
        }
        let next: string;
        try {
          next = await fieldCrypto.encrypt(plaintext, context, dataClass);
        } finally {
          plaintext.fill(0);
        }
        const changed = await compareAndSet(db, col, row.key, row.value, next);
        if (changed) progress.reencrypted += 1;
        else progress.upToDate += 1;
      }
      const last = rows[rows.length - 1];
      if (last !== undefined) after = last.key;
      if (rows.length < batchSize) break;
      await options.onProgress?.({ ...progress, cursor: { column: name, after } });
      if (options.pauseMs !== undefined && options.pauseMs > 0) await new Promise((done) => setTimeout(done, options.pauseMs));
    }
    const next = columns[i + 1];
    after = null;
    await options.onProgress?.({ ...progress, cursor: next === undefined ? { column: name, after: null } : { column: columnName(next), after: null } });
  }
  return finish(report, true, null);
}

function finish(columns: readonly ColumnProgress[], complete: boolean, cursor: ReencryptCursor | null): ReencryptReport {
  const sum = (pick: (c: ColumnProgress) => number): number => columns.reduce((n, c) => n + pick(c), 0);
  return { columns, reencrypted: sum((c) => c.reencrypted), upToDate: sum((c) => c.upToDate), failed: sum((c) => c.failed), pinned: sum((c) => c.pinned), complete, cursor };
}

interface CipherRow {
  readonly key: readonly string[];
  readonly value: string;
}

async function readBatch(db: Kysely<Database>, col: EncryptedColumn, after: readonly string[] | null, limit: number): Promise<CipherRow[]> {
  const keyRefs = sql.join(col.key.map((k) => sql.ref(k)));
  const keyTuple = col.key.length === 1 ? sql.ref(col.key[0] ?? '') : sql`(${keyRefs})`;
  const afterTuple = after === null ? null : after.length === 1 ? sql`${after[0]}` : sql`(${sql.join(after.map((v) => sql`${v}`))})`;
  const where = afterTuple === null ? sql`` : sql` and ${keyTuple} > ${afterTuple}`;
  const result = await sql<Record<string, unknown>>`select ${keyRefs}, ${sql.ref(col.column)} as phigate_ciphertext from ${sql.table(col.table)} where ${sql.ref(col.column)} is not null${where} order by ${keyRefs} limit ${limit}`.execute(db);
  return result.rows.map((row) => ({ key: col.key.map((k) => String(row[k])), value: String(row.phigate_ciphertext) }));
}

async function compareAndSet(db: Kysely<Database>, col: EncryptedColumn, key: readonly string[], expected: string, next: string): Promise<boolean> {
  const match = sql.join(
    col.key.map((k, i) => sql`${sql.ref(k)} = ${key[i]}`),
    sql` and `,
  );
  const result = await sql`update ${sql.table(col.table)} set ${sql.ref(col.column)} = ${next} where ${match} and ${sql.ref(col.column)} = ${expected}`.execute(db);
  return Number(result.numAffectedRows ?? 0n) > 0;
}

export interface KeyStatus {
  readonly kekId: string;
  readonly dataKeys: readonly {
    readonly id: string;
    readonly dataClass: string;
    readonly kekId: string;
    /** Wrapped under an older KEK: `phigate kms rewrap` moves it. */
    readonly staleKek: boolean;
    readonly current: boolean;
    readonly retiredAt: number | null;
  }[];
  readonly columns: readonly {
    readonly column: string;
    readonly total: number;
    /** Ciphertexts per data key id. */
    readonly byKey: Readonly<Record<string, number>>;
    /** Ciphertexts under a data key that is no longer current for its class. */
    readonly stale: number;
  }[];
}

/** What `phigate kms status` prints: KEK, data keys and which keys the ciphertexts are under. */
export async function keyStatus(options: { readonly db: Kysely<Database>; readonly kms: Kms; readonly keyStore: DataKeyStore; readonly columns?: readonly EncryptedColumn[] }): Promise<KeyStatus> {
  const { db, kms, keyStore } = options;
  const records = await keyStore.list();
  const currentIds = new Set<string>();
  for (const dataClass of new Set(records.map((r) => r.dataClass))) {
    const current = await keyStore.findCurrent(dataClass);
    if (current !== undefined) currentIds.add(current.id);
  }
  const dataKeys = records.map((r) => ({ id: r.id, dataClass: r.dataClass, kekId: r.kmsKeyId, staleKek: r.kmsKeyId !== kms.id, current: currentIds.has(r.id), retiredAt: r.retiredAt }));
  const columns = [];
  for (const col of options.columns ?? encryptedColumns) {
    const byKey: Record<string, number> = {};
    let stale = 0;
    for (const r of records) {
      // A prefix compare, not LIKE: SQLite's LIKE ignores case and key ids are case-sensitive.
      const prefix = `v1.${r.id}.`;
      const result = await sql<{ n: number | string | bigint }>`select count(*) as n from ${sql.table(col.table)} where substr(${sql.ref(col.column)}, 1, ${sql.lit(prefix.length)}) = ${prefix}`.execute(db);
      const n = Number(result.rows[0]?.n ?? 0);
      if (n === 0) continue;
      byKey[r.id] = n;
      if (!currentIds.has(r.id)) stale += n;
    }
    const total = await sql<{ n: number | string | bigint }>`select count(*) as n from ${sql.table(col.table)} where ${sql.ref(col.column)} is not null`.execute(db);
    columns.push({ column: columnName(col), total: Number(total.rows[0]?.n ?? 0), byKey, stale });
  }
  return { kekId: kms.id, dataKeys, columns };
}

export interface BackgroundReencryption {
  /** Stops after the current batch; resolves when the run in progress (if any) has stopped. */
  stop(): Promise<void>;
  /** Runs one pass now (or waits for the one in progress) and returns its report. */
  runOnce(): Promise<ReencryptReport>;
}

export interface BackgroundReencryptionOptions extends Omit<ReencryptOptions, 'signal' | 'cursor'> {
  /** How often to look for values under old data keys. Default one hour. */
  readonly intervalMs?: number;
  /** Told about each finished pass (counts only) and each failed one. */
  readonly onPass?: (report: ReencryptReport) => void;
  readonly onError?: (err: unknown) => void;
}

/**
 * Re-encryption as a background job inside the gateway: a pass every `intervalMs`, batches
 * separated by `pauseMs` (default 50 ms) so live traffic keeps the database. A pass is cheap
 * when nothing is stale (it reads the key ids only). The timer does not hold the process open.
 */
export function startBackgroundReencryption(options: BackgroundReencryptionOptions): BackgroundReencryption {
  const intervalMs = options.intervalMs ?? 3_600_000;
  const controller = new AbortController();
  let running: Promise<ReencryptReport> | undefined;
  let cursor: ReencryptCursor | null = null;
  let timer: NodeJS.Timeout | undefined;

  const runOnce = (): Promise<ReencryptReport> => {
    running ??= (async () => {
      try {
        const report = await reencryptColumns({ pauseMs: 50, ...options, cursor, signal: controller.signal });
        cursor = report.complete ? null : report.cursor;
        options.onPass?.(report);
        return report;
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  const schedule = (): void => {
    if (controller.signal.aborted) return;
    timer = setTimeout(() => {
      runOnce()
        .catch((err: unknown) => options.onError?.(err))
        .finally(schedule);
    }, intervalMs);
    timer.unref();
  };
  schedule();

  return {
    runOnce,
    async stop() {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
