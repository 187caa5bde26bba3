// SPDX-License-Identifier: Apache-2.0
/**
 * `phigate vendors …`: the vendor BAA registry, from the state folder (no running gateway needed).
 * The operator at this terminal acts as `cli:<os user>` with the admin role (they hold the state
 * folder and its key); every call, refusals included, goes to the same audit chain as the
 * gateway's, and every change bumps the registry revision, so running gateways pick it up on their
 * next request.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { InvalidArgumentError } from 'commander';
import { parse as parseYaml } from 'yaml';
import { createAccessPolicy, type RoleOverrides } from '../../access/rbac.js';
import type { AdminActor } from '../../auth/admin.js';
import { systemClock } from '../../kernel/clock.js';
import { uuidv7 } from '../../kernel/ids.js';
import { runBaaExpiryCheck, type BaaExpiryResult } from '../../registry/baa-expiry.js';
import { baaStatuses } from '../../registry/vendor-spec.js';
import {
  createVendorService,
  terminationReasons,
  vendorEventTypes,
  type ExpiringBaa,
  type VendorCoverageView,
  type VendorEventType,
  type VendorRequest,
  type VendorService,
} from '../../registry/vendors.js';
import { createVendorRepo, type VendorRecord, type VendorRepo } from '../../store/repos/vendor-repo.js';
import { homeOption } from '../options.js';
import { cliError, cliOperatorActor, printResult, withCliState } from '../state.js';

export interface VendorCli {
  readonly vendors: VendorService;
  readonly repo: VendorRepo;
  /** The operator at this terminal, with the admin role. */
  readonly operator: VendorRequest;
  /** Runs the BAA expiry check once, now. */
  checkExpiry(): Promise<BaaExpiryResult>;
}

/**
 * Opens the state folder's store and audit chain, seeds missing catalogue entries, runs `action`
 * and closes everything. A refusal is audited under `event` and rethrown as a plain message.
 */
export async function withVendorCli<T>(home: string | undefined, event: VendorEventType, action: (cli: VendorCli) => Promise<T>, vendorId?: string, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  return withCliState(home, env, async ({ config, store, audit, instanceId }) => {
    const repo = createVendorRepo(store.db);
    const vendors = createVendorService({
      repo,
      audit,
      clock: systemClock,
      instanceId,
      policy: createAccessPolicy(config.access.roles as RoleOverrides),
      endpoints: config.endpoints,
    });
    const actor: AdminActor = cliOperatorActor();
    const operator: VendorRequest = { actor, requestId: uuidv7() };
    try {
      await vendors.ensureCatalogue(operator);
      return await action({ vendors, repo, operator, checkExpiry: () => runBaaExpiryCheck({ repo, audit, clock: systemClock, instanceId }) });
    } catch (err) {
      await vendors.recordRefusal(operator, event, err, vendorId);
      throw cliError(err, '; ');
    }
  });
}

/** Left-aligned columns with a header row; `-` for empty cells. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = [header, ...rows].map((row) => row.map((cell) => (cell === '' ? '-' : cell)));
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i]?.length ?? 0)));
  return cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}

const print = (json: boolean | undefined, value: unknown, text: string): void => printResult(json, value, text, true);

const list = (value: string): string[] =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

const collect = (value: string, previous: string[] = []): string[] => [...previous, ...list(value)];

function parseVersion(value: string): number {
  const version = Number(value);
  if (!Number.isInteger(version) || version < 1) throw new InvalidArgumentError('expected the positive version number shown by "vendors show"');
  return version;
}

function parseDays(value: string): number {
  const days = Number(value);
  if (!Number.isInteger(days) || days < 0 || days > 3660) throw new InvalidArgumentError('expected a whole number of days from 0 to 3660');
  return days;
}

/** Reads a JSON or YAML file (by extension; JSON when unsure). */
async function readStructured(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  const ext = extname(file).toLowerCase();
  try {
    return ext === '.yaml' || ext === '.yml' ? (parseYaml(text) as unknown) : (JSON.parse(text) as unknown);
  } catch {
    throw new Error(`${file} is not valid ${ext === '.yaml' || ext === '.yml' ? 'YAML' : 'JSON'}`);
  }
}

