// SPDX-License-Identifier: Apache-2.0
/** Users and service accounts (`users`). Workforce identities, not patients: stored in clear. */
import type { Kysely, Selectable } from 'kysely';
import { stringListFromJson, toJsonText } from '../dialect.js';
import type { Database, UsersTable } from '../schema.js';

export type UserKind = 'user' | 'service';

export interface UserRecord {
  readonly id: string;
  readonly name: string;
  readonly roles: readonly string[];
  readonly orgUnit: string | null;
  readonly kind: UserKind;
  /** Epoch ms. */
  readonly createdAt: number;
  readonly disabledAt: number | null;
}

export interface NewUser {
  readonly id: string;
  readonly name: string;
  readonly roles: readonly string[];
  readonly orgUnit?: string | null;
  readonly kind: UserKind;
}

export interface UserRepo {
  /** Inserts; throws if the id or name is taken. */
  create(user: NewUser): Promise<UserRecord>;
  findById(id: string): Promise<UserRecord | undefined>;
  findByName(name: string): Promise<UserRecord | undefined>;
  /** Every user, oldest first. */
  list(): Promise<readonly UserRecord[]>;
  setRoles(id: string, roles: readonly string[]): Promise<boolean>;
  /** Marks the user disabled (idempotent; keeps the first time). Returns false if no such user. */
  disable(id: string): Promise<boolean>;
}

export interface RepoOptions {
  /** Clock, epoch ms. */
  readonly now?: () => number;
}

export function createUserRepo(db: Kysely<Database>, options: RepoOptions = {}): UserRepo {
  const now = options.now ?? Date.now;
  const toRecord = (row: Selectable<UsersTable>): UserRecord => ({
    id: row.id,
    name: row.name,
    roles: stringListFromJson(row.roles),
    orgUnit: row.org_unit,
    kind: row.kind,
    createdAt: Number(row.created_at),
    disabledAt: row.disabled_at === null ? null : Number(row.disabled_at),
  });

  return {
    async create(user) {
      const row = {
        id: user.id,
        name: user.name,
        roles: toJsonText(user.roles),
        org_unit: user.orgUnit ?? null,
        kind: user.kind,
        created_at: now(),
        disabled_at: null,
      };
      await db.insertInto('users').values(row).execute();
      return toRecord(row);
    },
    async findById(id) {
      const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toRecord(row);
    },
    async findByName(name) {
      const row = await db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
      return row === undefined ? undefined : toRecord(row);
    },
    async list() {
      const rows = await db.selectFrom('users').selectAll().orderBy('created_at').orderBy('id').execute();
      return rows.map(toRecord);
    },
    async setRoles(id, roles) {
      const result = await db.updateTable('users').set({ roles: toJsonText(roles) }).where('id', '=', id).executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async disable(id) {
      const result = await db
        .updateTable('users')
        .set((eb) => ({ disabled_at: eb.fn.coalesce('disabled_at', eb.val(now())) }))
        .where('id', '=', id)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
  };
}
