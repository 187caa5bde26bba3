// SPDX-License-Identifier: Apache-2.0
/**
 * Care teams and units (`care_team_assignments`, `access_units`, `access_unit_members`,
 * `access_patient_units`) and each user's access profile (`access_profiles`).
 *
 * Patient references never sit in clear: lookups go through the blind index
 * `blindIndex(ref, 'patient')`, and an encrypted copy (data class `access`, bound to its row)
 * is kept only so an administrator can list assignments. Intervals are half-open:
 * a row is active at `t` when `start_at <= t < end_at` (or `end_at` is null).
 */
import type { Insertable, Kysely, Selectable } from 'kysely';
import type { FieldCrypto } from '../../crypto/field-crypto.js';
import { uuidv7 } from '../../kernel/ids.js';
import type { CareTeamAssignmentsTable } from '../migrations/0003-access.js';
import type { Database } from '../schema.js';
import type { RepoOptions } from './user-repo.js';

/** The data class access data is encrypted under. */
export const accessDataClass = 'access';

/** The blind index of a patient reference (normalised `Patient/<id>`), shared by every access table. */
export function patientIndexOf(crypto: Pick<FieldCrypto, 'blindIndex'>, patient: string): string {
  return crypto.blindIndex(patient, 'patient');
}

export interface CareTeamAssignment {
  readonly id: string;
  readonly userId: string;
  /** Decrypted `Patient/<id>`. */
  readonly patient: string;
  readonly teamRole: string;
  readonly startAt: number;
  readonly endAt: number | null;
  readonly source: string;
  readonly createdBy: string;
  readonly createdAt: number;
}

export interface NewAssignment {
  readonly userId: string;
  readonly patient: string;
  readonly teamRole: string;
  readonly startAt?: number;
  readonly endAt?: number | null;
  readonly source: string;
  readonly createdBy: string;
}

export interface AccessProfile {
  readonly userId: string;
  readonly organisation: string;
  readonly npi: string | null;
  readonly breakGlassEligible: boolean;
  readonly updatedAt: number;
}

/** What the relationship resolver needs about a user and a patient, at one instant. */
export interface RelationshipFacts {
  readonly assigned: boolean;
  /** The user's organisation (`default` when the user has no profile). */
  readonly organisation: string;
  readonly breakGlassEligible: boolean;
  /** Units the user is an active member of. */
  readonly userUnits: readonly { readonly unitId: string; readonly organisation: string }[];
  /** Units the patient is actively placed in. */
  readonly patientUnits: readonly { readonly unitId: string; readonly organisation: string }[];
}

export interface CareTeamRepo {
  assign(assignment: NewAssignment): Promise<CareTeamAssignment>;
  /** Inserts all or none (one transaction); returns the new ids in order. */
  assignMany(assignments: readonly NewAssignment[]): Promise<readonly string[]>;
  /** Ends an assignment at `at` (default now); false if no such open assignment. */
  end(id: string, at?: number): Promise<boolean>;
  findById(id: string): Promise<CareTeamAssignment | undefined>;
  /** Assignments filtered by user and/or patient, newest first; `activeAt` keeps only those active then. */
  list(filter?: { userId?: string; patient?: string; activeAt?: number; limit?: number }): Promise<readonly CareTeamAssignment[]>;

  upsertUnit(id: string, organisation: string): Promise<void>;
  listUnits(): Promise<readonly { id: string; organisation: string }[]>;
  addUnitMember(unitId: string, userId: string, startAt?: number, endAt?: number | null): Promise<string>;
  endUnitMember(unitId: string, userId: string, at?: number): Promise<number>;
  placePatient(unitId: string, patient: string, startAt?: number, endAt?: number | null): Promise<string>;
  endPatientPlacement(unitId: string, patient: string, at?: number): Promise<number>;

  getProfile(userId: string): Promise<AccessProfile | undefined>;
  /** Creates or updates a profile; omitted fields keep their value (or the default). */
  setProfile(userId: string, changes: { organisation?: string; npi?: string | null; breakGlassEligible?: boolean }): Promise<AccessProfile>;
  findUserByNpi(npi: string): Promise<string | undefined>;

