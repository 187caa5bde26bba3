// SPDX-License-Identifier: Apache-2.0
/** `phigate users …`: create, list, disable and change users and service accounts. Every change is audited. */
import type { Command } from '@commander-js/extra-typings';
import pc from 'picocolors';
import { openOfflineAdmin, type OfflineAdmin } from '../../auth/offline-admin.js';
import { isGatewayError } from '../../kernel/errors.js';
import { resolveHome } from '../../kernel/home.js';
import type { UserRecord } from '../../store/repos/user-repo.js';
import { homeOption } from '../options.js';

const splitList = (value: string): string[] => value.split(',').map((item) => item.trim()).filter((item) => item.length > 0);

/** Runs an admin action against the state folder; admin refusals become operator-readable errors. */
export async function withOfflineAdmin<T>(home: string | undefined, action: (admin: OfflineAdmin) => Promise<T>): Promise<T> {
  const admin = await openOfflineAdmin(resolveHome(home));
  try {
    return await action(admin);
  } catch (err) {
    if (isGatewayError(err)) {
      const reason = err.detail?.reason;
      throw new Error(err.code === 'invalid_request' && typeof reason === 'string' ? `refused: ${reason.replaceAll('_', ' ')}` : err.message, { cause: err });
    }
    throw err;
  } finally {
    await admin.close();
  }
}

function printUser(user: UserRecord): string {
  const state = user.disabledAt === null ? pc.green('active') : pc.red('disabled');
  return `${user.id}  ${user.name}  ${user.kind}  [${user.roles.join(', ')}]${user.orgUnit ? `  unit=${user.orgUnit}` : ''}  ${state}`;
}

const out = (json: boolean | undefined, value: unknown, text: string): void => {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`);
};

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export function registerUsersCommand(program: Command): void {
  const users = program.command('users').description('manage users and service accounts (every change is audited)');

  users
    .command('add <name>')
    .description('create a user (or, with --service, a service account)')
    .addOption(homeOption())
    .option('--roles <list>', 'comma-separated roles', '')
    .option('--org-unit <unit>', 'organisational unit (ward, department)')
    .option('--service', 'a service account: it must act on behalf of a user to reach PHI')
    .option('--json', 'print the user as JSON')
    .action(async (name, options) => {
      const user = await withOfflineAdmin(options.home, (ctx) =>
        ctx.admin.createUser(ctx.request, { name, roles: splitList(options.roles), orgUnit: options.orgUnit ?? null, kind: options.service ? 'service' : 'user' }),
      );
      out(options.json, user, printUser(user));
    });

  users
    .command('list')
    .description('list users and service accounts')
    .addOption(homeOption())
    .option('--json', 'print JSON')
    .action(async (options) => {
      const list = await withOfflineAdmin(options.home, (ctx) => ctx.admin.listUsers());
      out(options.json, list, list.map(printUser).join('\n'));
    });

  users
    .command('disable <user>')
    .description('disable a user (id or name): every key stops working and console sessions end')
    .addOption(homeOption())
    .option('--json', 'print JSON')
    .action(async (ref, options) => {
      const user = await withOfflineAdmin(options.home, async (ctx) => ctx.admin.disableUser(ctx.request, await ctx.resolveUserId(ref)));
      out(options.json, user, printUser(user));
    });

  users
    .command('set-roles <user> <roles>')
    .description('replace a user\'s roles (comma-separated); keys are capped by them at once')
    .addOption(homeOption())
    .option('--json', 'print JSON')
    .action(async (ref, roles, options) => {
      const user = await withOfflineAdmin(options.home, async (ctx) => ctx.admin.setRoles(ctx.request, await ctx.resolveUserId(ref), splitList(roles)));
      out(options.json, user, printUser(user));
    });

  users
    .command('set-password <user>')
    .description('set a console password, read from standard input (12 to 1024 characters); signs the user out everywhere')
    .addOption(homeOption())
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  printf %s "$NEW_PASSWORD" | phigate users set-password dr.jones --home ./state')
    .action(async (ref, options) => {
      const password = await readStdin();
      await withOfflineAdmin(options.home, async (ctx) => ctx.admin.setPassword(ctx.request, await ctx.resolveUserId(ref), password));
      out(options.json, { updated: true }, `${pc.green('✔')} password set`);
    });

  users
    .command('enroll-totp <user>')
    .description('issue a new TOTP secret (replaces any old one); shown once, for the user\'s authenticator app')
    .addOption(homeOption())
    .option('--json', 'print {"secret","uri"} as JSON')
    .action(async (ref, options) => {
      const enrolment = await withOfflineAdmin(options.home, async (ctx) => ctx.admin.enrollTotp(ctx.request, await ctx.resolveUserId(ref)));
      out(options.json, enrolment, `secret  ${pc.bold(enrolment.secret)}\nuri     ${enrolment.uri}\n${pc.yellow('Shown once: give it to the user over a trusted channel.')}`);
    });

  users
    .command('delegate <service> <user>')
    .description('allow a service account to act on behalf of a user via x-phigate-on-behalf-of')
    .addOption(homeOption())
    .option('--remove', 'withdraw the permission instead')
    .option('--json', 'print JSON')
    .action(async (serviceRef, userRef, options) => {
      await withOfflineAdmin(options.home, async (ctx) => {
        const serviceId = await ctx.resolveUserId(serviceRef);
        const userId = await ctx.resolveUserId(userRef);
        if (options.remove) await ctx.admin.removeDelegation(ctx.request, serviceId, userId);
        else await ctx.admin.allowDelegation(ctx.request, serviceId, userId);
      });
      out(options.json, { allowed: !options.remove }, `${pc.green('✔')} delegation ${options.remove ? 'removed' : 'allowed'}`);
    });
}
