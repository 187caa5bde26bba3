// SPDX-License-Identifier: Apache-2.0
/**
 * `phigate kms …`: the key-encryption key and the data keys.
 *
 * - `status`    which KEK is current, which data keys exist (and under which KEK they are wrapped),
 *               and how many ciphertexts in each encrypted column are under a non-current data key;
 * - `rotate`    a new KEK version and every data key re-wrapped under it (data untouched), or with
 *               `--data-keys` new data keys for new writes;
 * - `rewrap`    re-wrap data keys after the KEK was rotated outside phigate (Vault, Azure, AWS alias);
 * - `reencrypt` move every stored value to the current data key of its class, in batches; stop
 *               with Ctrl-C and run again to resume (the cursor is kept in the state folder).
 *
 * Output names key ids and counts only — never key material or stored values.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { InvalidArgumentError } from 'commander';
import { loadConfig } from '../../config/load.js';
import { createKms, type ManagedKms } from '../../crypto/kms/index.js';
import { keyStatus, reencryptColumns, rotateDataKeys, rotateKek, type KeyStatus, type ReencryptCursor, type ReencryptReport } from '../../crypto/rotation.js';
import { resolveHome } from '../../kernel/home.js';
import { openStore, type OpenedStore } from '../../store/store.js';
import { homeOption } from '../options.js';

/** Where `kms reencrypt` keeps its resume point, inside the state folder. Holds a table name and row keys, no values. */
export const reencryptStateFileName = 'kms-reencrypt-state.json';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number, 0 or more');
  return n;
}

/** Opens the configured KMS and the store of a state folder for one command. */
export async function withKmsStore<T>(home: string, run: (store: OpenedStore, kms: ManagedKms) => Promise<T>, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const config = loadConfig({ home, env });
  const kms = await createKms(config.kms, { baseDir: home, env });
  const store = await openStore({ url: config.store.url, baseDir: home, kms });
  try {
    return await run(store, kms);
  } finally {
    await store.close();
  }
}

/** `kms status`. */
export async function kmsStatus(home: string, env?: NodeJS.ProcessEnv): Promise<KeyStatus & { readonly kind: string; readonly location: string }> {
  return withKmsStore(home, async (store, kms) => ({ kind: kms.kind, location: kms.location, ...(await keyStatus({ db: store.db, kms, keyStore: store.dataKeys })) }), env);
}

/** `kms rotate`: a new KEK version, then every data key re-wrapped. */
export async function kmsRotateKek(home: string, env?: NodeJS.ProcessEnv): Promise<Awaited<ReturnType<typeof rotateKek>>> {
  return withKmsStore(home, (store, kms) => rotateKek(kms, store.fieldCrypto), env);
}

/** `kms rotate --data-keys [classes]`: new data keys for new writes; returns class → new key id. */
export async function kmsRotateDataKeys(home: string, classes?: readonly string[], env?: NodeJS.ProcessEnv): Promise<Readonly<Record<string, string>>> {
  return withKmsStore(home, (store) => rotateDataKeys(store.fieldCrypto, store.dataKeys, classes), env);
}

/** `kms rewrap`: data keys not yet under the current KEK are re-wrapped under it. */
export async function kmsRewrap(home: string, env?: NodeJS.ProcessEnv): Promise<{ readonly kekId: string; readonly rewrapped: number; readonly total: number }> {
  return withKmsStore(
    home,
    async (store, kms) => {
      await kms.refresh();
      const result = await store.fieldCrypto.rewrapDataKeys();
      return { kekId: kms.id, ...result };
    },
    env,
  );
}

export interface ReencryptRunOptions {
  readonly batchSize?: number;
  readonly pauseMs?: number;
  /** Ignore a saved cursor and start from the first column. */
  readonly restart?: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (line: string) => void;
  readonly env?: NodeJS.ProcessEnv;
}

