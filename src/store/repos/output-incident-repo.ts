// SPDX-License-Identifier: Apache-2.0
/**
 * Output incidents (`output_incidents`): answers in which the output filter found another
 * patient's identifiers. Rows hold ids, categories and counts only, so they are stored in clear.
 */
import type { Kysely, Selectable } from 'kysely';
import { uuidv7 } from '../../kernel/ids.js';
import { fromJsonText, toJsonText } from '../dialect.js';
import type { OutputIncidentsTable } from '../migrations/0012-output-incidents.js';
import type { Database } from '../schema.js';
import type { RepoOptions } from './user-repo.js';

export interface OutputIncident {
  readonly id: string;
  readonly kind: 'cross_patient_leak';
  readonly requestId: string;
  readonly createdAt: number;
  readonly status: string;
  readonly action: 'redacted' | 'blocked';
  readonly patientHash: string | null;
  readonly useCase: string | null;
  readonly endpointId: string | null;
  readonly userId: string | null;
  readonly form: string | null;
  readonly streamed: boolean;
  readonly leakCount: number;
  readonly categories: Readonly<Record<string, number>>;
  readonly inLinks: number;
}

export type NewOutputIncident = Omit<OutputIncident, 'id' | 'createdAt' | 'status' | 'kind'>;

export interface OutputIncidentRepo {
  /** Records an open incident and returns it. */
  create(incident: NewOutputIncident): Promise<OutputIncident>;
  findByRequest(requestId: string): Promise<readonly OutputIncident[]>;
  /** Newest first. */
  list(filter?: { status?: string; limit?: number }): Promise<readonly OutputIncident[]>;
}

function toIncident(row: Selectable<OutputIncidentsTable>): OutputIncident {
  return {
    id: row.id,
    kind: 'cross_patient_leak',
    requestId: row.request_id,
    createdAt: Number(row.created_at),
    status: row.status,
    action: row.action === 'blocked' ? 'blocked' : 'redacted',
    patientHash: row.patient_hash,
    useCase: row.use_case,
    endpointId: row.endpoint_id,
    userId: row.user_id,
    form: row.form,
    streamed: Number(row.streamed) === 1,
    leakCount: Number(row.leak_count),
    categories: fromJsonText<Record<string, number>>(row.categories),
    inLinks: Number(row.in_links),
  };
}

export function createOutputIncidentRepo(db: Kysely<Database>, options: RepoOptions = {}): OutputIncidentRepo {
  const now = options.now ?? Date.now;
  return {
    async create(incident) {
      const createdAt = now();
      const row: OutputIncidentsTable = {
        id: uuidv7(createdAt),
        kind: 'cross_patient_leak',
        request_id: incident.requestId,
        created_at: createdAt,
        status: 'open',
        action: incident.action,
        patient_hash: incident.patientHash,
        use_case: incident.useCase,
        endpoint_id: incident.endpointId,
        user_id: incident.userId,
        form: incident.form,
        streamed: incident.streamed ? 1 : 0,
        leak_count: incident.leakCount,
        categories: toJsonText(incident.categories),
        in_links: incident.inLinks,
      };
      await db.insertInto('output_incidents').values(row).execute();
      return toIncident(row);
    },
    async findByRequest(requestId) {
      const rows = await db.selectFrom('output_incidents').selectAll().where('request_id', '=', requestId).orderBy('created_at').execute();
      return rows.map(toIncident);
    },
    async list(filter = {}) {
      let query = db.selectFrom('output_incidents').selectAll();
      if (filter.status !== undefined) query = query.where('status', '=', filter.status);
      const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit ?? 100).execute();
      return rows.map(toIncident);
    },
  };
}
