// SPDX-License-Identifier: Apache-2.0
/**
 * Anomaly scans over the audit log (164.308(a)(1)(ii)(D) information system activity review):
 * on a schedule (monthly by default) and on demand (`phigate audit scan`). Each scan looks at one
 * window and reports, per user:
 *
 * - `volume_spike`: many more requests than in the equally long window before;
 * - `after_hours`: patient requests outside business hours or at weekends;
 * - `outside_care_team`: patient access granted on a basis other than a care-team assignment
 *   (unit membership or role) — legitimate at times, worth a look in bulk;
 * - `break_glass_frequency`: many break-glass sessions;
 * - `denial_burst`: many refusals in a short time (probing);
 * - `many_patients`: many distinct patients in a short time (browsing, scraping).
 *
 * Results are a report (JSON and text; users by id, patients by hash, counts — no PHI), stored
 * in `audit_anomaly_reports`, and one `alert` audit event per finding. Delivering alerts
 * (webhook, e-mail, syslog) belongs to the alert channels, which read those events.
 */
import type { Kysely } from 'kysely';
import { uuidv7 } from '../kernel/ids.js';
import type { Database } from '../store/schema.js';
import { auditToolEventTypes } from './catalogue.js';
import type { AuditEvent } from './record.js';

export const anomalyKinds = ['volume_spike', 'after_hours', 'outside_care_team', 'break_glass_frequency', 'denial_burst', 'many_patients'] as const;
export type AnomalyKind = (typeof anomalyKinds)[number];

export interface AnomalyThresholds {
  /** A spike is at least this many times the previous window's volume… */
  readonly volumeSpikeFactor: number;
  /** …and at least this many requests. */
  readonly volumeMinRequests: number;
  /** Business hours [start, end) in the hospital's local time, given as a fixed UTC offset in minutes. */
  readonly businessHours: { readonly startHour: number; readonly endHour: number; readonly utcOffsetMinutes: number; readonly weekdaysOnly: boolean };
  readonly afterHoursMin: number;
  readonly outsideCareTeamMin: number;
  readonly breakGlassMax: number;
  readonly denialBurst: { readonly count: number; readonly windowMs: number };
  readonly manyPatients: { readonly count: number; readonly windowMs: number };
}

export const defaultAnomalyThresholds: AnomalyThresholds = {
  volumeSpikeFactor: 3,
  volumeMinRequests: 50,
  businessHours: { startHour: 7, endHour: 19, utcOffsetMinutes: 0, weekdaysOnly: true },
  afterHoursMin: 5,
  outsideCareTeamMin: 10,
  breakGlassMax: 3,
  denialBurst: { count: 10, windowMs: 10 * 60_000 },
  manyPatients: { count: 30, windowMs: 60 * 60_000 },
};

export interface AnomalyFinding {
  readonly kind: AnomalyKind;
  readonly userId: string;
  readonly count: number;
  /** When the pattern was seen (the burst's window for bursts, the scan window otherwise). */
  readonly from: string;
  readonly to: string;
  /** PHI-free context: baseline, threshold, sample request ids. */
  readonly detail: Readonly<Record<string, string | number>>;
}

export interface AnomalyReport {
  readonly id: string;
  readonly createdAt: string;
  readonly window: { readonly since: string; readonly until: string };
  readonly recordsScanned: number;
  readonly findings: readonly AnomalyFinding[];
}

interface Row {
  readonly at: number;
  readonly userId: string;
  readonly patientHash: string | null;
  readonly event: AuditEvent;
}

type Db = Kysely<Database>;

/** Closing and refusal records (one per request) in [since, until), users only. */
async function loadRows(db: Db, since: number, until: number): Promise<Row[]> {
  const rows = await db
    .selectFrom('audit_events')
    .select(['recorded_at', 'actor_id', 'patient_hash', 'body'])
    .where('recorded_at', '>=', since)
    .where('recorded_at', '<', until)
    .where('actor_id', 'is not', null)
    .where('stage', '!=', 'disclosure')
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({ at: Number(r.recorded_at), userId: r.actor_id as string, patientHash: r.patient_hash, event: JSON.parse(r.body) as AuditEvent }));
}

