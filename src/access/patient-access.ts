// SPDX-License-Identifier: Apache-2.0
/**
 * Patient relationships: how a user stands to a patient at an instant (assigned on the care
 * team, same unit, unrelated, or another organisation's patient), and bulk import of care-team
 * assignments from CSV and from FHIR R4 CareTeam resources.
 *
 * Import messages name line numbers, entry indexes and field names, never values: a CSV of care
 * teams is a list of patients.
 */
import type { CareTeamRepo, RelationshipFacts } from '../store/repos/care-team-repo.js';
import type { Relationship } from './rbac.js';

/**
 * Classifies the facts. Another organisation dominates: a patient placed only in other
 * organisations' units is `other_organisation` even if a (mistaken) assignment exists, so that
 * relationship can never grant. Units count only when they belong to the user's organisation.
 */
export function classifyRelationship(facts: RelationshipFacts): Relationship {
  const patientOrgs = new Set(facts.patientUnits.map((unit) => unit.organisation));
  if (patientOrgs.size > 0 && !patientOrgs.has(facts.organisation)) return 'other_organisation';
  if (facts.assigned) return 'assigned';
  const userUnits = new Set(facts.userUnits.filter((unit) => unit.organisation === facts.organisation).map((unit) => unit.unitId));
  if (facts.patientUnits.some((unit) => unit.organisation === facts.organisation && userUnits.has(unit.unitId))) return 'same_unit';
  return 'unrelated';
}

export interface PatientRelationship {
  readonly relationship: Relationship;
  readonly breakGlassEligible: boolean;
}

/** Loads and classifies a user's relationship to a patient (`Patient/<id>`) at `at`. */
export async function loadRelationship(careTeams: CareTeamRepo, userId: string, patient: string, at: number): Promise<PatientRelationship> {
  const facts = await careTeams.relationshipFacts(userId, patient, at);
  return { relationship: classifyRelationship(facts), breakGlassEligible: facts.breakGlassEligible };
}

// ---- Normalisation ---------------------------------------------------------------------------

const patientIdPattern = /^[A-Za-z0-9.-]{1,64}$/;

/** `Patient/<id>` from `Patient/<id>`, a bare id, or an absolute reference; undefined if malformed. */
export function normalisePatientRef(value: string): string | undefined {
  const trimmed = value.trim();
  const match = /^(?:https?:\/\/\S{1,512}\/)?Patient\/([A-Za-z0-9.-]{1,64})$/.exec(trimmed);
  if (match) return `Patient/${match[1]}`;
  return patientIdPattern.test(trimmed) ? `Patient/${trimmed}` : undefined;
}

/** Epoch ms from an ISO 8601 date or date-time; dates are UTC midnight. */
export function parseInstant(value: string): number | undefined {
  const trimmed = value.trim();
  if (!/^\d{4}-\d{2}-\d{2}(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/.test(trimmed)) return undefined;
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(trimmed) ? `${trimmed}T00:00:00Z` : trimmed);
  return Number.isFinite(ms) ? ms : undefined;
}

// ---- Import ----------------------------------------------------------------------------------

export interface ImportRow {
  readonly userId: string;
  readonly patient: string;
  readonly teamRole: string;
  readonly startAt: number;
  readonly endAt: number | null;
}

export interface ImportProblem {
  /** 1-based CSV line, or FHIR `entry[i].participant[j]` path. */
  readonly at: string;
  readonly field: string;
  readonly problem: string;
}

export interface ImportPlan {
  readonly rows: readonly ImportRow[];
  readonly problems: readonly ImportProblem[];
  /** Participants skipped on purpose (inactive team, non-practitioner member). */
  readonly skipped: number;
}

/** Resolves a user named in an import: an id, a user name, or (FHIR) an NPI. */
export interface UserResolver {
  byIdOrName(value: string): Promise<string | undefined>;
  byNpi(npi: string): Promise<string | undefined>;
}

/** Splits RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

export const careTeamCsvHeader = ['user', 'patient', 'role', 'start', 'end'] as const;

/**
 * Plans a CSV import. Format (header required, columns in any order):
 * `user,patient,role,start,end` — user id or user name; `Patient/<id>` or bare id; the team role;
 * ISO 8601 start (empty = `now`); ISO 8601 end, exclusive (empty = open-ended).
 */
