// SPDX-License-Identifier: Apache-2.0
/** Test fixture: the auth services over an in-memory SQLite store, a settable clock and a collecting audit log. */
import { tmpdir } from 'node:os';
import type { AuditEvent } from '../../audit/record.js';
import { parseConfig } from '../../config/load.js';
import { createMemoryKms } from '../../crypto/testing/memory-kms.js';
import { openStore, type OpenedStore } from '../../store/store.js';
import { createLogger } from '../../telemetry/logger.js';
import type { AdminRequest } from '../admin.js';
import { createAuthServices, type AuthServices } from '../runtime.js';

export interface AuthFixture {
  readonly services: AuthServices;
  readonly store: OpenedStore;
  readonly events: AuditEvent[];
  readonly admin: AdminRequest;
  now: number;
  close(): Promise<void>;
}

export async function createAuthFixture(config: Record<string, unknown> = {}, storeUrl = 'sqlite::memory:'): Promise<AuthFixture> {
  const events: AuditEvent[] = [];
  const store = await openStore({ url: storeUrl, baseDir: tmpdir(), kms: createMemoryKms(), apiKeyTouchFlushMs: 0 });
  const fixture = {
    now: 1_800_000_000_000,
    events,
    store,
    admin: { requestId: 'test-request', actor: { userId: 'test-admin', kind: 'user', roles: ['admin'], authMethod: 'test' } },
  } as Omit<AuthFixture, 'services' | 'close'>;
  const services = await createAuthServices({
    config: parseConfig(config),
    store,
    audit: {
      append: (event) => {
        events.push(event);
        return Promise.resolve();
      },
    },
    clock: { now: () => fixture.now },
    logger: createLogger({ level: 'silent' }),
    instanceId: 'test',
    passwordCostLog2: 10,
  });
  return Object.assign(fixture, {
    services,
    async close() {
      await services.close();
      await store.close();
    },
  });
}