async function sha256OfFile(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

const baaSummary = (r: VendorRecord): string[] => [
  r.vendor.id,
  r.vendor.legalName,
  r.vendor.baa.status,
  r.vendor.baa.expiryDate ?? '',
  r.vendor.baa.coveredServices.join(','),
  r.vendor.services.map((s) => s.id).join(','),
  r.vendor.catalogue ? 'catalogue' : 'custom',
  String(r.version),
];

function printRecord(json: boolean | undefined, record: VendorRecord, verb: string): void {
  print(json, { ...record.vendor, version: record.version, updatedAt: record.updatedAt }, `${verb} ${record.vendor.id}: BAA ${record.vendor.baa.status}${record.vendor.baa.expiryDate ? ` until ${record.vendor.baa.expiryDate}` : ''}, covers ${record.vendor.baa.coveredServices.join(', ') || 'nothing'} (version ${record.version})`);
}

/** The text form of `vendors show`. */
export function formatCoverageView(view: VendorCoverageView): string {
  const { vendor } = view;
  const baa = vendor.baa;
  const lines = [
    `${vendor.id}  ${vendor.legalName}  (${vendor.catalogue ? 'catalogue' : 'custom'}, version ${view.version})`,
    `BAA: ${baa.status}` +
      (baa.effectiveDate ? `  effective ${baa.effectiveDate}` : '') +
      (baa.expiryDate ? `  expires ${baa.expiryDate}` : baa.status === 'signed' ? '  no expiry' : '') +
      (baa.documentSha256 ? `  document sha256 ${baa.documentSha256}` : ''),
    `     zero retention: ${baa.zeroDataRetention ? 'yes' : 'no'}  no training: ${baa.noTrainingOnCustomerData ? 'yes' : 'no'}  residency: ${baa.dataResidency.join(', ') || 'not restricted'}` +
      (baa.recordedBy ? `  recorded by ${baa.recordedBy} at ${baa.recordedAt ?? '?'}` : ''),
    '',
    formatTable(
      ['SERVICE', 'CATEGORY', 'ELIGIBILITY', 'COVERAGE', 'DAYS LEFT', 'ENDPOINTS'],
      view.services.map((s) => [
        s.serviceId,
        s.category,
        s.eligibility,
        s.coverage.reason,
        s.coverage.daysToExpiry === undefined ? '' : String(s.coverage.daysToExpiry),
        s.endpoints.map((e) => `${e.id}${e.region ? `@${e.region}` : ''}${e.clearance.cleared ? '' : ` (${e.clearance.reason})`}`).join(' '),
      ]),
    ),
  ];
  if (vendor.subprocessors.length > 0) {
    lines.push('', formatTable(['SUBPROCESSOR', 'BAA', 'EXPIRES', 'SERVICES'], vendor.subprocessors.map((s) => [s.name, s.baa.status, s.baa.expiryDate ?? '', s.services.join(',') || 'all'])));
  }
  if (view.unmatchedEndpoints.length > 0) {
    lines.push('', `endpoints naming this vendor without one of its services (never covered): ${view.unmatchedEndpoints.map((e) => `${e.id}${e.service ? ` (service ${e.service})` : ''}`).join(', ')}`);
  }
  const notes = vendor.services.filter((s) => s.notes);
  if (notes.length > 0) lines.push('', ...notes.map((s) => `${s.id}: ${s.notes ?? ''}`));
  return lines.join('\n');
}

const expiringTable = (items: readonly ExpiringBaa[]): string =>
  items.length === 0
    ? '(none)'
    : formatTable(['VENDOR', 'BAA OF', 'EXPIRES', 'DAYS LEFT'], items.map((e) => [e.vendorId, e.kind === 'vendor' ? 'vendor' : `subprocessor ${e.subprocessor ?? ''}`, e.expiryDate, String(e.daysToExpiry)]));

/** `--sub NAME:STATUS[:EXPIRY[:SERVICE,SERVICE]]` → a subprocessor record. */
function parseSubprocessor(value: string): Record<string, unknown> {
  const [name, status, expiry, services] = value.split(':').map((s) => s.trim());
  if (!name || !status || !(baaStatuses as readonly string[]).includes(status)) {
    throw new InvalidArgumentError(`expected NAME:STATUS[:EXPIRY[:SERVICE,SERVICE]] with STATUS one of ${baaStatuses.join(', ')}`);
  }
  return { name, services: services ? list(services) : [], baa: { status, ...(expiry ? { expiryDate: expiry } : {}) } };
}

const collectSub = (value: string, previous: Record<string, unknown>[] = []): Record<string, unknown>[] => [...previous, parseSubprocessor(value)];

/** `--service ID:CATEGORY:ELIGIBILITY[:NAME]` → a service record. */
function parseService(value: string): Record<string, unknown> {
  const [id, category, eligibility, ...name] = value.split(':');
  if (!id || !category || !eligibility) throw new InvalidArgumentError('expected ID:CATEGORY:ELIGIBILITY[:NAME], e.g. ambient:transcription:baa_available:Ambient scribe');
  return { id, category, eligibility, name: name.join(':') || id };
}

const collectService = (value: string, previous: Record<string, unknown>[] = []): Record<string, unknown>[] => [...previous, parseService(value)];

export function registerVendorsCommand(program: Command): void {
  const vendors = program
    .command('vendors')
    .description('the vendor BAA registry: which vendors and services may receive PHI, under which signed BAA (every call is audited)')
    .addHelpText(
      'after',
      `
Raw PHI reaches a vendor's service only while a signed, unexpired BAA lists that service (and its
subprocessors hold BAAs too). The shipped catalogue is seeded with every BAA "not_signed".

Examples:
  phigate vendors list
  phigate vendors show openai
  phigate vendors sign openai --services api-enterprise --effective 2026-01-01 --expires 2027-12-31 \\
      --document contracts/openai-baa.pdf --document-file ./openai-baa.pdf --zero-retention --no-training --region us
  phigate vendors amend openai --expires 2028-12-31 --expect-version 2
  phigate vendors subprocessors retell --sub "Carrier Co:signed:2026-12-31:voice-agents"
  phigate vendors terminate openai --reason contract_ended
  phigate vendors expiring --days 60
  phigate vendors check-expiry`,
    );

  vendors
    .command('list')
    .description('every vendor with its BAA status, expiry and covered services')
    .addOption(homeOption())
    .option('--json', 'print JSON')
    .action(async (options) => {
      const records = await withVendorCli(options.home, vendorEventTypes.list, (cli) => cli.vendors.list(cli.operator));
      print(
        options.json,
        records.map((r) => ({ ...r.vendor, version: r.version, updatedAt: r.updatedAt })),
        formatTable(['ID', 'LEGAL NAME', 'BAA', 'EXPIRES', 'COVERED', 'SERVICES', 'SOURCE', 'VERSION'], records.map(baaSummary)),
      );
    });

  vendors
    .command('show <id>')
    .description('one vendor: its BAA, each service\'s coverage now, the configured endpoints using it, subprocessors')
    .addOption(homeOption())
    .option('--json', 'print JSON')
    .action(async (id, options) => {
      const view = await withVendorCli(options.home, vendorEventTypes.read, (cli) => cli.vendors.coverage(cli.operator, id), id);
      print(options.json, view, formatCoverageView(view));
    });

  vendors
    .command('add')
    .description('add a custom vendor (its BAA starts "not_signed"; record it with "sign")')
    .addOption(homeOption())
    .option('--file <path>', 'the vendor as JSON or YAML: { id, legalName, services: [{ id, name, category, eligibility, notes? }], subprocessors? }')
    .option('--id <id>', 'vendor id (lowercase letters, digits, ".", "_", "-")')
    .option('--legal-name <name>', 'the legal entity that signs the BAA')
    .option('--service <spec>', 'ID:CATEGORY:ELIGIBILITY[:NAME], repeatable; CATEGORY llm|healthcare_api|transcription|voice|messaging|vector_database|monitoring|consumer_app, ELIGIBILITY baa_available|none|never', collectService)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  phigate vendors add --id scribe-co --legal-name "Scribe Co LLC" --service "ambient:transcription:baa_available:Ambient scribe"')
    .action(async (options) => {
      const input = options.file !== undefined ? await readStructured(options.file) : { id: options.id, legalName: options.legalName, services: options.service ?? [] };
      const created = await withVendorCli(options.home, vendorEventTypes.create, (cli) => cli.vendors.create(cli.operator, input));
      printRecord(options.json, created, 'added');
    });

  vendors
    .command('sign <id>')
    .description('record a signed BAA (a first signature or a renewal; replaces the recorded one)')
    .addOption(homeOption())
    .requiredOption('--services <ids>', 'services the BAA covers, comma separated (see "vendors show")', collect)
    .requiredOption('--effective <date>', 'effective date, YYYY-MM-DD')
    .option('--expires <date>', 'expiry date, YYYY-MM-DD (in force through that day, UTC); omit for no expiry')
    .requiredOption('--document <ref>', 'where the signed document lives (contract system id or URL)')
    .option('--sha256 <hex>', 'SHA-256 of the signed document')
    .option('--document-file <path>', 'compute the SHA-256 from this file instead of --sha256')
    .option('--zero-retention', 'the vendor keeps no customer data')
    .option('--no-training', 'the vendor does not train on customer data')
    .option('--region <region>', 'a region the vendor may hold data in, repeatable or comma separated (none = not restricted)', collect)
    .option('--expect-version <n>', 'the version you read (refused if the record changed since)', parseVersion)
    .option('--json', 'print JSON')
    .action(async (id, options) => {
      if ((options.sha256 === undefined) === (options.documentFile === undefined)) throw new Error('give exactly one of --sha256 or --document-file');
      const documentSha256 = options.sha256 ?? (await sha256OfFile(options.documentFile as string));
      const input = {
        effectiveDate: options.effective,
        ...(options.expires === undefined ? {} : { expiryDate: options.expires }),
        documentRef: options.document,
        documentSha256,
        coveredServices: options.services,
        zeroDataRetention: options.zeroRetention === true,
        noTrainingOnCustomerData: options.training === false,
        dataResidency: options.region ?? [],
      };
      const saved = await withVendorCli(options.home, vendorEventTypes.baaSign, (cli) => cli.vendors.signBaa(cli.operator, id, input, { version: options.expectVersion }), id);
      printRecord(options.json, saved, 'signed');
    });

  vendors
    .command('amend <id>')
    .description('change named fields of a signed BAA; the rest stays as recorded')
    .addOption(homeOption())
    .option('--services <ids>', 'covered services, comma separated (replaces the list)', collect)
    .option('--effective <date>', 'effective date, YYYY-MM-DD')
    .option('--expires <date>', 'expiry date, YYYY-MM-DD, or "none" to remove it')
    .option('--document <ref>', 'document reference')
    .option('--sha256 <hex>', 'SHA-256 of the document')
    .option('--document-file <path>', 'compute the SHA-256 from this file')
    .option('--zero-retention', 'the vendor keeps no customer data')
    .option('--no-zero-retention', 'the vendor retains customer data')
    .option('--region <region>', 'data residency regions (replaces the list)', collect)
    .option('--expect-version <n>', 'the version you read (refused if the record changed since)', parseVersion)
    .option('--json', 'print JSON')
    .action(async (id, options) => {
      const sha = options.documentFile !== undefined ? await sha256OfFile(options.documentFile) : options.sha256;
      const input = {
        ...(options.services === undefined ? {} : { coveredServices: options.services }),
        ...(options.effective === undefined ? {} : { effectiveDate: options.effective }),
        ...(options.expires === undefined ? {} : { expiryDate: options.expires === 'none' ? null : options.expires }),
        ...(options.document === undefined ? {} : { documentRef: options.document }),
        ...(sha === undefined ? {} : { documentSha256: sha }),
        ...(options.zeroRetention === undefined ? {} : { zeroDataRetention: options.zeroRetention }),
        ...(options.region === undefined ? {} : { dataResidency: options.region }),
      };
      const saved = await withVendorCli(options.home, vendorEventTypes.baaAmend, (cli) => cli.vendors.amendBaa(cli.operator, id, input, { version: options.expectVersion }), id);
      printRecord(options.json, saved, 'amended');
    });

  vendors
    .command('terminate <id>')
    .description('terminate the vendor\'s BAA now: PHI to it stops on the next request')
    .addOption(homeOption())
    .requiredOption('--reason <code>', `why: ${terminationReasons.join(', ')}`)
    .option('--expect-version <n>', 'the version you read (refused if the record changed since)', parseVersion)
    .option('--json', 'print JSON')
    .action(async (id, options) => {
      const saved = await withVendorCli(options.home, vendorEventTypes.baaTerminate, (cli) => cli.vendors.terminateBaa(cli.operator, id, options.reason, { version: options.expectVersion }), id);
      printRecord(options.json, saved, 'terminated');
    });

  vendors
    .command('subprocessors <id>')
    .description('replace the vendor\'s subprocessor list (each with its own BAA status); an unsigned one blocks the services it serves')
    .addOption(homeOption())
    .option('--file <path>', 'the list as JSON or YAML: [{ name, purpose?, services?, baa: { status, expiryDate? } }]')
    .option('--sub <spec>', 'NAME:STATUS[:EXPIRY[:SERVICE,SERVICE]], repeatable; no services = all of the vendor\'s', collectSub)
    .option('--clear', 'record that the vendor has no subprocessors')
    .option('--expect-version <n>', 'the version you read (refused if the record changed since)', parseVersion)
    .option('--json', 'print JSON')
    .action(async (id, options) => {
      const given = [options.file !== undefined, options.sub !== undefined, options.clear === true].filter(Boolean).length;
      if (given !== 1) throw new Error('give exactly one of --file, --sub or --clear');
      const input = options.file !== undefined ? await readStructured(options.file) : options.clear ? [] : (options.sub ?? []);
      const saved = await withVendorCli(options.home, vendorEventTypes.subprocessors, (cli) => cli.vendors.setSubprocessors(cli.operator, id, input, { version: options.expectVersion }), id);
      print(options.json, { ...saved.vendor, version: saved.version }, `${id}: ${saved.vendor.subprocessors.length} subprocessor(s) recorded (version ${saved.version})`);
    });

  vendors
    .command('expiring')
    .description('signed BAAs (vendors\' and subprocessors\') ending within a number of days, soonest first')
    .addOption(homeOption())
    .option('--days <n>', 'the window in days', parseDays, 30)
    .option('--json', 'print JSON')
    .action(async (options) => {
      const items = await withVendorCli(options.home, vendorEventTypes.expiringList, (cli) => cli.vendors.expiring(cli.operator, options.days));
      print(options.json, items, expiringTable(items));
    });

  vendors
    .command('check-expiry')
    .description('run the BAA expiry check now (the gateway runs it hourly): warn at 30 and 7 days, once each; mark lapsed BAAs expired')
    .addOption(homeOption())
    .option('--json', 'print JSON')
    .action(async (options) => {
      const result = await withVendorCli(options.home, vendorEventTypes.baaExpiring, (cli) => cli.checkExpiry());
      const lines = [
        `checked ${result.checked} signed BAA(s) with an expiry date`,
        ...result.warnings.map((w) => `warning: ${w.vendorId} BAA expires ${w.expiryDate} (${w.daysToExpiry} day(s) left, ${w.thresholdDays}-day notice)`),
        ...result.expired.map((e) => `expired: ${e.vendorId} BAA ended ${e.expiryDate}; recorded as expired`),
        ...result.skipped.map((v) => `skipped: ${v} changed during the check; run again`),
      ];
      print(options.json, result, lines.join('\n'));
    });
}
