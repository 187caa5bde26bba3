// SPDX-License-Identifier: Apache-2.0
/**
 * Signed tree heads (checkpoints) of the audit log: {tree size, Merkle root, time} signed with
 * Ed25519, made at a fixed cadence, stored in `audit_checkpoints` and published to witnesses.
 *
 * The signing key is an Ed25519 key pair made on first use. Its private half is stored only as a
 * FieldCrypto ciphertext (data class `audit-signing`), so it is as safe as the KMS that wraps the
 * data keys; its public half is published (`phigate audit public-key`).
 *
 * The signed message is a short text note, one field per line, in the spirit of C2SP checkpoints:
 *
 * ```
 * phigate-audit-tree-head/v1
 * <tree size, decimal>
 * <root hash, base64>
 * <timestamp, epoch ms, decimal>
 * ```
 *
 * Before signing, the checkpointer checks that the new records continue the chain from the last
 * head (sequence, previous hash, hash); a broken chain is never signed.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { FieldCrypto } from '../crypto/field-crypto.js';
import { dialectOf } from '../store/dialect.js';
import type { Database } from '../store/schema.js';
import { chainHash, genesisHash } from './chain.js';
import { createMerkleFrontier, emptyRoot, recordLeafHash, type MerkleFrontierState } from './merkle.js';
import type { Witness } from './witness.js';

/** A signed tree head as published and verified. */
export interface SignedTreeHead {
  readonly treeSize: number;
  /** RFC 9162 Merkle Tree Hash of records 1..treeSize, hex. */
  readonly rootHash: string;
  /** Epoch ms. */
  readonly timestamp: number;
  readonly keyId: string;
  /** Ed25519 signature over {@link treeHeadNote}, base64. */
  readonly signature: string;
}

/** The exact bytes a tree head's signature covers. */
export function treeHeadNote(head: Pick<SignedTreeHead, 'treeSize' | 'rootHash' | 'timestamp'>): Buffer {
  return Buffer.from(`phigate-audit-tree-head/v1\n${head.treeSize}\n${Buffer.from(head.rootHash, 'hex').toString('base64')}\n${head.timestamp}\n`, 'utf8');
}

/** Verdicts already reached per key, so re-verifying the same heads (incremental runs, many checks in one process) is cheap. */
const verdicts = new WeakMap<KeyObject, Map<string, boolean>>();
const VERDICT_CACHE_LIMIT = 8192;

/** Whether `head` carries a valid signature by one of `keys` (by key id). */
export function verifyTreeHead(head: SignedTreeHead, keys: ReadonlyMap<string, KeyObject>): boolean {
  const key = keys.get(head.keyId);
  if (key === undefined || !/^[0-9a-f]{64}$/.test(head.rootHash) || !Number.isSafeInteger(head.treeSize) || head.treeSize < 0) return false;
  const cacheKey = `${head.treeSize}|${head.rootHash}|${head.timestamp}|${head.signature}`;
  let cache = verdicts.get(key);
  const known = cache?.get(cacheKey);
  if (known !== undefined) return known;
  let verdict: boolean;
  try {
    verdict = verify(null, treeHeadNote(head), key, Buffer.from(head.signature, 'base64'));
  } catch {
    verdict = false;
  }
  if (cache === undefined) verdicts.set(key, (cache = new Map()));
  if (cache.size >= VERDICT_CACHE_LIMIT) cache.clear();
  cache.set(cacheKey, verdict);
  return verdict;
}

/** Key id of an Ed25519 public key: the first 16 hex digits of SHA-256 of its SPKI DER. */
export function auditKeyId(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('hex').slice(0, 16);
}

/** The tree-head signer: holds the unwrapped private key in memory only. */
export interface AuditSigner {
  readonly keyId: string;
  readonly publicKey: KeyObject;
  sign(head: Pick<SignedTreeHead, 'treeSize' | 'rootHash' | 'timestamp'>): SignedTreeHead;
}

const SIGNING_DATA_CLASS = 'audit-signing';
const keyField = (keyId: string) => ({ table: 'audit_signing_keys', column: 'private_key_enc', rowId: keyId });

/**
 * Loads the audit signing key, generating and storing it (private half encrypted) on first use.
 * When instances race, every one converges on the oldest stored key.
 */
