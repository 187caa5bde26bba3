// SPDX-License-Identifier: Apache-2.0
// The catalogue against the real application: every route buildApp registers has an entry, and
// the downstream-action route joins a report to the request's trail through a real gateway.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app.js';
import { generateApiKey } from '../auth/api-keys.js';
import { createAuthServices } from '../auth/runtime.js';
import { configSchema } from '../config/schema.js';
import { createMemoryKms } from '../crypto/testing/memory-kms.js';
import { createDeidEngine } from '../deid/detect.js';
import { createDeidentifier } from '../deid/deidentify.js';
import { createEncryptedTokenVault } from '../deid/token-vault.js';
import { deidPolicies } from '../deid/transforms/apply.js';
import type { PhiCategory } from '../deid/types.js';
import { systemClock } from '../kernel/clock.js';
import { uuidv7 } from '../kernel/ids.js';
import { createProviders } from '../providers/registry.js';
import { createEndpointDirectory } from '../registry/endpoints.js';
import { createMemoryRegistry } from '../registry/testing/memory-registry.js';
import { createTokenVaultRepo } from '../store/repos/token-vault-repo.js';
import { openStore } from '../store/store.js';
import { createLogger } from '../telemetry/logger.js';
import { createMetrics } from '../telemetry/metrics.js';
import { startTestGateway, type TestGateway } from '../../test/support/gateway.js';
import { auditCatalogue, routeCatalogue, uncataloguedRoutes } from './catalogue.js';
import { requestTrail } from './downstream.js';
import { createSqlAuditSink } from './sql-sink.js';
import { createAuditWriter } from './writer.js';

describe('audit catalogue', () => {
  it('has an entry for every route the application registers (metrics on, console on)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'phigate-catalogue-'));
    const config = configSchema.parse({ server: { metrics: true } });
    const store = await openStore({ url: 'sqlite::memory:', baseDir: dir, kms: createMemoryKms() });
    const logger = createLogger({ level: 'silent' });
    const audit = await createAuditWriter({ sink: createSqlAuditSink(store.db), writeTimeoutMs: 2000 });
    const auth = await createAuthServices({ config, store, audit, clock: systemClock, logger, instanceId: 'test' });
    const vault = createEncryptedTokenVault({ repo: createTokenVaultRepo<PhiCategory>(store.db), crypto: store.fieldCrypto, ttlMs: config.deid.tokenTtlMs });
    try {
      const app = buildApp({
        config,
        logger,
        metrics: createMetrics(),
        clock: systemClock,
        apiKeys: auth.apiKeys,
        auth: auth.authenticator,
        limits: auth.limits,
        authServices: auth,
        audit,
        endpoints: createEndpointDirectory(config.endpoints, createProviders(config.endpoints, { baseDir: dir, env: {} })),
        keyedHash: (value, purpose) => store.fieldCrypto.blindIndex(value, purpose),
        instanceId: 'test',
        deid: { deidentifier: createDeidentifier({ detector: createDeidEngine({ language: 'en' }), policy: deidPolicies[config.deid.policy], vault, key: 'k' }), vault },
        store,
        registry: createMemoryRegistry(),
        isReady: () => Promise.resolve(true),
      });
      const routes = app.routes.map((r) => ({ method: r.method, path: r.path }));
      expect(routes.length).toBeGreaterThan(20);
      expect(uncataloguedRoutes(routes)).toEqual([]);
      // The check can fail: a route nobody catalogued is named.
      expect(uncataloguedRoutes([...routes, { method: 'POST', path: '/v1/new-thing' }])).toEqual(['POST /v1/new-thing']);
    } finally {
      await auth.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('describes every event type a route names', () => {
    for (const [route, entry] of Object.entries(routeCatalogue)) {
      if ('exempt' in entry) continue;
      for (const type of entry.events) expect(auditCatalogue[type], `${route} → ${type}`).toBeDefined();
    }
  });

  it('has no route that is catalogued but writes no record', () => {
    const gaps = Object.entries(routeCatalogue)
      .filter(([, entry]) => 'emitted' in entry && entry.emitted === false)
      .map(([route]) => route);
    expect(gaps).toEqual([]);
  });
});

describe('POST /v1/audit/downstream', () => {
  let gw: TestGateway;
  let otherKey: string;

  async function call(path: string, key: string, body: unknown, headers: Record<string, string> = {}) {
    const response = await request(`${gw.baseUrl.replace(/\/v1$/, '')}${path}`, {
      method: 'POST',
      dispatcher: gw.dispatcher,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    const text = await response.body.text();
    return { status: response.statusCode, body: JSON.parse(text) as Record<string, unknown>, requestId: String(response.headers['x-request-id']) };
  }

  beforeAll(async () => {
    gw = await startTestGateway();
    const store = gw.gateway.store;
    const id = uuidv7();
    await store.users.create({ id, name: 'someone-else', roles: ['physician'], kind: 'user' });
    const key = generateApiKey((secret) => store.fieldCrypto.blindIndex(secret, 'api-key'));
    await store.apiKeys.create({ id: key.keyId, userId: id, secretHash: key.secretHash, roles: ['physician'], useCases: [] });
    otherKey = key.key;
  }, 60_000);
  afterAll(() => gw.close());

  it('records the action in the same trail, for the principal that made the request only', async () => {
    const models = await request(`${gw.baseUrl.replace(/\/v1$/, '')}/v1/models`, { dispatcher: gw.dispatcher, headers: { authorization: `Bearer ${gw.apiKey}` } });
    await models.body.text();
    const original = String(models.headers['x-request-id']);

    const denied = await call('/v1/audit/downstream', otherKey, { request_id: original, action: 'accepted_into_chart' });
    expect(denied.status).toBe(403);
    const unknown = await call('/v1/audit/downstream', gw.apiKey, { request_id: 'no-such-request', action: 'discarded' });
    expect(unknown.status).toBe(403);
    const invalid = await call('/v1/audit/downstream', gw.apiKey, { request_id: original, action: 'printed' });
    expect(invalid.status).toBe(400);

    const note = 'Reviewed with the patient at the bedside';
    const ok = await call('/v1/audit/downstream', gw.apiKey, { request_id: original, action: 'accepted_into_chart', note });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ object: 'audit.downstream', request_id: original, action: 'accepted_into_chart' });

    const trail = await requestTrail(gw.gateway.store.db, original);
    expect(trail.map((r) => r.event.type)).toEqual(['models.list', 'audit.downstream']);
    expect(trail[1]?.event.downstream).toMatchObject({ requestId: original, action: 'accepted_into_chart', noteHmac: expect.stringMatching(/^[0-9a-f]+$/) });
    // The note itself is never stored.
    const rows = await gw.gateway.store.db.selectFrom('audit_events').select('body').execute();
    expect(rows.some((r) => r.body.includes(note))).toBe(false);
    // The calls themselves are audited, refused ones included.
    const reportCalls = await gw.gateway.store.db.selectFrom('audit_events').select('outcome').where('event_type', '=', 'audit.report_downstream').orderBy('seq').execute();
    expect(reportCalls.map((r) => r.outcome)).toEqual(['denied', 'denied', 'denied', 'success']);
  });
});
