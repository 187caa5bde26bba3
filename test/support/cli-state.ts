// SPDX-License-Identifier: Apache-2.0
/**
 * Runs `phigate` commands in-process against a real state folder (SQLite file, local key file,
 * audit chain), the way an operator's shell would, and opens that folder's store for a test to
 * seed or inspect.
 *
 * ```ts
 * beforeAll(async () => ({ dir, home } = await createCliStateFolder('phigate-vendors-cli-')));
 * const listed = await runCli(home, ['vendors', 'list', '--json']);
 * await withCliStore(home, (store) => store.users.create({ … }));
 * ```
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProgram } from '../../src/cli/program.js';
import { loadConfig } from '../../src/config/load.js';
import { createKms } from '../../src/crypto/kms/index.js';
import { initHome } from '../../src/main.js';
import { openStore, type OpenedStore } from '../../src/store/store.js';

/** A temporary folder and the initialised state folder `home` inside it. */
export interface CliStateFolder {
  readonly dir: string;
  readonly home: string;
}

/** Makes a temporary folder (`prefix` + random) and initialises `<dir>/state` as a state folder. */
export async function createCliStateFolder(prefix: string): Promise<CliStateFolder> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const home = join(dir, 'state');
  await initHome(home, {});
  return { dir, home };
}

/**
 * Runs one command (`--home` added) through `program` — by default the whole command tree
 * throwing instead of exiting — and returns what it printed on stdout.
 */
export async function runCli(home: string, args: readonly string[], program: ReturnType<typeof createProgram> = createProgram().exitOverride()): Promise<string> {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync([...args, '--home', home], { from: 'user' });
  } finally {
    process.stdout.write = write;
  }
  return chunks.join('');
}

/** Opens the state folder's store as the CLI does (its configuration and KMS), runs `action`, closes it. */
export async function withCliStore<T>(home: string, action: (store: OpenedStore) => Promise<T>): Promise<T> {
  const config = loadConfig({ home, env: {} });
  const store = await openStore({ url: config.store.url, baseDir: home, kms: await createKms(config.kms, { baseDir: home, env: {} }) });
  try {
    return await action(store);
  } finally {
    await store.close();
  }
}