export async function loadAuditSigner(db: Kysely<Database>, fieldCrypto: FieldCrypto, now: () => number = Date.now): Promise<AuditSigner> {
  const oldest = (executor: Kysely<Database>) =>
    executor.selectFrom('audit_signing_keys').selectAll().orderBy('created_at').orderBy('key_id').limit(1).executeTakeFirst();
  let row = await oldest(db);
  if (row === undefined) {
    const pair = generateKeyPairSync('ed25519');
    const keyId = auditKeyId(pair.publicKey);
    const der = pair.privateKey.export({ format: 'der', type: 'pkcs8' });
    const privateKeyEnc = await fieldCrypto.encrypt(der, keyField(keyId), SIGNING_DATA_CLASS);
    der.fill(0);
    const values = { key_id: keyId, public_key: pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'), private_key_enc: privateKeyEnc, created_at: now() };
    const createFirst = async (executor: Kysely<Database>) => {
      const existing = await oldest(executor);
      if (existing !== undefined) return existing;
      await executor.insertInto('audit_signing_keys').values(values).onConflict((oc) => oc.column('key_id').doNothing()).execute();
      return oldest(executor);
    };
    // Instances starting together must settle on one key: on PostgreSQL the check and the insert run
    // under an advisory lock; SQLite serialises writers on the file already.
    row =
      dialectOf(db) === 'postgres'
        ? await db.transaction().execute(async (trx) => {
            await sql`select pg_advisory_xact_lock(${sql.lit(auditSigningKeyLockKey.toString())}::bigint)`.execute(trx);
            return createFirst(trx);
          })
        : await createFirst(db);
    if (row === undefined) throw new Error('audit signing key could not be stored');
  }
  const der = Buffer.from(await fieldCrypto.decrypt(row.private_key_enc, keyField(row.key_id)));
  const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  der.fill(0);
  const publicKey = createPublicKey({ key: Buffer.from(row.public_key, 'base64'), format: 'der', type: 'spki' });
  if (auditKeyId(publicKey) !== row.key_id) throw new Error('audit signing key id does not match its public key');
  return createAuditSigner(privateKey, publicKey);
}

/** The advisory lock key that serialises creating the first signing key on PostgreSQL ("phisign" in ASCII). */
const auditSigningKeyLockKey = 0x70686973696e67n;

/** A signer over a key pair already in memory (benchmarks, tests, external signing tools). */
export function createAuditSigner(privateKey: KeyObject, publicKey: KeyObject): AuditSigner {
  const keyId = auditKeyId(publicKey);
  return {
    keyId,
    publicKey,
    sign(head) {
      const signature = sign(null, treeHeadNote(head), privateKey).toString('base64');
      return { treeSize: head.treeSize, rootHash: head.rootHash, timestamp: head.timestamp, keyId, signature };
    },
  };
}

/** Every audit public key the store knows, by key id (PEM-exportable KeyObjects). */
export async function loadAuditPublicKeys(db: Kysely<Database>): Promise<Map<string, KeyObject>> {
  const rows = await db.selectFrom('audit_signing_keys').select(['key_id', 'public_key']).execute();
  const keys = new Map<string, KeyObject>();
  for (const row of rows) {
    const key = createPublicKey({ key: Buffer.from(row.public_key, 'base64'), format: 'der', type: 'spki' });
    // A stored key whose id does not match its bytes was substituted: leave it out.
    if (auditKeyId(key) === row.key_id) keys.set(row.key_id, key);
  }
  return keys;
}

/** Reads a PEM file (or several concatenated) of Ed25519 public keys given to the verifier out of band. */
export function publicKeysFromPem(pem: string): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  for (const block of pem.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? []) {
    const key = createPublicKey(block);
    keys.set(auditKeyId(key), key);
  }
  return keys;
}

/** A stored checkpoint row as the verifier reads it. */
export interface StoredCheckpoint extends SignedTreeHead {
  readonly lastHash: string;
  readonly frontier: MerkleFrontierState;
}

/** Every stored checkpoint, by tree size ascending. */
export async function listCheckpoints(db: Kysely<Database>, fromSize = 0): Promise<StoredCheckpoint[]> {
  const rows = await db.selectFrom('audit_checkpoints').selectAll().where('tree_size', '>=', fromSize).orderBy('tree_size').execute();
  return rows.map(toStoredCheckpoint);
}

function toStoredCheckpoint(row: Database['audit_checkpoints']): StoredCheckpoint {
  const size = Number(row.tree_size);
  let hashes: string[] = [];
  try {
    const parsed: unknown = JSON.parse(row.frontier);
    if (Array.isArray(parsed) && parsed.every((h) => typeof h === 'string')) hashes = parsed;
  } catch {
    // A corrupt frontier only costs the checkpointer a full recomputation.
  }
  return {
    treeSize: size,
    rootHash: row.root_hash,
    timestamp: Number(row.signed_at),
    keyId: row.key_id,
    signature: row.signature,
    lastHash: row.last_hash,
    frontier: { size, hashes },
  };
}

/** Raised when the records after the last head do not continue the chain: nothing is signed. */
export class AuditChainBrokenError extends Error {
  readonly seq: number;
  constructor(seq: number) {
    super(`audit chain broken at record ${seq}; no tree head signed`);
    this.name = 'AuditChainBrokenError';
    this.seq = seq;
  }
}

export interface CheckpointOptions {
  readonly db: Kysely<Database>;
  readonly signer: AuditSigner;
  readonly witnesses?: readonly Witness[];
  readonly now?: () => number;
  /** Records read per query. Default 5000. */
  readonly pageSize?: number;
  /** Witness failures are reported here and do not undo the stored head. */
  readonly onWitnessError?: (witness: Witness, err: unknown) => void;
}

/**
 * Signs a tree head over every record stored now, if there are records the last head does not
 * cover. Returns the new head (or undefined when there was nothing new, or another instance
 * signed the same size first).
 */
