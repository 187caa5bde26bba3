// SPDX-License-Identifier: Apache-2.0
/**
 * The audit tools under `phigate audit`: export (FHIR NDJSON to a file or stdout, or to S3 with
 * Object Lock), search, accounting (of disclosures for one patient), breach (every patient a user
 * or vendor touched), retention (legal holds, purges) and scan (anomalies).
 *
 * Patient ids given on the command line are hashed with the store's key exactly as the gateway
 * hashes them, and never printed. Every action that exports, purges, holds or scans is itself
 * audited (actor `cli:<os user>`).
 */
import { createWriteStream } from 'node:fs';
import { userInfo } from 'node:os';
import { finished } from 'node:stream/promises';
import type { Command } from '@commander-js/extra-typings';
import { Option } from '@commander-js/extra-typings';
import { InvalidArgumentError } from 'commander';
import { anomalyAuditEvents, formatAnomalyReport, runAnomalyScan, storeAnomalyReport } from '../../audit/anomaly.js';
import { auditToolEventTypes } from '../../audit/catalogue.js';
import { writeFhirNdjson } from '../../audit/export/ndjson.js';
import { createS3ObjectLockClient, exportAuditToS3, exportObjectKey } from '../../audit/export/s3-object-lock.js';
import type { AuditEvent } from '../../audit/record.js';
import { activeLegalHolds, auditRetentionCutoff, createInferenceContentLog, placeLegalHold, purgeExpiredAuditRecords, releaseLegalHold, type LegalHoldScope } from '../../audit/retention.js';
import { accountingOfDisclosures, breachQuery, patientHashOf, searchAudit } from '../../audit/search.js';
import { createSqlAuditSink } from '../../audit/sql-sink.js';
import { loadConfig } from '../../config/load.js';
import type { PhigateConfig } from '../../config/schema.js';
import { createKms } from '../../crypto/kms/index.js';
import type { Kms } from '../../crypto/kms.js';
import { uuidv7 } from '../../kernel/ids.js';
import { resolveHome } from '../../kernel/home.js';
import { openStore, type OpenedStore } from '../../store/store.js';
import { homeOption } from '../options.js';

