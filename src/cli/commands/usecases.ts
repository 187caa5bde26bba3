// SPDX-License-Identifier: Apache-2.0
/**
 * `phigate usecases …`: the governed use-case registry, from the state folder (no running gateway
 * needed). The operator at this terminal acts as `cli:<os user>` with the admin role (they hold
 * the state folder and its key); committee decisions are made `--as` a named user, with that
 * user's stored roles. Every call, refusals included, goes to the same audit chain as the
 * gateway's, and every change bumps the registry revision, so running gateways pick it up on
 * their next request.
 *
 * Spec files are YAML or JSON in the shape of registry/use-case-spec.ts; `create` also reads the
 * use-case `id` from the file (or `--id`).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from '@commander-js/extra-typings';
import { InvalidArgumentError } from 'commander';
import { parse as parseYaml } from 'yaml';
import { createAccessPolicy, type RoleOverrides } from '../../access/rbac.js';
import { systemClock } from '../../kernel/clock.js';
import { uuidv7 } from '../../kernel/ids.js';
import { createPolicyAsCode, type PolicyAsCode } from '../../registry/policy-as-code.js';
import { createUseCaseService, type RiskView, type UseCaseRequest, type UseCaseService, type UseCaseView } from '../../registry/use-cases.js';
import { createVendorService } from '../../registry/vendors.js';
import type { TransitionRecord } from '../../store/repos/use-case-repo.js';
import { createVendorRepo } from '../../store/repos/vendor-repo.js';
import { type OpenedStore } from '../../store/store.js';
import { homeOption } from '../options.js';
import { cliError, cliOperatorActor, findActiveUser, printResult, withCliState } from '../state.js';
import { formatTable } from './vendors.js';

export interface RegistryCli {
  readonly useCases: UseCaseService;
  readonly registry: PolicyAsCode;
  readonly store: OpenedStore;
  /** The operator at this terminal, with the admin role. */
  readonly operator: UseCaseRequest;
  /** A request made as a named, active person (id or name), with that person's stored roles. */
  as(user: string): Promise<UseCaseRequest>;
}

/**
 * Opens the state folder's store and audit chain, seeds missing vendor-catalogue entries (as the
 * gateway does at start), runs `action` and closes everything. Refusals are audited by the
 * services and rethrown as a plain message naming the code's facts.
 */
export async function withRegistryCli<T>(home: string | undefined, action: (cli: RegistryCli) => Promise<T>, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  return withCliState(home, env, async ({ config, store, audit, instanceId }) => {
    const policy = createAccessPolicy(config.access.roles as RoleOverrides);
    const common = { db: store.db, audit, clock: systemClock, instanceId, policy, committee: config.governance.committee };
    const requestId = uuidv7();
    const operator: UseCaseRequest = { actor: cliOperatorActor(), requestId, source: 'cli' };
    try {
      const vendors = createVendorService({ repo: createVendorRepo(store.db), audit, clock: systemClock, instanceId, policy, endpoints: config.endpoints });
      await vendors.ensureCatalogue(operator);
      return await action({
        useCases: createUseCaseService(common),
        registry: createPolicyAsCode({ ...common, users: store.users }),
        store,
        operator,
        async as(ref) {
          const user = await findActiveUser(store, ref);
          return { actor: { userId: user.id, kind: user.kind, roles: user.roles, authMethod: 'cli' }, requestId, source: 'cli' };
        },
      });
    } catch (err) {
      throw cliError(err, '; ');
    }
  });
}

/** Reads a YAML or JSON file into plain data. */
export async function readDataFile(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  try {
    return parseYaml(text) as unknown;
  } catch {
    throw new Error(`${file} is not valid YAML or JSON`);
  }
}

function parseVersion(value: string): number {
  const version = Number(value);
  if (!Number.isInteger(version) || version < 1) throw new InvalidArgumentError('expected a version number shown by "usecases show"');
  return version;
}

const print = (json: boolean | undefined, value: unknown, text: string): void => printResult(json, value, text, true);

const iso = (ms: number | null): string => (ms === null ? '' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));
const riskText = (risk: RiskView): string => (risk.override ? `${risk.effective} (override of ${risk.derived})` : risk.derived);

