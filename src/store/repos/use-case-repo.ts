// SPDX-License-Identifier: Apache-2.0
/**
 * The use-case registry (`use_cases`, `use_case_versions`, `use_case_approvals`,
 * `use_case_transitions`). The repository decides nothing about governance: the service
 * (registry/use-cases.ts) and the import (registry/policy-as-code.ts) compute a
 * {@link UseCaseChange} with registry/governance.ts and hand it here, and the repository applies
 * it atomically:
 *
 * - the use-case row is written only if its `version` is still the one the caller read
 *   (optimistic concurrency; `use_case_version_conflict` otherwise);
 * - version specs are inserted once and never rewritten; only states and review times change;
 * - the registry revision is bumped in the same transaction, so every gateway instance sees the
 *   change on its next request.
 *
 * Specs are re-validated against the use-case schema when read: a row edited by hand into an
 * impossible record fails loudly instead of being enforced half-way.
 *
 * ```ts
 * const repo = createUseCaseRepo(db);
 * const current = await repo.get('triage');
 * await repo.apply({ id: 'triage', expectedVersion: current.useCase.version, state: 'suspended', … });
 * ```
 */
import type { Kysely, Selectable, Transaction } from 'kysely';
import { GatewayError } from '../../kernel/errors.js';
import { uuidv7 } from '../../kernel/ids.js';
import { useCaseStates, versionStates, type UseCaseState, type VersionState } from '../../registry/registry-view.js';
import { useCaseSpecSchema, type UseCaseSpec } from '../../registry/use-case-spec.js';
import { affected, fromJsonText, toJsonText } from '../dialect.js';
import type { UseCaseApprovalsTable, UseCaseTransitionsTable, UseCaseVersionsTable, UseCasesTable } from '../migrations/0009-use-cases.js';
import type { Database } from '../schema.js';
import { bumpRegistryRevision } from './vendor-repo.js';