  /** Everything needed to classify the relationship, in three indexed queries. */
  relationshipFacts(userId: string, patient: string, at: number): Promise<RelationshipFacts>;
}

export const defaultOrganisation = 'default';

export function createCareTeamRepo(db: Kysely<Database>, crypto: FieldCrypto, options: RepoOptions = {}): CareTeamRepo {
  const now = options.now ?? Date.now;
  const indexOf = (patient: string): string => patientIndexOf(crypto, patient);
  const context = (table: string, rowId: string) => ({ table, column: 'patient', rowId });

  const toAssignment = async (row: Selectable<CareTeamAssignmentsTable>): Promise<CareTeamAssignment> => ({
    id: row.id,
    userId: row.user_id,
    patient: await crypto.decryptString(row.patient_enc, context('care_team_assignments', row.id)),
    teamRole: row.team_role,
    startAt: Number(row.start_at),
    endAt: row.end_at === null ? null : Number(row.end_at),
    source: row.source,
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
  });

  const profileDefaults = (userId: string): AccessProfile => ({ userId, organisation: defaultOrganisation, npi: null, breakGlassEligible: false, updatedAt: 0 });

  const getProfile = async (userId: string): Promise<AccessProfile | undefined> => {
    const row = await db.selectFrom('access_profiles').selectAll().where('user_id', '=', userId).executeTakeFirst();
    if (row === undefined) return undefined;
    return { userId, organisation: row.organisation, npi: row.npi, breakGlassEligible: Number(row.break_glass_eligible) === 1, updatedAt: Number(row.updated_at) };
  };

  const toRow = async (assignment: NewAssignment) => {
    const id = uuidv7(now());
    const createdAt = now();
    const row = {
      id,
      user_id: assignment.userId,
      patient_index: indexOf(assignment.patient),
      patient_enc: await crypto.encrypt(assignment.patient, context('care_team_assignments', id), accessDataClass),
      team_role: assignment.teamRole,
      start_at: assignment.startAt ?? createdAt,
      end_at: assignment.endAt ?? null,
      source: assignment.source,
      created_by: assignment.createdBy,
      created_at: createdAt,
    };
    return row;
  };

  return {
    async assign(assignment) {
      const row = await toRow(assignment);
      await db.insertInto('care_team_assignments').values(row).execute();
      return toAssignment(row);
    },
    async assignMany(assignments) {
      // Encrypt first: the field crypto may read its key table, which must not wait on this transaction.
      const rows: Insertable<CareTeamAssignmentsTable>[] = [];
      for (const assignment of assignments) rows.push(await toRow(assignment));
      await db.transaction().execute(async (trx) => {
        for (let i = 0; i < rows.length; i += 200) await trx.insertInto('care_team_assignments').values(rows.slice(i, i + 200)).execute();
      });
      return rows.map((row) => row.id);
    },
    async end(id, at = now()) {
      const result = await db
        .updateTable('care_team_assignments')
        .set({ end_at: at })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('end_at', 'is', null), eb('end_at', '>', at)]))
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
    async findById(id) {
      const row = await db.selectFrom('care_team_assignments').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toAssignment(row);
    },
    async list(filter = {}) {
      let query = db.selectFrom('care_team_assignments').selectAll();
      if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId);
      if (filter.patient !== undefined) query = query.where('patient_index', '=', indexOf(filter.patient));
      if (filter.activeAt !== undefined) {
        const at = filter.activeAt;
        query = query.where('start_at', '<=', at).where((eb) => eb.or([eb('end_at', 'is', null), eb('end_at', '>', at)]));
      }
      const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit ?? 1000).execute();
      return Promise.all(rows.map(toAssignment));
    },

    async upsertUnit(id, organisation) {
      await db
        .insertInto('access_units')
        .values({ id, organisation, created_at: now() })
        .onConflict((oc) => oc.column('id').doUpdateSet({ organisation }))
        .execute();
    },
    async listUnits() {
      return db.selectFrom('access_units').select(['id', 'organisation']).orderBy('id').execute();
    },
    async addUnitMember(unitId, userId, startAt = now(), endAt = null) {
      const id = uuidv7(now());
      await db.insertInto('access_unit_members').values({ id, unit_id: unitId, user_id: userId, start_at: startAt, end_at: endAt }).execute();
      return id;
    },
    async endUnitMember(unitId, userId, at = now()) {
      const result = await db
        .updateTable('access_unit_members')
        .set({ end_at: at })
        .where('unit_id', '=', unitId)
        .where('user_id', '=', userId)
        .where((eb) => eb.or([eb('end_at', 'is', null), eb('end_at', '>', at)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
    async placePatient(unitId, patient, startAt = now(), endAt = null) {
      const id = uuidv7(now());
      await db
        .insertInto('access_patient_units')
        .values({
          id,
          unit_id: unitId,
          patient_index: indexOf(patient),
          patient_enc: await crypto.encrypt(patient, context('access_patient_units', id), accessDataClass),
          start_at: startAt,
          end_at: endAt,
        })
        .execute();
      return id;
    },
    async endPatientPlacement(unitId, patient, at = now()) {
      const result = await db
        .updateTable('access_patient_units')
        .set({ end_at: at })
        .where('unit_id', '=', unitId)
        .where('patient_index', '=', indexOf(patient))
        .where((eb) => eb.or([eb('end_at', 'is', null), eb('end_at', '>', at)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    getProfile,
    async setProfile(userId, changes) {
      const current = (await getProfile(userId)) ?? profileDefaults(userId);
      const next = {
        user_id: userId,
        organisation: changes.organisation ?? current.organisation,
        npi: changes.npi === undefined ? current.npi : changes.npi,
        break_glass_eligible: (changes.breakGlassEligible ?? current.breakGlassEligible) ? 1 : 0,
        updated_at: now(),
      };
      await db
        .insertInto('access_profiles')
        .values(next)
        .onConflict((oc) => oc.column('user_id').doUpdateSet({ organisation: next.organisation, npi: next.npi, break_glass_eligible: next.break_glass_eligible, updated_at: next.updated_at }))
        .execute();
      return { userId, organisation: next.organisation, npi: next.npi, breakGlassEligible: next.break_glass_eligible === 1, updatedAt: next.updated_at };
    },
    async findUserByNpi(npi) {
      const rows = await db.selectFrom('access_profiles').select('user_id').where('npi', '=', npi).limit(2).execute();
      // An NPI held by two users maps to neither: ambiguity must not grant.
      return rows.length === 1 ? rows[0]?.user_id : undefined;
    },

    async relationshipFacts(userId, patient, at) {
      const patientIndex = indexOf(patient);
      const [assignment, profile, userUnits, patientUnits] = await Promise.all([
        db
          .selectFrom('care_team_assignments')
          .select('id')
          .where('user_id', '=', userId)
          .where('patient_index', '=', patientIndex)
          .where('start_at', '<=', at)
          .where((eb) => eb.or([eb('end_at', 'is', null), eb('end_at', '>', at)]))
          .executeTakeFirst(),
        getProfile(userId),
        db
          .selectFrom('access_unit_members as m')
          .innerJoin('access_units as u', 'u.id', 'm.unit_id')
          .select(['u.id as unitId', 'u.organisation as organisation'])
          .where('m.user_id', '=', userId)
          .where('m.start_at', '<=', at)
          .where((eb) => eb.or([eb('m.end_at', 'is', null), eb('m.end_at', '>', at)]))
          .execute(),
        db
          .selectFrom('access_patient_units as p')
          .innerJoin('access_units as u', 'u.id', 'p.unit_id')
          .select(['u.id as unitId', 'u.organisation as organisation'])
          .where('p.patient_index', '=', patientIndex)
          .where('p.start_at', '<=', at)
          .where((eb) => eb.or([eb('p.end_at', 'is', null), eb('p.end_at', '>', at)]))
          .execute(),
      ]);
      return {
        assigned: assignment !== undefined,
        organisation: profile?.organisation ?? defaultOrganisation,
        breakGlassEligible: profile?.breakGlassEligible ?? false,
        userUnits,
        patientUnits,
      };
    },
  };
}