/** The text form of one use case: summary, risk, versions table, approvals. */
export function formatUseCase(view: UseCaseView): string {
  const shown = view.versions.find((v) => v.number === view.liveVersion) ?? view.versions[view.versions.length - 1];
  const lines = [
    `${view.id}  ${shown?.spec.name ?? ''}`,
    `state: ${view.state}   live version: ${view.liveVersion ?? '-'}   record version: ${view.version}`,
    `classification: ${shown?.spec.classification ?? '-'}   deployment: ${shown?.spec.deploymentPattern ?? '-'}   risk: ${riskText(view.risk)}`,
  ];
  if (view.risk.override) lines.push(`risk justification: ${view.risk.override.justification}`);
  lines.push(
    '',
    formatTable(
      ['VERSION', 'STATE', 'RISK', 'COMMITTEE', 'MISSING', 'CREATED', 'BY', 'REASON'],
      view.versions.map((v) => [String(v.number), v.state, riskText(v.risk), v.committee.status, v.committee.missing.join(','), iso(v.createdAt), v.createdBy, v.reason ?? '']),
    ),
  );
  const approvals = view.versions.flatMap((v) => v.approvals.map((a) => [String(v.number), a.seat, a.role, a.userId, a.decision, iso(a.at), a.reason ?? '']));
  if (approvals.length > 0) lines.push('', formatTable(['VERSION', 'SEAT', 'ROLE', 'USER', 'DECISION', 'AT', 'REASON'], approvals));
  return lines.join('\n');
}

const formatHistory = (history: readonly TransitionRecord[]): string =>
  formatTable(
    ['AT', 'ACTION', 'VERSION', 'FROM', 'TO', 'BY', 'REASON'],
    history.map((h) => [iso(h.at), h.action, h.version === null ? '' : String(h.version), h.fromState ?? '', h.toState, h.actor, h.reason ?? '']),
  );

const examples = `
Examples:
  phigate usecases create --file prior-auth.yaml --reason "pilot in revenue cycle"
  phigate usecases submit prior-auth --reason "ready for the March committee"
  phigate usecases approve prior-auth --version 1 --as dr-cmio --reason "committee minutes 2026-03-04"
  phigate usecases golive prior-auth --reason "approved by the committee"
  phigate usecases propose prior-auth --file prior-auth-v2.yaml --reason "add HPAYMT purpose"
  phigate usecases rollback prior-auth --reason "v2 letters rejected by payer"
  phigate usecases list --json

Committee (configurable under governance.committee): chair (cmio), security (security_officer),
privacy (privacy_officer), and clinical_champion for clinical use cases. The submitter of a version
cannot approve it; one person fills one seat; any rejection rejects the version.`;

