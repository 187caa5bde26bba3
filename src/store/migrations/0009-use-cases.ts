// SPDX-License-Identifier: Apache-2.0
/**
 * Migration 0009: the use-case registry.
 *
 * - `use_cases`: one row per use case: its lifecycle state, the version that serves traffic, and
 *   a `version` counter every write checks and increments (optimistic concurrency);
 * - `use_case_versions`: every version ever proposed, its spec (registry/use-case-spec.ts) as
 *   JSON, never rewritten once inserted; only its state and review times change;
 * - `use_case_approvals`: committee decisions, one per person per version and (for approvals)
 *   one per seat, enforced by unique indexes as well as by the service;
 * - `use_case_transitions`: the lifecycle history: who moved what from which state to which, and
 *   why. Reasons are governance text kept here and in the approvals table, never in the audit log.
 *
 * Every change also bumps `registry_revision` (0008) in the same transaction.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { millisType } from '../dialect.js';

export interface UseCasesTable {
  id: string;
  /** draft | submitted | approved | live | suspended | retired */
  state: string;
  /** The version serving traffic while live or suspended; null before the first go-live. */
  live_version: number | null;
  /** 1 on insert, +1 on every write. */
  version: number;
  created_by: string;
  created_at: number;
  updated_at: number;
}

export interface UseCaseVersionsTable {
  use_case_id: string;
  /** 1, 2, 3, … per use case. */
  number: number;
  /** The validated `UseCaseSpec` as JSON. */
  spec: string;
  /** draft | submitted | approved | rejected | superseded */
  state: string;
  created_by: string;
  created_at: number;
  /** Why this version was proposed. */
  reason: string | null;
  submitted_by: string | null;
  submitted_at: number | null;
  /** Set once the committee approved it (kept when it is later superseded: rollback targets need it). */
  approved_at: number | null;
  /** When it was approved, rejected or superseded. */
  decided_at: number | null;
}

export interface UseCaseApprovalsTable {
  id: string;
  use_case_id: string;
  version: number;
  seat: string;
  /** The role the person held for the seat. */
  role: string;
  user_id: string;
  /** approve | reject */
  decision: string;
  reason: string | null;
  at: number;
  /** console | cli | import */
  source: string;
}

export interface UseCaseTransitionsTable {
  id: string;
  use_case_id: string;
  /** The version the action concerned, when it concerned one. */
  version: number | null;
  /** create | propose | submit | approve | reject | golive | suspend | resume | retire | rollback | import */
  action: string;
  from_state: string | null;
  to_state: string;
  actor: string;
  reason: string | null;
  at: number;
}

declare module '../schema.js' {
  interface Database {
    use_cases: UseCasesTable;
    use_case_versions: UseCaseVersionsTable;
    use_case_approvals: UseCaseApprovalsTable;
    use_case_transitions: UseCaseTransitionsTable;
  }
}

export const migration0009UseCases: Migration = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations receive Kysely<any>
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('use_cases')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('live_version', 'integer')
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', millisType, (c) => c.notNull())
      .addColumn('updated_at', millisType, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('use_cases_state_idx').on('use_cases').column('state').execute();

    await db.schema
      .createTable('use_case_versions')
      .addColumn('use_case_id', 'text', (c) => c.notNull().references('use_cases.id').onDelete('restrict'))
      .addColumn('number', 'integer', (c) => c.notNull())
      .addColumn('spec', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', millisType, (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('submitted_by', 'text')
      .addColumn('submitted_at', millisType)
      .addColumn('approved_at', millisType)
      .addColumn('decided_at', millisType)
      .addPrimaryKeyConstraint('use_case_versions_pk', ['use_case_id', 'number'])
      .execute();

    await db.schema
      .createTable('use_case_approvals')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('use_case_id', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('seat', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('decision', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('at', millisType, (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addForeignKeyConstraint('use_case_approvals_version_fk', ['use_case_id', 'version'], 'use_case_versions', ['use_case_id', 'number'], (fk) => fk.onDelete('restrict'))
      .execute();
    await db.schema.createIndex('use_case_approvals_person_idx').on('use_case_approvals').columns(['use_case_id', 'version', 'user_id']).unique().execute();
    await db.schema
      .createIndex('use_case_approvals_seat_idx')
      .on('use_case_approvals')
      .columns(['use_case_id', 'version', 'seat'])
      .unique()
      .where(sql.ref('decision'), '=', 'approve')
      .execute();

    await db.schema
      .createTable('use_case_transitions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('use_case_id', 'text', (c) => c.notNull().references('use_cases.id').onDelete('restrict'))
      .addColumn('version', 'integer')
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('from_state', 'text')
      .addColumn('to_state', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('at', millisType, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('use_case_transitions_use_case_idx').on('use_case_transitions').columns(['use_case_id', 'at']).execute();
  },
};
