// SPDX-License-Identifier: Apache-2.0
/** `phigate keys …`: create, list, rotate and revoke API keys. A new key is shown once; every change is audited. */
import type { Command } from '@commander-js/extra-typings';
import { InvalidArgumentError } from 'commander';
import pc from 'picocolors';
import type { ApiKeySummary } from '../../auth/admin.js';
import { homeOption } from '../options.js';
import { withOfflineAdmin } from './users.js';

const units = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses `90d`, `12h`, `30m`, `45s` or `0` into milliseconds. */
export function parseDuration(value: string): number {
  const match = /^(\d{1,6})([smhd])?$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('expected a duration such as 90d, 12h, 30m or 45s');
  return Number(match[1]) * units[(match[2] ?? 's') as keyof typeof units];
}

const splitList = (value: string): string[] => value.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
const when = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString());

function printKey(key: ApiKeySummary): string {
  return `${key.id}  user=${key.userId}  ${key.state}  roles=[${key.roles.join(', ')}]  useCases=[${key.useCases.join(', ')}]  expires=${when(key.expiresAt)}  lastUsed=${when(key.lastUsedAt)}`;
}

const out = (json: boolean | undefined, value: unknown, text: string): void => {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`);
};

const shownOnce = pc.yellow('The key is shown once. Store it in your secret manager now.');

export function registerKeysCommand(program: Command): void {
  const keys = program.command('keys').description('manage API keys (every change is audited)');

  keys
    .command('create')
    .description('create an API key for a user or service account')
    .addOption(homeOption())
    .requiredOption('--user <user>', 'owner (id or name)')
    .option('--roles <list>', 'comma-separated roles, a subset of the owner\'s (default: all of them)')
    .option('--use-cases <list>', 'comma-separated use cases the key may call (default: not scoped)')
    .option('--expires-in <duration>', 'e.g. 90d; default: no expiry', parseDuration)
    .option('--json', 'print {"key", …} as JSON')
    .action(async (options) => {
      const issued = await withOfflineAdmin(options.home, async (ctx) =>
        ctx.admin.createKey(ctx.request, {
          userId: await ctx.resolveUserId(options.user),
          ...(options.roles === undefined ? {} : { roles: splitList(options.roles) }),
          ...(options.useCases === undefined ? {} : { useCases: splitList(options.useCases) }),
          ...(options.expiresIn === undefined ? {} : { expiresAt: Date.now() + options.expiresIn }),
        }),
      );
      out(options.json, { key: issued.key, ...issued.record }, `${pc.bold(issued.key)}\n${printKey(issued.record)}\n${shownOnce}`);
    });

  keys
    .command('list')
    .description('list keys (never their secrets)')
    .addOption(homeOption())
    .option('--user <user>', 'only this owner\'s keys (id or name)')
    .option('--json', 'print JSON')
    .action(async (options) => {
      const list = await withOfflineAdmin(options.home, async (ctx) => ctx.admin.listKeys(options.user === undefined ? undefined : await ctx.resolveUserId(options.user)));
      out(options.json, list, list.map(printKey).join('\n'));
    });

  keys
    .command('rotate <keyId>')
    .description('issue a replacement key; the old one keeps working until the overlap ends')
    .addOption(homeOption())
    .option('--overlap <duration>', 'how long the old key keeps working (default: auth.apiKeys.rotationOverlapMs)', parseDuration)
    .option('--json', 'print JSON')
    .action(async (keyId, options) => {
      const rotated = await withOfflineAdmin(options.home, (ctx) => ctx.admin.rotateKey(ctx.request, keyId, options.overlap));
      out(
        options.json,
        { key: rotated.key, oldKeyValidUntil: rotated.oldKeyValidUntil, ...rotated.record },
        `${pc.bold(rotated.key)}\n${printKey(rotated.record)}\nold key ${keyId} works until ${when(rotated.oldKeyValidUntil)}\n${shownOnce}`,
      );
    });

  keys
    .command('revoke <keyId>')
    .description('revoke a key now (every gateway instance within the cache TTL, at once with Redis)')
    .addOption(homeOption())
    .option('--json', 'print JSON')
    .action(async (keyId, options) => {
      const key = await withOfflineAdmin(options.home, (ctx) => ctx.admin.revokeKey(ctx.request, keyId));
      out(options.json, key, printKey(key));
    });
}