/** Accepts an ISO 8601 date or time, or epoch milliseconds. */
function parseTime(value: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new InvalidArgumentError('expected an ISO 8601 date/time or epoch milliseconds');
  return ms;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

interface Opened {
  readonly store: OpenedStore;
  readonly config: PhigateConfig;
  readonly kms: Kms;
  readonly keyedHash: (value: string, purpose: string) => string;
  readonly audit: (event: Omit<AuditEvent, 'id' | 'recordedAt' | 'stage' | 'status' | 'instance' | 'requestId' | 'actor'>) => Promise<void>;
}

async function withStore<T>(homeOpt: string | undefined, run: (opened: Opened) => Promise<T>): Promise<T> {
  const home = resolveHome(homeOpt);
  const config = loadConfig({ home });
  const kms = await createKms(config.kms, { baseDir: home });
  const store = await openStore({ url: config.store.url, baseDir: home, kms });
  const sink = createSqlAuditSink(store.db);
  const requestId = `cli-${uuidv7()}`;
  const actor = { userId: `cli:${userInfo().username}`, kind: 'user' as const, roles: ['operator'], authMethod: 'cli' };
  try {
    return await run({
      store,
      config,
      kms,
      keyedHash: (value, purpose) => store.fieldCrypto.blindIndex(value, purpose),
      audit: async (event) => {
        const now = Date.now();
        await sink.appendBatch([{ ...event, id: uuidv7(now), recordedAt: new Date(now).toISOString(), stage: 'completed', status: 200, instance: `cli:${process.pid}`, requestId, actor }]);
      },
    });
  } finally {
    await store.close();
  }
}

function endpointsOfVendor(config: PhigateConfig, vendor: string): string[] {
  return config.endpoints.filter((e) => e.vendor === vendor || e.id === vendor).map((e) => e.id);
}

function print(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : text());
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Adds export, search, accounting, breach, retention and scan to the `audit` command. */
export function registerAuditToolCommands(program: Command): void {
  const audit = (program.commands.find((c) => c.name() === 'audit') as Command | undefined) ?? program.command('audit').description('The audit log and its tools');

  audit
    .command('export')
    .description('Export the audit log as FHIR R4 AuditEvent NDJSON (IHE BALP) to a file, stdout, or S3 with Object Lock')
    .addOption(homeOption())
    .addOption(new Option('--format <format>', 'export format').choices(['fhir'] as const).default('fhir' as const))
    .option('--output <file>', 'file to write, or - for stdout', '-')
    .addOption(new Option('--since <time>', 'first record time (ISO 8601 or epoch ms)').argParser(parseTime))
    .addOption(new Option('--until <time>', 'end of the window, exclusive').argParser(parseTime))
    .option('--s3-endpoint <url>', 'write to this S3 endpoint instead (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)')
    .option('--s3-bucket <bucket>', 'S3 bucket with Object Lock enabled')
    .option('--s3-region <region>', 'S3 region', 'us-east-1')
    .option('--s3-prefix <prefix>', 'object key prefix', 'phigate/audit')
    .addOption(new Option('--retain-years <n>', 'Object Lock retention in years (default: audit.retentionYears)').argParser(positiveInt))
    .action(async (options) => {
      await withStore(options.home, async ({ store, config, audit: record }) => {
        const window = { since: options.since, until: options.until };
        if (options.s3Endpoint !== undefined) {
          if (options.s3Bucket === undefined) throw new Error('--s3-bucket is required with --s3-endpoint');
          const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
          const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
          if (!accessKeyId || !secretAccessKey) throw new Error('set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the S3 export');
          const now = Date.now();
          const retainUntil = new Date(now);
          retainUntil.setUTCFullYear(retainUntil.getUTCFullYear() + (options.retainYears ?? config.audit.retentionYears));
          const client = createS3ObjectLockClient({ endpoint: options.s3Endpoint, bucket: options.s3Bucket, region: options.s3Region, credentials: { accessKeyId, secretAccessKey, sessionToken: process.env.AWS_SESSION_TOKEN } });
          const result = await exportAuditToS3(store.db, client, { key: exportObjectKey(options.s3Prefix, now, window), retainUntil, window });
          await record({ type: auditToolEventTypes.export, outcome: 'success', detail: { target: 's3', records: result.records, key: result.key, sha256: result.sha256 } });
          process.stderr.write(`exported ${result.records} records to s3://${options.s3Bucket}/${result.key} (COMPLIANCE until ${retainUntil.toISOString()})\n`);
          return;
        }
        const toStdout = options.output === '-';
        const out = toStdout ? process.stdout : createWriteStream(options.output, { mode: 0o600 });
        const { records } = await writeFhirNdjson(store.db, out, window);
        if (!toStdout) {
          out.end();
          await finished(out);
        }
        await record({ type: auditToolEventTypes.export, outcome: 'success', detail: { target: toStdout ? 'stdout' : 'file', records, format: options.format } });
        process.stderr.write(`exported ${records} AuditEvent resources\n`);
      });
    });

  audit
    .command('search')
    .description('Search audit records by user, patient, vendor or endpoint, event type and time')
    .addOption(homeOption())
    .option('--user <id>', 'user or service-account id')
    .option('--patient <id>', 'patient id (hashed before the query; never printed)')
    .option('--vendor <name>', "a vendor's endpoints (or one endpoint id)")
    .option('--type <type>', 'event type, e.g. chat.completion')
    .option('--request <id>', 'request id')
    .addOption(new Option('--since <time>', 'from (ISO 8601 or epoch ms)').argParser(parseTime))
    .addOption(new Option('--until <time>', 'until, exclusive').argParser(parseTime))
    .addOption(new Option('--limit <n>', 'at most this many records').argParser(positiveInt).default(100))
    .option('--json', 'one JSON record per line')
    .action(async (options) => {
      await withStore(options.home, async ({ store, config, keyedHash }) => {
        const records = await searchAudit(store.db, {
          userId: options.user,
          patientHash: options.patient === undefined ? undefined : patientHashOf(keyedHash, options.patient),
          endpointIds: options.vendor === undefined ? undefined : endpointsOfVendor(config, options.vendor),
          eventType: options.type,
          requestId: options.request,
          since: options.since,
          until: options.until,
          limit: options.limit,
        });
        for (const r of records) {
          const e = r.event;
          process.stdout.write(
            options.json
              ? `${JSON.stringify({ seq: r.seq, hash: r.hash, ...e })}\n`
              : `${r.seq}\t${e.recordedAt}\t${e.type}\t${e.stage}/${e.outcome}\t${e.actor?.userId ?? '-'}\t${e.endpointId ?? '-'}\t${e.requestId}${e.errorCode ? `\t${e.errorCode}` : ''}\n`,
          );
        }
      });
    });

  audit
    .command('accounting')
    .description("Accounting of disclosures for one patient (45 CFR 164.528): which vendors received the patient's PHI, when and why")
    .addOption(homeOption())
    .requiredOption('--patient <id>', 'patient id (hashed before the query; never printed)')
    .addOption(new Option('--since <time>', 'from (default: six years ago)').argParser(parseTime))
    .addOption(new Option('--until <time>', 'until, exclusive').argParser(parseTime))
    .option('--json', 'print JSON')
    .action(async (options) => {
      await withStore(options.home, async ({ store, config, keyedHash }) => {
        const vendorOf = (id: string) => config.endpoints.find((e) => e.id === id)?.vendor;
        const since = options.since ?? auditRetentionCutoff(Date.now(), 6);
        const rows = await accountingOfDisclosures(store.db, patientHashOf(keyedHash, options.patient), { since, until: options.until, vendorOf });
        print(options.json === true, { since: iso(since), disclosures: rows }, () =>
          [
            `accounting of disclosures since ${iso(since)}: ${rows.length}`,
            ...rows.map(
              (d) =>
                `  ${d.at}  ${d.vendor ?? '(vendor unknown)'} via ${d.endpointId} (${d.model ?? '-'})  purpose ${d.purpose ?? '-'}  use case ${d.useCase ?? '-'}  form ${d.form ?? '-'}  by ${d.userId ?? '-'}${d.onBehalfOf ? ` for ${d.onBehalfOf}` : ''}${d.breakGlass ? '  BREAK-GLASS' : ''}  ${d.outcome}`,
            ),
          ].join('\n') + '\n',
        );
      });
    });

  audit
    .command('breach')
    .description('Every patient whose PHI a user or a vendor touched in a time window (patients by keyed hash)')
    .addOption(homeOption())
    .option('--user <id>', 'the user')
    .option('--vendor <name>', "the vendor (its endpoints) or one endpoint id")
    .addOption(new Option('--since <time>', 'from').argParser(parseTime).makeOptionMandatory())
    .addOption(new Option('--until <time>', 'until, exclusive (default: now)').argParser(parseTime))
    .option('--json', 'print JSON')
    .action(async (options) => {
      if ((options.user === undefined) === (options.vendor === undefined)) throw new Error('give exactly one of --user or --vendor');
      await withStore(options.home, async ({ store, config }) => {
        const subject = options.user !== undefined ? { userId: options.user } : { endpointIds: endpointsOfVendor(config, options.vendor as string) };
        const window = { since: options.since, until: options.until ?? Date.now() };
        const started = process.hrtime.bigint();
        const patients = await breachQuery(store.db, subject, window);
        const ms = Math.round(Number(process.hrtime.bigint() - started) / 1e6);
        print(options.json === true, { window: { since: iso(window.since), until: iso(window.until) }, patients, elapsedMs: ms }, () =>
          [`affected patients: ${patients.length} (${iso(window.since)} .. ${iso(window.until)}, ${ms} ms)`, ...patients.map((p) => `  ${p.patientHash}\t${p.records} records\t${iso(p.firstAt)} .. ${iso(p.lastAt)}`)].join('\n') + '\n',
        );
      });
    });

  audit
    .command('retention')
    .description('Legal holds and purges: audit records past retention (never younger), inference content by destroying day keys')
    .addOption(homeOption())
    .option('--purge-content', 'destroy the keys of inference content past audit.contentRetentionDays (skips held days)')
    .option('--purge-audit', 'purge the oldest audit records past audit.retentionYears (refuses anything younger, and under a hold)')
    .addOption(new Option('--hold <scope>', 'place a legal hold').choices(['all', 'patient', 'user'] as const))
    .option('--subject <id>', 'the patient id (hashed) or user id the hold covers')
    .option('--reason <text>', 'case or matter reference for the hold (no PHI)')
    .option('--release <holdId>', 'release a legal hold')
    .action(async (options) => {
      await withStore(options.home, async ({ store, config, kms, keyedHash, audit: record }) => {
        const now = Date.now();
        const by = `cli:${userInfo().username}`;
        if (options.hold !== undefined) {
          if (options.reason === undefined) throw new Error('--reason is required with --hold');
          const scope: LegalHoldScope = options.hold;
          const subject = options.subject === undefined ? undefined : scope === 'patient' ? patientHashOf(keyedHash, options.subject) : options.subject;
          const hold = await placeLegalHold(store.db, { scope, ...(subject === undefined ? {} : { subject }), reason: options.reason, by, now });
          await record({ type: auditToolEventTypes.legalHoldCreate, outcome: 'success', detail: { holdId: hold.id, scope } });
          process.stdout.write(`legal hold ${hold.id} placed (${scope})\n`);
        }
        if (options.release !== undefined) {
          const released = await releaseLegalHold(store.db, options.release, by, now);
          await record({ type: auditToolEventTypes.legalHoldRelease, outcome: released ? 'success' : 'failure', detail: { holdId: options.release } });
          process.stdout.write(released ? `legal hold ${options.release} released\n` : `no active legal hold ${options.release}\n`);
        }
        if (options.purgeContent) {
          const log = createInferenceContentLog({ db: store.db, kms, now: () => now, retentionDays: config.audit.contentRetentionDays });
          const result = await log.purge();
          await record({ type: auditToolEventTypes.contentPurge, outcome: 'success', detail: { days: result.daysDestroyed.length, rows: result.rowsDeleted, held: result.daysHeld.length } });
          process.stdout.write(`inference content: ${result.daysDestroyed.length} day keys destroyed, ${result.rowsDeleted} rows deleted, ${result.daysHeld.length} days held\n`);
        }
        if (options.purgeAudit) {
          const plan = await purgeExpiredAuditRecords(store.db, { now, retentionYears: config.audit.retentionYears });
          await record({ type: auditToolEventTypes.retentionPurge, outcome: 'success', detail: { records: plan.records, throughSeq: plan.throughSeq, stoppedBy: plan.stoppedBy } });
          process.stdout.write(`audit records purged: ${plan.records} (through seq ${plan.throughSeq}; stopped by ${plan.stoppedBy})\n`);
        }
        const holds = await activeLegalHolds(store.db);
        process.stdout.write(
          `retention: audit ${config.audit.retentionYears} years (records before ${iso(auditRetentionCutoff(now, config.audit.retentionYears))} may be purged), inference content ${config.audit.contentRetentionDays} days; active legal holds: ${holds.length}\n`,
        );
        for (const h of holds) process.stdout.write(`  ${h.id}\t${h.scope}\t${h.reason}\tby ${h.createdBy} at ${iso(h.createdAt)}\n`);
      });
    });

  audit
    .command('scan')
    .description('Scan for anomalies (volume spikes, after-hours access, outside the care team, break-glass frequency, denial bursts, many patients); stores the report and writes alert events')
    .addOption(homeOption())
    .addOption(new Option('--since <time>', 'from (default: audit.anomalyScanIntervalDays ago, else 30 days)').argParser(parseTime))
    .addOption(new Option('--until <time>', 'until, exclusive (default: now)').argParser(parseTime))
    .option('--json', 'print the report as JSON')
    .action(async (options) => {
      await withStore(options.home, async ({ store, config }) => {
        const now = Date.now();
        const until = options.until ?? now;
        const since = options.since ?? until - (config.audit.anomalyScanIntervalDays || 30) * 86_400_000;
        const report = await runAnomalyScan(store.db, { since, until, now });
        await storeAnomalyReport(store.db, report);
        await createSqlAuditSink(store.db).appendBatch(anomalyAuditEvents(report, { instance: `cli:${process.pid}`, now, requestId: `scan-${report.id}` }));
        print(options.json === true, report, () => formatAnomalyReport(report));
      });
    });
}