/** `kms reencrypt`: resumes from the saved cursor, saves it after every batch, removes it when done. */
export async function kmsReencrypt(home: string, options: ReencryptRunOptions = {}): Promise<ReencryptReport> {
  const stateFile = join(home, reencryptStateFileName);
  let cursor: ReencryptCursor | null = null;
  if (!options.restart && existsSync(stateFile)) cursor = JSON.parse(readFileSync(stateFile, 'utf8')) as ReencryptCursor;
  const report = await withKmsStore(
    home,
    (store) =>
      reencryptColumns({
        db: store.db,
        fieldCrypto: store.fieldCrypto,
        keyStore: store.dataKeys,
        cursor,
        ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
        ...(options.pauseMs === undefined ? {} : { pauseMs: options.pauseMs }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        onProgress: (p) => {
          writeFileSync(stateFile, `${JSON.stringify(p.cursor)}\n`, { mode: 0o600 });
          options.onProgress?.(`${p.column}: ${p.scanned} read, ${p.reencrypted} re-encrypted, ${p.upToDate} current, ${p.failed} failed, ${p.pinned} append-only`);
        },
      }),
    options.env,
  );
  if (report.complete) rmSync(stateFile, { force: true });
  else writeFileSync(stateFile, `${JSON.stringify(report.cursor)}\n`, { mode: 0o600 });
  return report;
}

function describeStatus(status: Awaited<ReturnType<typeof kmsStatus>>): string {
  const lines = [`KMS        ${status.kind} (${status.location})`, `KEK        ${status.kekId}`, 'data keys'];
  for (const k of status.dataKeys) {
    const flags = [k.current ? 'current' : k.retiredAt === null ? '' : 'retired', k.staleKek ? 'wrapped under an old KEK: run `phigate kms rewrap`' : ''].filter((f) => f !== '');
    lines.push(`  ${k.id}  ${k.dataClass}  ${k.kekId}${flags.length > 0 ? `  (${flags.join('; ')})` : ''}`);
  }
  lines.push('ciphertexts');
  for (const c of status.columns) lines.push(`  ${c.column}  ${c.total} total, ${c.stale} under an old data key`);
  return lines.join('\n');
}

export function registerKmsCommand(program: Command): void {
  const kms = program.command('kms').description('key-encryption key and data keys: status, rotate, rewrap, reencrypt');

  kms
    .command('status')
    .description('current KEK, data keys and the keys stored values are under (ids and counts only)')
    .addOption(homeOption())
    .option('--json', 'print JSON')
    .action(async (options) => {
      const status = await kmsStatus(resolveHome(options.home));
      process.stdout.write(`${options.json ? JSON.stringify(status) : describeStatus(status)}\n`);
    });

  kms
    .command('rotate')
    .description('new KEK version and every data key re-wrapped under it; with --data-keys, new data keys for new writes instead')
    .addOption(homeOption())
    .option('--data-keys [classes]', 'rotate data keys instead: comma-separated classes, or every class in use')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nAfter `--data-keys`, run `phigate kms reencrypt` to move stored values to the new keys.')
    .action(async (options) => {
      const home = resolveHome(options.home);
      if (options.dataKeys === undefined) {
        const result = await kmsRotateKek(home);
        process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : `KEK ${result.previousKekId} -> ${result.kekId}; ${result.rewrapped} of ${result.dataKeys} data keys re-wrapped\n`);
        return;
      }
      const classes = typeof options.dataKeys === 'string' ? options.dataKeys.split(',').map((c) => c.trim()).filter((c) => c !== '') : undefined;
      const result = await kmsRotateDataKeys(home, classes);
      process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : `${Object.entries(result).map(([c, id]) => `${c}: new data key ${id}`).join('\n')}\n`);
    });

  kms
    .command('rewrap')
    .description('re-wrap data keys under the current KEK (after rotating it in Vault, Key Vault or AWS)')
    .addOption(homeOption())
    .option('--json', 'print JSON')
    .action(async (options) => {
      const result = await kmsRewrap(resolveHome(options.home));
      process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : `${result.rewrapped} of ${result.total} data keys re-wrapped under ${result.kekId}\n`);
    });

  kms
    .command('reencrypt')
    .description('re-encrypt stored values under the current data key of their class; resumable (Ctrl-C stops after the batch)')
    .addOption(homeOption())
    .option('--batch-size <n>', 'rows per batch', positiveInt, 500)
    .option('--pause-ms <n>', 'pause between batches, to leave room for live traffic', nonNegativeInt, 0)
    .option('--restart', 'ignore the saved resume point')
    .option('--json', 'print the report as JSON')
    .action(async (options) => {
      const controller = new AbortController();
      const stop = (): void => controller.abort();
      process.once('SIGINT', stop);
      try {
        const report = await kmsReencrypt(resolveHome(options.home), {
          batchSize: options.batchSize,
          pauseMs: options.pauseMs,
          restart: options.restart === true,
          signal: controller.signal,
          onProgress: (line) => process.stderr.write(`${line}\n`),
        });
        const summary = `${report.reencrypted} re-encrypted, ${report.upToDate} already current, ${report.failed} failed, ${report.pinned} in append-only tables${report.complete ? '' : ' — stopped; run again to resume'}`;
        process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : `${summary}\n`);
        if (report.failed > 0) process.exitCode = 1;
      } finally {
        process.off('SIGINT', stop);
      }
    });
}