/** Registers `phigate usecases`. */
export function registerUseCasesCommand(program: Command): void {
  const usecases = program
    .command('usecases')
    .description('the governed use-case registry: versions, committee approval, go-live, suspension, rollback (every call is audited)')
    .addHelpText('after', examples);

  usecases
    .command('list')
    .description('every use case with its state, live and pending versions and risk')
    .addOption(homeOption())
    .option('--json', 'print JSON')
    .action(async (options) => {
      const list = await withRegistryCli(options.home, (cli) => cli.useCases.list(cli.operator));
      print(
        options.json,
        list,
        list.length === 0
          ? '(no use cases)'
          : formatTable(
              ['ID', 'STATE', 'LIVE', 'PENDING', 'CLASSIFICATION', 'DEPLOYMENT', 'RISK', 'NAME'],
              list.map((u) => [u.id, u.state, u.liveVersion === null ? '' : String(u.liveVersion), u.pendingVersion ? `v${u.pendingVersion.number} ${u.pendingVersion.state}` : '', u.classification, u.deploymentPattern, riskText(u.risk), u.name]),
            ),
      );
    });

  usecases
    .command('show <id>')
    .description('one use case: every version, committee status, approvals and risk')
    .addOption(homeOption())
    .option('--json', 'print JSON (specs included)')
    .action(async (id, options) => {
      const view = await withRegistryCli(options.home, (cli) => cli.useCases.get(cli.operator, id));
      print(options.json, view, formatUseCase(view));
    });

  usecases
    .command('history <id>')
    .description('the lifecycle history: who did what, when and why')
    .addOption(homeOption())
    .option('--json', 'print JSON')
    .action(async (id, options) => {
      const history = await withRegistryCli(options.home, (cli) => cli.useCases.history(cli.operator, id));
      print(options.json, history, formatHistory(history));
    });

  usecases
    .command('create')
    .description('create a use case as a draft (version 1) from a spec file')
    .addOption(homeOption())
    .requiredOption('--file <spec.yaml>', 'the spec (YAML or JSON); may carry the id as `id:`')
    .option('--id <id>', 'the use-case id (default: `id` in the file)')
    .option('--reason <text>', 'why it is proposed')
    .option('--json', 'print JSON')
    .action(async (options) => {
      const data = await readDataFile(options.file);
      if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new Error(`${options.file} must hold a mapping (the use-case spec)`);
      const { id: fileId, ...spec } = data as Record<string, unknown>;
      const id = options.id ?? (typeof fileId === 'string' ? fileId : undefined);
      if (id === undefined) throw new Error('give the use-case id with --id or as `id:` in the file');
      const view = await withRegistryCli(options.home, (cli) => cli.useCases.create(cli.operator, { id, spec, reason: options.reason }));
      print(options.json, view, formatUseCase(view));
    });

  usecases
    .command('propose <id>')
    .description('propose a change: the spec file becomes a new draft version; the live version keeps serving')
    .addOption(homeOption())
    .requiredOption('--file <spec.yaml>', 'the complete new spec (YAML or JSON)')
    .requiredOption('--reason <text>', 'why it changes')
    .option('--expected-version <n>', 'refuse if the use case changed since this record version', parseVersion)
    .option('--as <user>', 'act as this user (id or name) instead of the operator')
    .option('--json', 'print JSON')
    .action(async (id, options) => {
      const data = await readDataFile(options.file);
      const { id: _ignored, ...spec } = (data !== null && typeof data === 'object' && !Array.isArray(data) ? data : {}) as Record<string, unknown>;
      const view = await withRegistryCli(options.home, async (cli) =>
        cli.useCases.propose(options.as === undefined ? cli.operator : await cli.as(options.as), id, { spec, reason: options.reason, expectedVersion: options.expectedVersion }),
      );
      print(options.json, view, formatUseCase(view));
    });

  usecases
    .command('submit <id>')
    .description('send a draft version (default: the open one) to the governance committee')
    .addOption(homeOption())
    .option('--version <n>', 'the version to submit', parseVersion)
    .requiredOption('--reason <text>', 'a note for the committee')
    .option('--expected-version <n>', 'refuse if the use case changed since this record version', parseVersion)
    .option('--as <user>', 'submit as this user (id or name): they cannot then approve it')
    .option('--json', 'print JSON')
    .action(async (id, options) => {
      const view = await withRegistryCli(options.home, async (cli) =>
        cli.useCases.submit(options.as === undefined ? cli.operator : await cli.as(options.as), id, { version: options.version, reason: options.reason, expectedVersion: options.expectedVersion }),
      );
      print(options.json, view, formatUseCase(view));
    });

  for (const decision of ['approve', 'reject'] as const) {
    usecases
      .command(`${decision} <id>`)
      .description(decision === 'approve' ? 'record a committee approval in the seat the person holds' : 'record a committee rejection: the version is rejected')
      .addOption(homeOption())
      .requiredOption('--version <n>', 'the submitted version', parseVersion)
      .requiredOption('--as <user>', 'the committee member (id or name); their stored roles decide the seat')
      .requiredOption('--reason <text>', 'the decision\'s reason (kept in the approvals table)')
      .option('--seat <seat>', 'the seat, when the person holds roles for more than one')
      .option('--expected-version <n>', 'refuse if the use case changed since this record version', parseVersion)
      .option('--json', 'print JSON')
      .action(async (id, options) => {
        const view = await withRegistryCli(options.home, async (cli) => {
          const req = await cli.as(options.as);
          const input = { version: options.version, seat: options.seat, reason: options.reason, expectedVersion: options.expectedVersion };
          return decision === 'approve' ? cli.useCases.approve(req, id, input) : cli.useCases.reject(req, id, input);
        });
        print(options.json, view, formatUseCase(view));
      });
  }

  usecases
    .command('golive <id>')
    .description('serve an approved version (default: the newest approved one); the previous live version is superseded')
    .addOption(homeOption())
    .option('--version <n>', 'the approved version to serve', parseVersion)
    .requiredOption('--reason <text>', 'why now')
    .option('--expected-version <n>', 'refuse if the use case changed since this record version', parseVersion)
    .option('--json', 'print JSON')
    .action(async (id, options) => {
      const view = await withRegistryCli(options.home, (cli) => cli.useCases.goLive(cli.operator, id, { version: options.version, reason: options.reason, expectedVersion: options.expectedVersion }));
      print(options.json, view, formatUseCase(view));
    });

  const simple = [
    ['suspend', 'stop serving a live use case at once (requests naming it are refused)'],
    ['resume', 'serve a suspended use case\'s live version again'],
    ['retire', 'retire a use case for good (its history stays)'],
    ['rollback', 'serve the last approved version before the live one again'],
  ] as const;
  for (const [name, description] of simple) {
    usecases
      .command(`${name} <id>`)
      .description(description)
      .addOption(homeOption())
      .requiredOption('--reason <text>', 'why (kept in the lifecycle history)')
      .option('--expected-version <n>', 'refuse if the use case changed since this record version', parseVersion)
      .option('--json', 'print JSON')
      .action(async (id, options) => {
        const input = { reason: options.reason, expectedVersion: options.expectedVersion };
        const view = await withRegistryCli(options.home, (cli) => cli.useCases[name](cli.operator, id, input));
        print(options.json, view, formatUseCase(view));
      });
  }
}