export async function planCsvImport(text: string, users: UserResolver, now: number): Promise<ImportPlan> {
  const lines = parseCsv(text.replace(/^\uFEFF/, ''));
  const problems: ImportProblem[] = [];
  const rows: ImportRow[] = [];
  const header = (lines[0] ?? []).map((h) => h.trim().toLowerCase());
  const col = Object.fromEntries(careTeamCsvHeader.map((name) => [name, header.indexOf(name)])) as Record<(typeof careTeamCsvHeader)[number], number>;
  for (const name of ['user', 'patient', 'role'] as const) {
    if (col[name] < 0) problems.push({ at: 'line 1', field: name, problem: 'missing column' });
  }
  if (problems.length > 0) return { rows, problems, skipped: 0 };
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i] ?? [];
    if (cells.every((cell) => cell.trim() === '')) continue;
    const at = `line ${i + 1}`;
    const problemsBefore = problems.length;
    const cell = (name: (typeof careTeamCsvHeader)[number]): string => (col[name] < 0 ? '' : (cells[col[name]] ?? '').trim());
    const userId = cell('user') === '' ? undefined : await users.byIdOrName(cell('user'));
    if (userId === undefined) problems.push({ at, field: 'user', problem: 'no such user' });
    const patient = normalisePatientRef(cell('patient'));
    if (patient === undefined) problems.push({ at, field: 'patient', problem: 'expected Patient/<id> or a FHIR id' });
    const teamRole = cell('role');
    if (!/^[A-Za-z0-9 _.-]{1,64}$/.test(teamRole)) problems.push({ at, field: 'role', problem: 'expected 1-64 letters, digits, space, "_", "." or "-"' });
    const startAt = cell('start') === '' ? now : parseInstant(cell('start'));
    if (startAt === undefined) problems.push({ at, field: 'start', problem: 'expected an ISO 8601 date or date-time' });
    const endAt = cell('end') === '' ? null : parseInstant(cell('end'));
    if (endAt === undefined) problems.push({ at, field: 'end', problem: 'expected an ISO 8601 date or date-time' });
    if (startAt !== undefined && typeof endAt === 'number' && endAt <= startAt) problems.push({ at, field: 'end', problem: 'end must be after start' });
    if (problems.length === problemsBefore && userId !== undefined && patient !== undefined && startAt !== undefined && endAt !== undefined) rows.push({ userId, patient, teamRole, startAt, endAt });
  }
  return { rows, problems, skipped: 0 };
}

const npiSystem = 'http://hl7.org/fhir/sid/us-npi';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const arr = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

function npiOf(identifiers: unknown): string | undefined {
  for (const id of arr(identifiers)) if (isObject(id) && id.system === npiSystem && typeof id.value === 'string') return id.value;
  return undefined;
}

/**
 * Plans an import from FHIR R4: a Bundle (any type) holding CareTeam entries, a single CareTeam,
 * or an array of resources. For each CareTeam that is not `inactive` or `entered-in-error`:
 * `subject` → the patient (`Patient/<id>`, or a `urn:uuid:` resolved to the bundled Patient's id);
 * each `participant.member` that is a Practitioner → the user whose access profile carries the
 * Practitioner's NPI (identifier system `http://hl7.org/fhir/sid/us-npi`), found by reference to a
 * bundled Practitioner, by a conditional reference `Practitioner?identifier=<npi-system>|<npi>`,
 * or by `member.identifier`; `participant.period` (else `CareTeam.period`) → start/end; the first
 * `participant.role` code (or text) → the team role.
 */