export async function createCheckpoint(options: CheckpointOptions): Promise<SignedTreeHead | undefined> {
  const { db, signer } = options;
  const pageSize = options.pageSize ?? 5000;
  const lastRow = await db.selectFrom('audit_checkpoints').selectAll().orderBy('tree_size', 'desc').limit(1).executeTakeFirst();
  const last = lastRow === undefined ? undefined : toStoredCheckpoint(lastRow);
  const headRow = await db.selectFrom('audit_events').select('seq').orderBy('seq', 'desc').limit(1).executeTakeFirst();
  const headSeq = headRow === undefined ? 0 : Number(headRow.seq);
  if (headSeq <= (last?.treeSize ?? 0)) return undefined;

  let frontier;
  let size = last?.treeSize ?? 0;
  let prev = last?.lastHash ?? genesisHash;
  try {
    frontier = createMerkleFrontier(last?.frontier ?? { size: 0, hashes: [] });
  } catch {
    // The stored frontier is unusable: recompute from the start.
    frontier = createMerkleFrontier();
    size = 0;
    prev = genesisHash;
  }
  while (size < headSeq) {
    const rows = await db
      .selectFrom('audit_events')
      .select(['seq', 'body', 'prev_hash', 'hash'])
      .where('seq', '>', size)
      .where('seq', '<=', headSeq)
      .orderBy('seq')
      .limit(pageSize)
      .execute();
    if (rows.length === 0) throw new AuditChainBrokenError(size + 1);
    for (const row of rows) {
      const seq = Number(row.seq);
      if (seq !== size + 1 || row.prev_hash !== prev || chainHash(row.prev_hash, row.body) !== row.hash) throw new AuditChainBrokenError(size + 1);
      frontier.push(recordLeafHash(row.hash));
      prev = row.hash;
      size = seq;
    }
  }
  const rootHash = (size === 0 ? emptyRoot : frontier.root()).toString('hex');
  const head = signer.sign({ treeSize: size, rootHash, timestamp: (options.now ?? Date.now)() });
  const inserted = await db
    .insertInto('audit_checkpoints')
    .values({
      tree_size: head.treeSize,
      root_hash: head.rootHash,
      last_hash: prev,
      signed_at: head.timestamp,
      key_id: head.keyId,
      signature: head.signature,
      frontier: JSON.stringify(frontier.state().hashes),
    })
    .onConflict((oc) => oc.column('tree_size').doNothing())
    .executeTakeFirst();
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) return undefined;
  await publishHead(head, options.witnesses ?? [], options.onWitnessError);
  return head;
}

async function publishHead(head: SignedTreeHead, witnesses: readonly Witness[], onError?: (witness: Witness, err: unknown) => void): Promise<void> {
  await Promise.all(
    witnesses.map(async (witness) => {
      try {
        await witness.publish(head);
      } catch (err) {
        onError?.(witness, err);
      }
    }),
  );
}

export interface AuditCheckpointerOptions {
  readonly db: Kysely<Database>;
  readonly fieldCrypto: FieldCrypto;
  /** 0 turns the timer off (heads are then made only by {@link AuditCheckpointer.checkpointNow}). */
  readonly intervalMs: number;
  readonly witnesses?: readonly Witness[];
  readonly now?: () => number;
  /** Failures of a scheduled checkpoint (store down, broken chain, witness down); PHI-free. */
  readonly onError?: (err: unknown) => void;
}

export interface AuditCheckpointer {
  readonly publicKey: KeyObject;
  readonly keyId: string;
  checkpointNow(): Promise<SignedTreeHead | undefined>;
  /** Stops the timer and makes a last head over what was written. */
  close(): Promise<void>;
}

/**
 * Starts the checkpoint cadence. Every instance may run one: heads are keyed by tree size, so
 * concurrent instances never store two heads for one size.
 * @example
 * const checkpoints = await startAuditCheckpoints({ db: store.db, fieldCrypto: store.fieldCrypto, intervalMs: 60_000, witnesses });
 * // …on shutdown, after the audit writer drained:
 * await checkpoints.close();
 */
export async function startAuditCheckpoints(options: AuditCheckpointerOptions): Promise<AuditCheckpointer> {
  const signer = await loadAuditSigner(options.db, options.fieldCrypto, options.now);
  let running: Promise<SignedTreeHead | undefined> | undefined;
  const checkpointNow = (): Promise<SignedTreeHead | undefined> => {
    // One at a time per instance: a slow store must not pile up concurrent scans.
    running ??= createCheckpoint({
      db: options.db,
      signer,
      witnesses: options.witnesses ?? [],
      ...(options.now === undefined ? {} : { now: options.now }),
      onWitnessError: (_witness, err) => options.onError?.(err),
    }).finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = options.intervalMs > 0 ? setInterval(() => void checkpointNow().catch((err: unknown) => options.onError?.(err)), options.intervalMs) : undefined;
  timer?.unref();
  return {
    publicKey: signer.publicKey,
    keyId: signer.keyId,
    checkpointNow,
    async close() {
      if (timer !== undefined) clearInterval(timer);
      await running?.catch(() => undefined);
      await checkpointNow().catch((err: unknown) => options.onError?.(err));
    },
  };
}
