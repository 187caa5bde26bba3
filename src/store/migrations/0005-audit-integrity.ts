// SPDX-License-Identifier: Apache-2.0
/**
 * Migration 0005: what makes the audit log tamper-evident beyond its hash chain.
 *
 * - `audit_signing_keys`: Ed25519 keys that sign tree heads. The private key is stored only as a
 *   FieldCrypto ciphertext (data class `audit-signing`, wrapped by the KMS); the public key in clear.
 * - `audit_checkpoints`: signed tree heads {tree size, Merkle root, time}, with the last chain hash
 *   and the Merkle frontier at that size so the next head is computed from the new records only.
 *
 * Both are append-only like `audit_events` (triggers refuse UPDATE and DELETE).
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { dialectOf, millisType } from '../dialect.js';

export interface AuditSigningKeysTable {
  key_id: string;
  /** SubjectPublicKeyInfo DER, base64. */
  public_key: string;
  /** PKCS#8 DER of the private key, encrypted by FieldCrypto (data class `audit-signing`). */
  private_key_enc: string;
  created_at: number;
}

export interface AuditCheckpointsTable {
  tree_size: number;
  /** Merkle root (RFC 9162 MTH) of records 1..tree_size, hex. */
  root_hash: string;
  /** Chain hash of record `tree_size`, hex (genesis for size 0). */
  last_hash: string;
  /** Epoch ms the head was signed. */
  signed_at: number;
  key_id: string;
  /** Ed25519 signature over the signed note (audit/checkpoints.ts), base64. */
  signature: string;
  /** The Merkle frontier at tree_size, JSON list of hex hashes (not signed; re-derived by verify). */
  frontier: string;
}

declare module '../schema.js' {
  interface Database {
    audit_signing_keys: AuditSigningKeysTable;
    audit_checkpoints: AuditCheckpointsTable;
  }
}

export const migration0005AuditIntegrity: Migration = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations receive Kysely<any>
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('audit_signing_keys')
      .addColumn('key_id', 'text', (c) => c.primaryKey())
      .addColumn('public_key', 'text', (c) => c.notNull())
      .addColumn('private_key_enc', 'text', (c) => c.notNull())
      .addColumn('created_at', millisType, (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('audit_checkpoints')
      .addColumn('tree_size', millisType, (c) => c.primaryKey())
      .addColumn('root_hash', 'text', (c) => c.notNull())
      .addColumn('last_hash', 'text', (c) => c.notNull())
      .addColumn('signed_at', millisType, (c) => c.notNull())
      .addColumn('key_id', 'text', (c) => c.notNull())
      .addColumn('signature', 'text', (c) => c.notNull())
      .addColumn('frontier', 'text', (c) => c.notNull())
      .execute();
    for (const table of ['audit_signing_keys', 'audit_checkpoints'] as const) {
      if (dialectOf(db) === 'sqlite') {
        for (const action of ['UPDATE', 'DELETE'] as const) {
          await sql
            .raw(`CREATE TRIGGER ${table}_no_${action.toLowerCase()} BEFORE ${action} ON ${table} BEGIN SELECT RAISE(ABORT, '${table} is append-only'); END`)
            .execute(db);
        }
      } else {
        // Reuses the function made by 0002-audit.
        await sql
          .raw(`CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()`)
          .execute(db);
      }
    }
  },
};