export interface UseCaseRecord {
  readonly id: string;
  readonly state: UseCaseState;
  readonly liveVersion: number | null;
  /** The optimistic-concurrency counter a write must name. */
  readonly version: number;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface UseCaseVersionRecord {
  readonly useCaseId: string;
  readonly number: number;
  readonly spec: UseCaseSpec;
  readonly state: VersionState;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly reason: string | null;
  readonly submittedBy: string | null;
  readonly submittedAt: number | null;
  readonly approvedAt: number | null;
  readonly decidedAt: number | null;
}

export type ApprovalSource = 'console' | 'cli' | 'import';

export interface ApprovalRecord {
  readonly id: string;
  readonly useCaseId: string;
  readonly version: number;
  readonly seat: string;
  readonly role: string;
  readonly userId: string;
  readonly decision: 'approve' | 'reject';
  readonly reason: string | null;
  readonly at: number;
  readonly source: ApprovalSource;
}

export type TransitionAction = 'create' | 'propose' | 'submit' | 'approve' | 'reject' | 'golive' | 'suspend' | 'resume' | 'retire' | 'rollback' | 'import';

export interface TransitionRecord {
  readonly id: string;
  readonly useCaseId: string;
  readonly version: number | null;
  readonly action: TransitionAction;
  readonly fromState: UseCaseState | null;
  readonly toState: UseCaseState;
  readonly actor: string;
  readonly reason: string | null;
  readonly at: number;
}

/** A use case with every version (oldest first) and every decision (in the order made). */
export interface UseCaseAggregate {
  readonly useCase: UseCaseRecord;
  readonly versions: readonly UseCaseVersionRecord[];
  readonly approvals: readonly ApprovalRecord[];
}

export type NewVersion = Omit<UseCaseVersionRecord, 'useCaseId'>;
export type NewApproval = Omit<ApprovalRecord, 'id' | 'useCaseId'> & { readonly id?: string };
export type NewTransition = Omit<TransitionRecord, 'id' | 'useCaseId' | 'at'> & { readonly at?: number };

/** One atomic change to one use case. */
export interface UseCaseChange {
  readonly id: string;
  /** The `version` the caller read; 0 creates the use case (`use_case_exists` when the id is taken). */
  readonly expectedVersion: number;
  readonly state: UseCaseState;
  readonly liveVersion: number | null;
  /** Set on create only. */
  readonly createdBy?: string;
  readonly newVersions?: readonly NewVersion[];
  /** State and review-time changes of existing versions (specs never change). */
  readonly versionUpdates?: readonly {
    readonly number: number;
    readonly state: VersionState;
    readonly submittedBy?: string | null;
    readonly submittedAt?: number | null;
    readonly approvedAt?: number | null;
    readonly decidedAt?: number | null;
  }[];
  readonly approvals?: readonly NewApproval[];
  readonly transitions?: readonly NewTransition[];
  readonly at: number;
}

/** What the registry view loads: every use case's state, and the serving spec of those live. */
export interface ServingUseCase {
  readonly id: string;
  readonly state: UseCaseState;
  readonly liveVersion: number | null;
  /** The live version's spec while the use case is `live`; undefined otherwise. */
  readonly spec: UseCaseSpec | undefined;
}

export interface UseCaseRepo {
  get(id: string): Promise<UseCaseAggregate | undefined>;
  /** Every use case with versions and decisions, by id. */
  list(): Promise<readonly UseCaseAggregate[]>;
  /** The lifecycle history, oldest first. */
  history(id: string): Promise<readonly TransitionRecord[]>;
  /** Applies one change and bumps the registry revision, in one transaction. */
  apply(change: UseCaseChange): Promise<{ readonly useCase: UseCaseRecord; readonly revision: number }>;
  /** States of every use case and the live specs, for the registry view. */
  serving(): Promise<readonly ServingUseCase[]>;
}

type Executor = Kysely<Database> | Transaction<Database>;

function isUseCaseState(value: string): value is UseCaseState {
  return (useCaseStates as readonly string[]).includes(value);
}

function isVersionState(value: string): value is VersionState {
  return (versionStates as readonly string[]).includes(value);
}

const num = (value: number | null): number | null => (value === null ? null : Number(value));

function toUseCase(row: Selectable<UseCasesTable>): UseCaseRecord {
  if (!isUseCaseState(row.state)) throw new Error('use_cases row has an unknown state');
  return {
    id: row.id,
    state: row.state,
    liveVersion: num(row.live_version),
    version: Number(row.version),
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** Parses a stored spec; a row that no longer matches the schema is a corrupt store. */
function parseSpec(text: string): UseCaseSpec {
  const parsed = useCaseSpecSchema.safeParse(fromJsonText(text));
  if (!parsed.success) throw new Error('use_case_versions row does not hold a valid use-case spec');
  return parsed.data;
}

function toVersion(row: Selectable<UseCaseVersionsTable>): UseCaseVersionRecord {
  if (!isVersionState(row.state)) throw new Error('use_case_versions row has an unknown state');
  return {
    useCaseId: row.use_case_id,
    number: Number(row.number),
    spec: parseSpec(row.spec),
    state: row.state,
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    reason: row.reason,
    submittedBy: row.submitted_by,
    submittedAt: num(row.submitted_at),
    approvedAt: num(row.approved_at),
    decidedAt: num(row.decided_at),
  };
}

function toApproval(row: Selectable<UseCaseApprovalsTable>): ApprovalRecord {
  if (row.decision !== 'approve' && row.decision !== 'reject') throw new Error('use_case_approvals row has an unknown decision');
  if (row.source !== 'console' && row.source !== 'cli' && row.source !== 'import') throw new Error('use_case_approvals row has an unknown source');
  return {
    id: row.id,
    useCaseId: row.use_case_id,
    version: Number(row.version),
    seat: row.seat,
    role: row.role,
    userId: row.user_id,
    decision: row.decision,
    reason: row.reason,
    at: Number(row.at),
    source: row.source,
  };
}

function toTransition(row: Selectable<UseCaseTransitionsTable>): TransitionRecord {
  if (!isUseCaseState(row.to_state) || (row.from_state !== null && !isUseCaseState(row.from_state))) throw new Error('use_case_transitions row has an unknown state');
  return {
    id: row.id,
    useCaseId: row.use_case_id,
    version: num(row.version),
    action: row.action as TransitionAction,
    fromState: row.from_state as UseCaseState | null,
    toState: row.to_state,
    actor: row.actor,
    reason: row.reason,
    at: Number(row.at),
  };
}

/**
 * Applies one use-case change inside the caller's transaction, without bumping the registry
 * revision (the caller does, once per transaction). The policy-as-code import composes several
 * of these with vendor writes; everything else calls {@link UseCaseRepo.apply}.
 */
export async function applyUseCaseChange(trx: Transaction<Database>, change: UseCaseChange): Promise<UseCaseRecord> {
  const { id, at } = change;
  if (!Number.isSafeInteger(change.expectedVersion) || change.expectedVersion < 0) throw new RangeError('expectedVersion must be a non-negative integer');
  let createdAt = at;
  let createdBy = change.createdBy ?? '';
  if (change.expectedVersion === 0) {
    if (change.createdBy === undefined) throw new Error('createdBy is required to create a use case');
    const result = await trx
      .insertInto('use_cases')
      .values({ id, state: change.state, live_version: change.liveVersion, version: 1, created_by: change.createdBy, created_at: at, updated_at: at })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    if (affected(result) !== 1) throw new GatewayError('use_case_exists', { detail: { useCase: id } });
  } else {
    const result = await trx
      .updateTable('use_cases')
      .set({ state: change.state, live_version: change.liveVersion, version: change.expectedVersion + 1, updated_at: at })
      .where('id', '=', id)
      .where('version', '=', change.expectedVersion)
      .executeTakeFirst();
    if (affected(result) !== 1) {
      const exists = await trx.selectFrom('use_cases').select('version').where('id', '=', id).executeTakeFirst();
      if (exists === undefined) throw new GatewayError('use_case_not_found', { detail: { useCase: id } });
      throw new GatewayError('use_case_version_conflict', { detail: { useCase: id, expectedVersion: change.expectedVersion, currentVersion: Number(exists.version) } });
    }
    const row = await trx.selectFrom('use_cases').select(['created_at', 'created_by']).where('id', '=', id).executeTakeFirstOrThrow();
    createdAt = Number(row.created_at);
    createdBy = row.created_by;
  }
  for (const v of change.newVersions ?? []) {
    // Validate before writing, so the store only ever holds specs the schema accepts.
    const spec = useCaseSpecSchema.parse(v.spec);
    await trx
      .insertInto('use_case_versions')
      .values({
        use_case_id: id,
        number: v.number,
        spec: toJsonText(spec),
        state: v.state,
        created_by: v.createdBy,
        created_at: v.createdAt,
        reason: v.reason,
        submitted_by: v.submittedBy,
        submitted_at: v.submittedAt,
        approved_at: v.approvedAt,
        decided_at: v.decidedAt,
      })
      .execute();
  }
  for (const u of change.versionUpdates ?? []) {
    const result = await trx
      .updateTable('use_case_versions')
      .set({
        state: u.state,
        ...(u.submittedBy === undefined ? {} : { submitted_by: u.submittedBy }),
        ...(u.submittedAt === undefined ? {} : { submitted_at: u.submittedAt }),
        ...(u.approvedAt === undefined ? {} : { approved_at: u.approvedAt }),
        ...(u.decidedAt === undefined ? {} : { decided_at: u.decidedAt }),
      })
      .where('use_case_id', '=', id)
      .where('number', '=', u.number)
      .executeTakeFirst();
    if (affected(result) !== 1) throw new GatewayError('use_case_version_not_found', { detail: { useCase: id, version: u.number } });
  }
  for (const a of change.approvals ?? []) {
    await trx
      .insertInto('use_case_approvals')
      .values({ id: a.id ?? uuidv7(at), use_case_id: id, version: a.version, seat: a.seat, role: a.role, user_id: a.userId, decision: a.decision, reason: a.reason, at: a.at, source: a.source })
      .execute();
  }
  for (const t of change.transitions ?? []) {
    await trx
      .insertInto('use_case_transitions')
      .values({ id: uuidv7(at), use_case_id: id, version: t.version, action: t.action, from_state: t.fromState, to_state: t.toState, actor: t.actor, reason: t.reason, at: t.at ?? at })
      .execute();
  }
  return { id, state: change.state, liveVersion: change.liveVersion, version: change.expectedVersion + 1, createdBy, createdAt, updatedAt: at };
}

async function loadAggregates(db: Executor, id?: string): Promise<UseCaseAggregate[]> {
  let useCases = db.selectFrom('use_cases').selectAll();
  let versions = db.selectFrom('use_case_versions').selectAll();
  let approvals = db.selectFrom('use_case_approvals').selectAll();
  if (id !== undefined) {
    useCases = useCases.where('id', '=', id);
    versions = versions.where('use_case_id', '=', id);
    approvals = approvals.where('use_case_id', '=', id);
  }
  const [u, v, a] = await Promise.all([
    useCases.orderBy('id').execute(),
    versions.orderBy('use_case_id').orderBy('number').execute(),
    approvals.orderBy('use_case_id').orderBy('version').orderBy('at').orderBy('id').execute(),
  ]);
  const versionsOf = new Map<string, UseCaseVersionRecord[]>();
  for (const row of v) {
    const list = versionsOf.get(row.use_case_id) ?? [];
    list.push(toVersion(row));
    versionsOf.set(row.use_case_id, list);
  }
  const approvalsOf = new Map<string, ApprovalRecord[]>();
  for (const row of a) {
    const list = approvalsOf.get(row.use_case_id) ?? [];
    list.push(toApproval(row));
    approvalsOf.set(row.use_case_id, list);
  }
  return u.map((row) => ({ useCase: toUseCase(row), versions: versionsOf.get(row.id) ?? [], approvals: approvalsOf.get(row.id) ?? [] }));
}

export function createUseCaseRepo(db: Kysely<Database>): UseCaseRepo {
  return {
    async get(id) {
      return (await loadAggregates(db, id))[0];
    },
    list: () => loadAggregates(db),
    async history(id) {
      const rows = await db.selectFrom('use_case_transitions').selectAll().where('use_case_id', '=', id).orderBy('at').orderBy('id').execute();
      return rows.map(toTransition);
    },
    async apply(change) {
      return db.transaction().execute(async (trx) => {
        const useCase = await applyUseCaseChange(trx, change);
        const revision = await bumpRegistryRevision(trx, change.at);
        return { useCase, revision };
      });
    },
    async serving() {
      const rows = await db
        .selectFrom('use_cases as u')
        .leftJoin('use_case_versions as v', (join) => join.onRef('v.use_case_id', '=', 'u.id').onRef('v.number', '=', 'u.live_version'))
        .select(['u.id as id', 'u.state as state', 'u.live_version as liveVersion', 'v.spec as spec'])
        .orderBy('u.id')
        .execute();
      return rows.map((row) => {
        if (!isUseCaseState(row.state)) throw new Error('use_cases row has an unknown state');
        const live = row.state === 'live';
        if (live && (row.spec === null || row.liveVersion === null)) throw new Error('a live use case has no live version');
        return { id: row.id, state: row.state, liveVersion: num(row.liveVersion), spec: live && row.spec !== null ? parseSpec(row.spec) : undefined };
      });
    },
  };
}
