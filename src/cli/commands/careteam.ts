// SPDX-License-Identifier: Apache-2.0
/**
 * `phigate careteam …`: care-team assignments, units and access profiles, from the state folder.
 * The operator at this terminal acts as `cli:<os user>` with the admin role (they hold the state
 * folder and its key); every change goes to the same audit chain as the gateway's.
 *
 * CSV import format (header required, columns in any order):
 *   user,patient,role,start,end
 *   dr-house,Patient/p1,attending,2026-01-01,
 * `user` is a user id or name; `patient` is `Patient/<id>` or a bare FHIR id; `start`/`end` are
 * ISO 8601 dates or date-times (empty start = now, empty end = open-ended; end is exclusive).
 * FHIR import: a Bundle, a CareTeam or an array of resources (see access/patient-access.ts).
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { InvalidArgumentError } from 'commander';
import { createAccessAdmin, type AccessActor, type AccessAdmin, type AccessAdminRequest } from '../../access/admin.js';
import { parseInstant } from '../../access/patient-access.js';
import { createAccessService, type AccessService } from '../../access/service.js';
import { resolveSecret } from '../../config/secrets.js';
import { uuidv7 } from '../../kernel/ids.js';
import type { CareTeamAssignment } from '../../store/repos/care-team-repo.js';
import { type OpenedStore } from '../../store/store.js';
import { homeOption } from '../options.js';
import { cliError, cliOperatorActor, findActiveUser, printResult, withCliState } from '../state.js';

export interface AccessCli {
  readonly admin: AccessAdmin;
  readonly service: AccessService;
  readonly store: OpenedStore;
  /** The operator at this terminal, with the admin role. */
  readonly operator: AccessAdminRequest;
  /** A request made as a named user (id or name), with that user's stored roles. */
  as(user: string): Promise<AccessAdminRequest>;
}

/** Opens the state folder's store, audit chain and access service; runs `action`; closes everything. */
export async function withAccessCli<T>(home: string | undefined, action: (cli: AccessCli) => Promise<T>, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  return withCliState(home, env, async (state) => {
    const { store } = state;
    const service = createAccessService(state, { secret: (ref) => resolveSecret(ref, state.home, env) });
    const admin = createAccessAdmin(state, service);
    const requestId = uuidv7();
    const operatorActor: AccessActor = cliOperatorActor();
    try {
      return await action({
        admin,
        service,
        store,
        operator: { actor: operatorActor, requestId },
        async as(ref) {
          const user = await findActiveUser(store, ref);
          return { actor: { userId: user.id, kind: user.kind, roles: user.roles, authMethod: 'cli' }, requestId };
        },
      });
    } catch (err) {
      throw cliError(err);
    }
  });
}

export function parseInstantOption(value: string): number {
  const at = parseInstant(value);
  if (at === undefined) throw new InvalidArgumentError('expected an ISO 8601 date or date-time');
  return at;
}

const out = (json: boolean | undefined, value: unknown, text: string): void => printResult(json, value, text);

const iso = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString());
const printAssignment = (a: CareTeamAssignment): string => `${a.id}  user=${a.userId}  ${a.patient}  role=${a.teamRole}  ${iso(a.startAt)} → ${iso(a.endAt)}  (${a.source})`;