export async function planFhirImport(input: unknown, users: UserResolver, now: number): Promise<ImportPlan> {
  const problems: ImportProblem[] = [];
  const rows: ImportRow[] = [];
  let skipped = 0;
  const resources: { resource: Json; fullUrl?: string }[] = [];
  const collect = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(collect);
    else if (isObject(value) && value.resourceType === 'Bundle') {
      for (const entry of arr(value.entry)) {
        if (isObject(entry) && isObject(entry.resource)) {
          const fullUrl = str(entry.fullUrl);
          resources.push(fullUrl === undefined ? { resource: entry.resource } : { resource: entry.resource, fullUrl });
        }
      }
    } else if (isObject(value) && typeof value.resourceType === 'string') resources.push({ resource: value });
  };
  collect(input);
  if (resources.length === 0) return { rows, problems: [{ at: 'input', field: 'resourceType', problem: 'expected a Bundle, a CareTeam or an array of resources' }], skipped };

  const byRef = new Map<string, Json>();
  for (const { resource, fullUrl } of resources) {
    if (fullUrl !== undefined) byRef.set(fullUrl, resource);
    if (typeof resource.id === 'string') byRef.set(`${String(resource.resourceType)}/${resource.id}`, resource);
  }

  const patientOf = (subject: unknown): string | undefined => {
    const ref = isObject(subject) ? str(subject.reference) : undefined;
    if (ref === undefined) return undefined;
    const target = byRef.get(ref);
    if (target?.resourceType === 'Patient' && typeof target.id === 'string') return normalisePatientRef(target.id);
    if (ref.startsWith('urn:uuid:')) return target?.resourceType === 'Patient' ? normalisePatientRef(ref.slice(9)) : undefined;
    return /(^|\/)Patient\/[^/]+$/.test(ref) ? normalisePatientRef(ref.replace(/^.*?(Patient\/[^/]+)$/, '$1')) : undefined;
  };

  const npiOfMember = (member: unknown): string | 'not_practitioner' | undefined => {
    if (!isObject(member)) return undefined;
    const ref = str(member.reference);
    if (ref !== undefined) {
      const conditional = /^Practitioner\?identifier=(.+)\|(.+)$/.exec(ref);
      if (conditional) return conditional[1] === npiSystem ? decodeURIComponent(conditional[2] ?? '') : undefined;
      const target = byRef.get(ref);
      if (target !== undefined) return target.resourceType === 'Practitioner' ? npiOf(target.identifier) : 'not_practitioner';
      if (/^(Patient|RelatedPerson|Organization|CareTeam|PractitionerRole)\//.test(ref)) return 'not_practitioner';
    }
    if (isObject(member.identifier) && member.identifier.system === npiSystem) return str(member.identifier.value);
    return undefined;
  };

  const periodOf = (period: unknown): { start?: number | undefined; end?: number | undefined; bad: boolean } => {
    if (!isObject(period)) return { bad: false };
    const start = str(period.start) === undefined ? undefined : parseInstant(str(period.start) as string);
    const end = str(period.end) === undefined ? undefined : parseInstant(str(period.end) as string);
    return { start, end, bad: (period.start !== undefined && start === undefined) || (period.end !== undefined && end === undefined) };
  };

  for (const [index, { resource }] of resources.entries()) {
    if (resource.resourceType !== 'CareTeam') continue;
    const at = `entry[${index}]`;
    if (resource.status === 'inactive' || resource.status === 'entered-in-error') {
      skipped += arr(resource.participant).length;
      continue;
    }
    const patient = patientOf(resource.subject);
    if (patient === undefined) {
      problems.push({ at, field: 'subject', problem: 'not a resolvable Patient reference' });
      continue;
    }
    const teamPeriod = periodOf(resource.period);
    for (const [j, participant] of arr(resource.participant).entries()) {
      const where = `${at}.participant[${j}]`;
      if (!isObject(participant)) continue;
      const npi = npiOfMember(participant.member);
      if (npi === 'not_practitioner') {
        skipped++;
        continue;
      }
      if (npi === undefined) {
        problems.push({ at: where, field: 'member', problem: 'no Practitioner with an NPI identifier' });
        continue;
      }
      const userId = await users.byNpi(npi);
      if (userId === undefined) {
        problems.push({ at: where, field: 'member', problem: 'no user (or more than one) has this NPI in their access profile' });
        continue;
      }
      const own = periodOf(participant.period);
      if (own.bad || teamPeriod.bad) {
        problems.push({ at: where, field: 'period', problem: 'expected ISO 8601 start/end' });
        continue;
      }
      const startAt = own.start ?? teamPeriod.start ?? now;
      const endAt = own.end ?? teamPeriod.end ?? null;
      if (endAt !== null && endAt <= startAt) {
        problems.push({ at: where, field: 'period', problem: 'end must be after start' });
        continue;
      }
      const role = arr(participant.role)[0];
      const coding = isObject(role) ? arr(role.coding)[0] : undefined;
      const teamRole = (isObject(coding) ? str(coding.code) ?? str(coding.display) : undefined) ?? (isObject(role) ? str(role.text) : undefined) ?? 'member';
      rows.push({ userId, patient, teamRole: teamRole.replace(/[^A-Za-z0-9 _.-]/g, '_').slice(0, 64) || 'member', startAt, endAt });
    }
  }
  return { rows, problems, skipped };
}

/** Applies a plan only when it has no problems, all rows or none; returns the assignment ids. */
export async function applyImport(careTeams: Pick<CareTeamRepo, 'assignMany'>, plan: ImportPlan, source: string, createdBy: string): Promise<readonly string[]> {
  if (plan.problems.length > 0) return [];
  return careTeams.assignMany(plan.rows.map((row) => ({ userId: row.userId, patient: row.patient, teamRole: row.teamRole, startAt: row.startAt, endAt: row.endAt, source, createdBy })));
}

/** A {@link UserResolver} over the user repository and access profiles. */
export function createUserResolver(users: { findById(id: string): Promise<{ id: string } | undefined>; findByName(name: string): Promise<{ id: string } | undefined> }, careTeams: CareTeamRepo): UserResolver {
  return {
    async byIdOrName(value) {
      return (await users.findById(value))?.id ?? (await users.findByName(value))?.id;
    },
    byNpi: (npi) => careTeams.findUserByNpi(npi),
  };
}