function byUser(rows: readonly Row[]): Map<string, Row[]> {
  const map = new Map<string, Row[]>();
  for (const row of rows) {
    const list = map.get(row.userId) ?? [];
    list.push(row);
    map.set(row.userId, list);
  }
  for (const list of map.values()) list.sort((a, b) => a.at - b.at);
  return map;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Whether `at` falls outside business hours in the configured local time. */
export function isAfterHours(at: number, hours: AnomalyThresholds['businessHours']): boolean {
  const local = new Date(at + hours.utcOffsetMinutes * 60_000);
  const day = local.getUTCDay();
  if (hours.weekdaysOnly && (day === 0 || day === 6)) return true;
  const hour = local.getUTCHours();
  return hour < hours.startHour || hour >= hours.endHour;
}

/** The densest run of `rows` within `windowMs`: max count of items (distinct by `key` when given). */
function densest(rows: readonly Row[], windowMs: number, key?: (row: Row) => string | null): { count: number; from: number; to: number } {
  let best = { count: 0, from: 0, to: 0 };
  const counts = new Map<string, number>();
  let distinct = 0;
  let left = 0;
  for (let right = 0; right < rows.length; right++) {
    const r = rows[right] as Row;
    const k = key ? key(r) : String(right);
    if (k !== null) {
      const n = counts.get(k) ?? 0;
      if (n === 0) distinct += 1;
      counts.set(k, n + 1);
    }
    while ((rows[left] as Row).at <= r.at - windowMs) {
      const l = rows[left] as Row;
      const lk = key ? key(l) : String(left);
      if (lk !== null) {
        const n = (counts.get(lk) ?? 1) - 1;
        if (n === 0) {
          counts.delete(lk);
          distinct -= 1;
        } else counts.set(lk, n);
      }
      left += 1;
    }
    if (distinct > best.count) best = { count: distinct, from: (rows[left] as Row).at, to: r.at };
  }
  return best;
}

/** Scans [since, until) and returns the report (not yet stored). */
export async function runAnomalyScan(
  db: Db,
  options: { readonly since: number; readonly until: number; readonly now: number; readonly thresholds?: Partial<AnomalyThresholds> },
): Promise<AnomalyReport> {
  const t: AnomalyThresholds = { ...defaultAnomalyThresholds, ...options.thresholds };
  const { since, until } = options;
  const rows = await loadRows(db, since, until);
  const baseline = byUser(await loadRows(db, since - (until - since), since));
  const findings: AnomalyFinding[] = [];
  const whole = { from: iso(since), to: iso(until) };

  for (const [userId, list] of byUser(rows)) {
    const before = baseline.get(userId)?.length ?? 0;
    if (list.length >= t.volumeMinRequests && list.length >= t.volumeSpikeFactor * Math.max(before, 1)) {
      findings.push({ kind: 'volume_spike', userId, count: list.length, ...whole, detail: { baseline: before, factor: t.volumeSpikeFactor } });
    }
    const withPatient = list.filter((r) => r.patientHash !== null);
    const afterHours = withPatient.filter((r) => isAfterHours(r.at, t.businessHours));
    if (afterHours.length >= t.afterHoursMin) {
      findings.push({ kind: 'after_hours', userId, count: afterHours.length, ...whole, detail: { threshold: t.afterHoursMin, firstRequest: afterHours[0]?.event.requestId ?? '' } });
    }
    const outside = withPatient.filter((r) => r.event.outcome === 'success' && (r.event.accessBasis === 'unit' || r.event.accessBasis === 'role'));
    if (outside.length >= t.outsideCareTeamMin) {
      findings.push({ kind: 'outside_care_team', userId, count: outside.length, ...whole, detail: { threshold: t.outsideCareTeamMin, patients: new Set(outside.map((r) => r.patientHash)).size } });
    }
    const sessions = new Set(list.filter((r) => r.event.breakGlass === true).map((r) => r.event.breakGlassSessionId ?? r.event.requestId));
    if (sessions.size >= t.breakGlassMax) {
      findings.push({ kind: 'break_glass_frequency', userId, count: sessions.size, ...whole, detail: { threshold: t.breakGlassMax } });
    }
    const denials = densest(
      list.filter((r) => r.event.outcome === 'denied'),
      t.denialBurst.windowMs,
    );
    if (denials.count >= t.denialBurst.count) {
      findings.push({ kind: 'denial_burst', userId, count: denials.count, from: iso(denials.from), to: iso(denials.to), detail: { threshold: t.denialBurst.count, windowMs: t.denialBurst.windowMs } });
    }
    const patients = densest(withPatient, t.manyPatients.windowMs, (r) => r.patientHash);
    if (patients.count >= t.manyPatients.count) {
      findings.push({ kind: 'many_patients', userId, count: patients.count, from: iso(patients.from), to: iso(patients.to), detail: { threshold: t.manyPatients.count, windowMs: t.manyPatients.windowMs } });
    }
  }
  findings.sort((a, b) => anomalyKinds.indexOf(a.kind) - anomalyKinds.indexOf(b.kind) || a.userId.localeCompare(b.userId));
  return { id: uuidv7(options.now), createdAt: iso(options.now), window: { since: iso(since), until: iso(until) }, recordsScanned: rows.length, findings };
}

/** The report as text for a terminal or an e-mail body. */
export function formatAnomalyReport(report: AnomalyReport): string {
  const lines = [`anomaly scan ${report.id}`, `  window: ${report.window.since} .. ${report.window.until}`, `  records scanned: ${report.recordsScanned}`, `  findings: ${report.findings.length}`];
  for (const f of report.findings) {
    const detail = Object.entries(f.detail)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    lines.push(`  - ${f.kind}: user ${f.userId}, ${f.count} (${f.from} .. ${f.to}) ${detail}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Stores the report. */
export async function storeAnomalyReport(db: Db, report: AnomalyReport): Promise<void> {
  await db
    .insertInto('audit_anomaly_reports')
    .values({ id: report.id, created_at: Date.parse(report.createdAt), window_start: Date.parse(report.window.since), window_end: Date.parse(report.window.until), findings: report.findings.length, report: JSON.stringify(report) })
    .execute();
}

/** One `alert` audit event per finding, plus the `anomaly.report` event for the scan itself. */
export function anomalyAuditEvents(report: AnomalyReport, options: { readonly instance: string; readonly now: number; readonly requestId: string }): AuditEvent[] {
  const base = { stage: 'completed' as const, status: 200, requestId: options.requestId, instance: options.instance, recordedAt: new Date(options.now).toISOString() };
  return [
    { ...base, id: uuidv7(options.now), type: auditToolEventTypes.anomalyReport, outcome: 'success', detail: { reportId: report.id, findings: report.findings.length, recordsScanned: report.recordsScanned } },
    ...report.findings.map(
      (f): AuditEvent => ({
        ...base,
        id: uuidv7(options.now),
        type: auditToolEventTypes.alert,
        outcome: 'success',
        detail: { kind: f.kind, userId: f.userId, count: f.count, from: f.from, to: f.to, reportId: report.id },
      }),
    ),
  ];
}

/** Runs `scan` every `intervalMs` (unref'd, so it never holds the process open); `stop()` ends it. */
export function scheduleAnomalyScans(intervalMs: number, scan: () => Promise<void>, onError: (err: unknown) => void): { stop(): void } {
  if (intervalMs <= 0) return { stop: () => undefined };
  // Node timers overflow past ~24.8 days (2^31 ms) and would fire at once, so a monthly
  // schedule is kept by an hourly tick that runs the scan when it is due.
  const tickMs = Math.min(intervalMs, 3_600_000);
  let last = Date.now();
  const timer = setInterval(() => {
    if (Date.now() - last < intervalMs) return;
    last = Date.now();
    void scan().catch(onError);
  }, tickMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