export function registerCareTeamCommand(program: Command): void {
  const careteam = program.command('careteam').description('care-team assignments, units and access profiles (every change is audited)');

  careteam
    .command('add')
    .description('assign a user to a patient\'s care team')
    .addOption(homeOption())
    .requiredOption('--user <user>', 'user id or name')
    .requiredOption('--patient <ref>', 'Patient/<id>')
    .requiredOption('--role <role>', 'role on the team, e.g. attending')
    .option('--start <iso>', 'start (default now)', parseInstantOption)
    .option('--end <iso>', 'end, exclusive (default open-ended)', parseInstantOption)
    .option('--json', 'print JSON')
    .action(async (options) => {
      const created = await withAccessCli(options.home, (cli) =>
        cli.admin.assign(cli.operator, { user: options.user, patient: options.patient, role: options.role, startAt: options.start, endAt: options.end }),
      );
      out(options.json, created, printAssignment(created));
    });

  careteam
    .command('end <assignment>')
    .description('end an assignment now')
    .addOption(homeOption())
    .action(async (id, options) => {
      await withAccessCli(options.home, (cli) => cli.admin.endAssignment(cli.operator, id));
      out(false, {}, `ended ${id}`);
    });

  careteam
    .command('list')
    .description('list assignments, newest first')
    .addOption(homeOption())
    .option('--user <user>', 'only this user')
    .option('--patient <ref>', 'only this patient')
    .option('--active', 'only assignments active now')
    .option('--json', 'print JSON')
    .action(async (options) => {
      const list = await withAccessCli(options.home, (cli) => cli.admin.listAssignments(cli.operator, { user: options.user, patient: options.patient, activeOnly: options.active }));
      out(options.json, list, list.map(printAssignment).join('\n') || '(none)');
    });

  careteam
    .command('import <file>')
    .description('import assignments from CSV (user,patient,role,start,end) or FHIR R4 CareTeam JSON; all rows or none')
    .addOption(homeOption())
    .option('--format <format>', 'csv or fhir (default: by file extension)')
    .option('--json', 'print JSON')
    .action(async (file, options) => {
      const format = options.format ?? (extname(file).toLowerCase() === '.csv' ? 'csv' : 'fhir');
      if (format !== 'csv' && format !== 'fhir') throw new Error('--format must be csv or fhir');
      const text = await readFile(file, 'utf8');
      const result = await withAccessCli(options.home, async (cli) => {
        if (format === 'csv') return cli.admin.importCsv(cli.operator, text);
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          throw new Error(`${file} is not valid JSON`);
        }
        return cli.admin.importFhir(cli.operator, json);
      });
      out(options.json, result, [`imported ${result.imported}, skipped ${result.skipped}`, ...result.problems.map((p) => `  ${p.at}: ${p.field}: ${p.problem}`)].join('\n'));
      if (result.problems.length > 0) process.exitCode = 1;
    });

  careteam
    .command('profile <user>')
    .description('set a user\'s organisation, NPI (for FHIR import) and break-glass eligibility')
    .addOption(homeOption())
    .option('--organisation <org>', 'organisation the user works for')
    .option('--npi <npi>', 'National Provider Identifier')
    .option('--break-glass-eligible', 'allow break-glass')
    .option('--no-break-glass-eligible', 'disallow break-glass')
    .option('--json', 'print JSON')
    .action(async (user, options) => {
      const profile = await withAccessCli(options.home, (cli) =>
        cli.admin.setProfile(cli.operator, user, { organisation: options.organisation, npi: options.npi, breakGlassEligible: options.breakGlassEligible }),
      );
      out(options.json, profile, `${profile.userId}  organisation=${profile.organisation}  npi=${profile.npi ?? '-'}  break-glass=${profile.breakGlassEligible ? 'eligible' : 'no'}`);
    });

  careteam
    .command('unit <unit>')
    .description('create a unit (ward, department) or move it to an organisation')
    .addOption(homeOption())
    .requiredOption('--organisation <org>', 'the organisation the unit belongs to')
    .action(async (unit, options) => {
      await withAccessCli(options.home, (cli) => cli.admin.setUnit(cli.operator, unit, options.organisation));
      out(false, {}, `unit ${unit} → ${options.organisation}`);
    });

  careteam
    .command('member <unit> <user>')
    .description('add a user to a unit (or, with --end, end the membership)')
    .addOption(homeOption())
    .option('--end', 'end the membership now')
    .action(async (unit, user, options) => {
      await withAccessCli(options.home, (cli) => (options.end ? cli.admin.endUnitMember(cli.operator, unit, user) : cli.admin.addUnitMember(cli.operator, unit, user)));
      out(false, {}, options.end ? `ended ${user} in ${unit}` : `added ${user} to ${unit}`);
    });

  careteam
    .command('place <unit>')
    .description('place a patient in a unit (or, with --end, end the placement)')
    .addOption(homeOption())
    .requiredOption('--patient <ref>', 'Patient/<id>')
    .option('--end', 'end the placement now')
    .action(async (unit, options) => {
      await withAccessCli(options.home, (cli) => (options.end ? cli.admin.endPatientPlacement(cli.operator, unit, options.patient) : cli.admin.placePatient(cli.operator, unit, options.patient)));
      out(false, {}, options.end ? `ended placement in ${unit}` : `placed in ${unit}`);
    });
}
