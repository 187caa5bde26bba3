// SPDX-License-Identifier: Apache-2.0
/**
 * What the offline commands (`phigate careteam`, `review`, `usecases`, `vendors`, `documents`)
 * share: the state folder opened the way the gateway opens it (configuration, store, audit
 * chain), the operator at this terminal, a named person acting as themselves, refusals as plain
 * messages, and JSON-or-text output.
 *
 * ```ts
 * await withCliState(home, env, async (state) => {
 *   const req = { actor: cliOperatorActor(), requestId: uuidv7() };
 *   …
 * });
 * ```
 */
import { hostname, userInfo } from 'node:os';
import { createSqlAuditSink } from '../audit/sql-sink.js';
import { createAuditWriter, type AuditWriter } from '../audit/writer.js';
import { loadConfig } from '../config/load.js';
import type { PhigateConfig } from '../config/schema.js';
import { createKms } from '../crypto/kms/index.js';
import { systemClock, type Clock } from '../kernel/clock.js';
import { isGatewayError } from '../kernel/errors.js';
import { resolveHome } from '../kernel/home.js';
import type { UserRecord } from '../store/repos/user-repo.js';
import { openStore, type OpenedStore } from '../store/store.js';
import { createLogger, type Logger } from '../telemetry/logger.js';

/** An opened state folder: the dependencies services take, plus where it lives. */
export interface CliState {
  /** The state folder, resolved (`--home`, then `$PHIGATE_HOME`, then `./.phigate`). */
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;
  readonly config: PhigateConfig;
  readonly store: OpenedStore;
  readonly audit: AuditWriter;
  readonly clock: Clock;
  readonly keyedHash: (value: string, purpose: string) => string;
  readonly instanceId: string;
  readonly logger: Logger;
}

/** Opens the state folder's store and audit chain; runs `action`; drains the audit writer and closes the store. */
export async function withCliState<T>(home: string | undefined, env: NodeJS.ProcessEnv, action: (state: CliState) => Promise<T>): Promise<T> {
  const dir = resolveHome(home, env);
  const config = loadConfig({ home: dir, env });
  const kms = await createKms(config.kms, { baseDir: dir, env });
  const store = await openStore({ url: config.store.url, baseDir: dir, kms, apiKeyTouchFlushMs: 0 });
  try {
    const audit = await createAuditWriter({ sink: createSqlAuditSink(store.db), writeTimeoutMs: config.audit.writeTimeoutMs });
    try {
      return await action({
        home: dir,
        env,
        config,
        store,
        audit,
        clock: systemClock,
        keyedHash: (value: string, purpose: string) => store.fieldCrypto.blindIndex(value, purpose),
        instanceId: `${hostname()}:${process.pid}:cli`,
        logger: createLogger({ level: 'error' }),
      });
    } finally {
      await audit.drain();
    }
  } finally {
    await store.close();
  }
}

/** The operator at this terminal, with the admin role. */
export function cliOperatorActor(): { readonly userId: string; readonly kind: 'user'; readonly roles: readonly ['admin']; readonly authMethod: 'cli' } {
  return { userId: `cli:${userInfo().username}`, kind: 'user', roles: ['admin'], authMethod: 'cli' };
}

/** The active person with id or name `ref` (for `--as` and the reviewer's `--user`). */
export async function findActiveUser(store: OpenedStore, ref: string): Promise<UserRecord> {
  const user = (await store.users.findById(ref)) ?? (await store.users.findByName(ref));
  if (!user || user.disabledAt !== null) throw new Error(`no active user with id or name "${ref}"`);
  return user;
}

/**
 * A refusal as the terminal shows it: the code's message with its facts (`key=value, …`, list
 * values joined by `listSeparator`); anything else unchanged.
 */
export function cliError(err: unknown, listSeparator = ','): unknown {
  if (!isGatewayError(err)) return err;
  const facts = Object.entries(err.detail ?? {}).map(([key, value]) => `${key}=${Array.isArray(value) ? value.join(listSeparator) : String(value)}`).join(', ');
  return new Error(`${err.message}${facts ? ` (${facts})` : ''}`, { cause: err });
}

/** Prints `value` as JSON (`--json`; indented when `pretty`) or `text`, one line-terminated block. */
export function printResult(json: boolean | undefined, value: unknown, text: string, pretty = false): void {
  process.stdout.write(json ? `${pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value)}\n` : `${text}\n`);
}
