// SPDX-License-Identifier: Apache-2.0
/**
 * Migration 0003: patient-level access. Care-team assignments, units and their members, the
 * access profile of each user (organisation, NPI, break-glass eligibility), break-glass
 * sessions, the alert outbox and access incidents.
 *
 * Patient references are PHI-adjacent: every table stores them as a blind index
 * (`patient_index`, `FieldCrypto.blindIndex(ref, 'patient')`) for lookups and an encrypted copy
 * (`patient_enc`) for display. Break-glass reasons and review notes are ciphertexts too.
 */
import type { Kysely, Migration } from 'kysely';
import { millisType } from '../dialect.js';

export interface AccessProfilesTable {
  user_id: string;
  /** The organisation the user works for; patients of units in other organisations are never granted. */
  organisation: string;
  /** National Provider Identifier, to map FHIR Practitioners to users. */
  npi: string | null;
  /** 1 when the user may break the glass. */
  break_glass_eligible: number;
  updated_at: number;
}

export interface AccessUnitsTable {
  id: string;
  organisation: string;
  created_at: number;
}

export interface AccessUnitMembersTable {
  id: string;
  unit_id: string;
  user_id: string;
  start_at: number;
  end_at: number | null;
}

export interface AccessPatientUnitsTable {
  id: string;
  unit_id: string;
  patient_index: string;
  patient_enc: string;
  start_at: number;
  end_at: number | null;
}

export interface CareTeamAssignmentsTable {
  id: string;
  user_id: string;
  patient_index: string;
  patient_enc: string;
  /** The member's role on the team (`attending`, `primary_nurse`, …); informational. */
  team_role: string;
  start_at: number;
  /** Exclusive; null while open-ended. */
  end_at: number | null;
  /** `api`, `cli`, `csv`, `fhir`. */
  source: string;
  created_by: string;
  created_at: number;
}

export interface BreakGlassSessionsTable {
  id: string;
  user_id: string;
  patient_index: string;
  patient_enc: string;
  category: string;
  reason_enc: string;
  purpose: string | null;
  started_at: number;
  expires_at: number;
  ended_at: number | null;
  /** `open`, `justified`, `misuse`. */
  review_status: string;
  reviewed_by: string | null;
  reviewed_at: number | null;
  review_note_enc: string | null;
  incident_id: string | null;
}

export interface AccessAlertOutboxTable {
  id: string;
  session_id: string;
  channel_id: string;
  /** PHI-free JSON payload (ids, category, times, keyed patient hash). */
  payload: string;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
  /** Set while one dispatcher holds the row. */
  lease_until: number | null;
  delivered_at: number | null;
  /** Set when attempts ran out. */
  dead_at: number | null;
  /** Error class only (`timeout`, `http_500`, …), never a server's text. */
  last_error: string | null;
}

export interface AccessIncidentsTable {
  id: string;
  kind: string;
  session_id: string | null;
  user_id: string;
  created_by: string;
  created_at: number;
  status: string;
  note_enc: string | null;
}

declare module '../schema.js' {
  interface Database {
    access_profiles: AccessProfilesTable;
    access_units: AccessUnitsTable;
    access_unit_members: AccessUnitMembersTable;
    access_patient_units: AccessPatientUnitsTable;
    care_team_assignments: CareTeamAssignmentsTable;
    break_glass_sessions: BreakGlassSessionsTable;
    access_alert_outbox: AccessAlertOutboxTable;
    access_incidents: AccessIncidentsTable;
  }
}

export const migration0003Access: Migration = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema as it was then
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('access_profiles')
      .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
      .addColumn('organisation', 'text', (c) => c.notNull().defaultTo('default'))
      .addColumn('npi', 'text')
      .addColumn('break_glass_eligible', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('updated_at', millisType, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('access_profiles_npi_idx').on('access_profiles').column('npi').execute();

    await db.schema
      .createTable('access_units')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('organisation', 'text', (c) => c.notNull())
      .addColumn('created_at', millisType, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('access_unit_members')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('unit_id', 'text', (c) => c.notNull().references('access_units.id').onDelete('cascade'))
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('start_at', millisType, (c) => c.notNull())
      .addColumn('end_at', millisType)
      .execute();
    await db.schema.createIndex('access_unit_members_user_idx').on('access_unit_members').columns(['user_id', 'unit_id']).execute();

    await db.schema
      .createTable('access_patient_units')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('unit_id', 'text', (c) => c.notNull().references('access_units.id').onDelete('cascade'))
      .addColumn('patient_index', 'text', (c) => c.notNull())
      .addColumn('patient_enc', 'text', (c) => c.notNull())
      .addColumn('start_at', millisType, (c) => c.notNull())
      .addColumn('end_at', millisType)
      .execute();
    await db.schema.createIndex('access_patient_units_patient_idx').on('access_patient_units').columns(['patient_index', 'unit_id']).execute();

    await db.schema
      .createTable('care_team_assignments')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('patient_index', 'text', (c) => c.notNull())
      .addColumn('patient_enc', 'text', (c) => c.notNull())
      .addColumn('team_role', 'text', (c) => c.notNull())
      .addColumn('start_at', millisType, (c) => c.notNull())
      .addColumn('end_at', millisType)
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', millisType, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('care_team_user_patient_idx').on('care_team_assignments').columns(['user_id', 'patient_index']).execute();
    await db.schema.createIndex('care_team_patient_idx').on('care_team_assignments').column('patient_index').execute();

    await db.schema
      .createTable('break_glass_sessions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('restrict'))
      .addColumn('patient_index', 'text', (c) => c.notNull())
      .addColumn('patient_enc', 'text', (c) => c.notNull())
      .addColumn('category', 'text', (c) => c.notNull())
      .addColumn('reason_enc', 'text', (c) => c.notNull())
      .addColumn('purpose', 'text')
      .addColumn('started_at', millisType, (c) => c.notNull())
      .addColumn('expires_at', millisType, (c) => c.notNull())
      .addColumn('ended_at', millisType)
      .addColumn('review_status', 'text', (c) => c.notNull().defaultTo('open'))
      .addColumn('reviewed_by', 'text')
      .addColumn('reviewed_at', millisType)
      .addColumn('review_note_enc', 'text')
      .addColumn('incident_id', 'text')
      .execute();
    await db.schema.createIndex('break_glass_user_patient_idx').on('break_glass_sessions').columns(['user_id', 'patient_index', 'expires_at']).execute();
    await db.schema.createIndex('break_glass_review_idx').on('break_glass_sessions').columns(['review_status', 'started_at']).execute();

    await db.schema
      .createTable('access_alert_outbox')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('session_id', 'text', (c) => c.notNull().references('break_glass_sessions.id').onDelete('restrict'))
      .addColumn('channel_id', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('created_at', millisType, (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', millisType, (c) => c.notNull())
      .addColumn('lease_until', millisType)
      .addColumn('delivered_at', millisType)
      .addColumn('dead_at', millisType)
      .addColumn('last_error', 'text')
      .execute();
    await db.schema.createIndex('access_alert_outbox_due_idx').on('access_alert_outbox').columns(['delivered_at', 'dead_at', 'next_attempt_at']).execute();

    await db.schema
      .createTable('access_incidents')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('session_id', 'text')
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', millisType, (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().defaultTo('open'))
      .addColumn('note_enc', 'text')
      .execute();
  },
};
