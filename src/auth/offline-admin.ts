// SPDX-License-Identifier: Apache-2.0
/**
 * Administration from the command line: opens the state folder's store and an audit writer the
 * way `startGateway` does, so CLI changes land in the same audit chain. With Redis configured,
 * revocations made here reach running gateways at once.
 */
import { hostname, userInfo } from 'node:os';
import { createAuditWriter } from '../audit/writer.js';
import { createSqlAuditSink } from '../audit/sql-sink.js';
import { loadConfig } from '../config/load.js';
import { createKms } from '../crypto/kms/index.js';
import { systemClock } from '../kernel/clock.js';
import { uuidv7 } from '../kernel/ids.js';
import { openStore, type OpenedStore } from '../store/store.js';
import { createLogger } from '../telemetry/logger.js';
import type { AdminRequest, AdminService } from './admin.js';
import { createAuthServices } from './runtime.js';

export interface OfflineAdmin {
  readonly admin: AdminService;
  readonly store: OpenedStore;
  /** A request as the operator at this terminal; one id per command run. */
  readonly request: AdminRequest;
  /** Resolves a user given by id or name. */
  resolveUserId(ref: string): Promise<string>;
  close(): Promise<void>;
}

export async function openOfflineAdmin(home: string, env: NodeJS.ProcessEnv = process.env): Promise<OfflineAdmin> {
  const config = loadConfig({ home, env });
  const logger = createLogger({ level: 'warn' });
  const kms = await createKms(config.kms, { baseDir: home, env });
  const store = await openStore({ url: config.store.url, baseDir: home, kms, apiKeyTouchFlushMs: 0 });
  try {
    const audit = await createAuditWriter({ sink: createSqlAuditSink(store.db), writeTimeoutMs: config.audit.writeTimeoutMs });
    const instanceId = `${hostname()}:${process.pid}:cli`;
    const services = await createAuthServices({ config, store, audit, clock: systemClock, logger, instanceId });
    const operator = userInfo().username;
    return {
      admin: services.admin,
      store,
      request: { requestId: uuidv7(), actor: { userId: `cli:${operator}`, kind: 'user', roles: [], authMethod: 'local_cli' } },
      async resolveUserId(ref) {
        const user = (await store.users.findById(ref)) ?? (await store.users.findByName(ref));
        if (!user) throw new Error(`no user with id or name "${ref}"`);
        return user.id;
      },
      async close() {
        await audit.drain();
        await services.close();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
