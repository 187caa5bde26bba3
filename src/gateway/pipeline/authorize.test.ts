// SPDX-License-Identifier: Apache-2.0
// The authorize step over a real (in-memory SQLite) store: use-case purposes, delegation,
// configured role overrides, and the action check for routes without a model.
import { tmpdir } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { accessServiceFor } from '../../access/service.js';
import { createSqlAuditSink } from '../../audit/sql-sink.js';
import { createAuditWriter } from '../../audit/writer.js';
import type { Principal } from '../../auth/principal.js';
import { configSchema } from '../../config/schema.js';
import { createMemoryKms } from '../../crypto/testing/memory-kms.js';
import { isGatewayError } from '../../kernel/errors.js';
import { createProviders } from '../../providers/registry.js';
import { createEndpointDirectory } from '../../registry/endpoints.js';
import { openStore, type OpenedStore } from '../../store/store.js';
import { createLogger } from '../../telemetry/logger.js';
import { createMetrics } from '../../telemetry/metrics.js';
import { authorize, authorizeAction } from './authorize.js';
import type { GatewayDeps, PipelineContext } from './context.js';
import { createMemoryRegistry, type MemoryRegistry } from '../../registry/testing/memory-registry.js';
import { adminSpec } from '../../registry/testing/registry-fixtures.js';

const stores: OpenedStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

/** Use cases of the fake registry: a billing one restricted to payment, a ward round, one suspended. */
function testRegistry(): MemoryRegistry {
  return createMemoryRegistry({
    useCases: [
      { id: 'billing-summary', spec: adminSpec({ purposes: ['HPAYMT'], roles: ['physician', 'scheduler', 'ai_service'], models: [{ name: 'echo' }] }) },
      { id: 'ward-round', spec: adminSpec({ purposes: ['TREAT', 'CAREMGT'], roles: ['physician'], models: [{ name: 'echo' }] }) },
      { id: 'paused', spec: adminSpec({ purposes: ['TREAT'], roles: ['physician'], models: [{ name: 'echo' }] }), state: 'suspended' },
      { id: 'other-model', spec: adminSpec({ purposes: ['TREAT'], roles: ['physician'], models: [{ name: 'gpt-4o' }] }) },
    ],
  });
}

async function setup(access: Record<string, unknown> = {}, extra: Record<string, unknown> = {}, registry: MemoryRegistry = testRegistry()) {
  const config = configSchema.parse({ access, ...extra });
  const store = await openStore({ url: 'sqlite::memory:', baseDir: tmpdir(), kms: createMemoryKms() });
  stores.push(store);
  const audit = await createAuditWriter({ sink: createSqlAuditSink(store.db), writeTimeoutMs: 2000 });
  const deps = {
    config,
    logger: createLogger({ level: 'silent' }),
    metrics: createMetrics(),
    clock: { now: () => Date.now() },
    apiKeys: undefined as never,
    audit,
    endpoints: createEndpointDirectory(config.endpoints, createProviders(config.endpoints, { baseDir: tmpdir(), env: {} })),
    keyedHash: (value: string, purpose: string) => store.fieldCrypto.blindIndex(value, purpose),
    instanceId: 'test',
    store,
    deid: undefined as never,
    registry,
  } satisfies Partial<GatewayDeps> as unknown as GatewayDeps;
  for (const [id, roles, kind] of [['doc', ['physician'], 'user'], ['sched', ['scheduler'], 'user'], ['bot', ['ai_service'], 'service'], ['bare-bot', [], 'service']] as const) {
    await store.users.create({ id, name: id, roles, kind });
  }
  const service = accessServiceFor(deps);
  await service.careTeams.assign({ userId: 'doc', patient: 'Patient/p1', teamRole: 'attending', source: 'api', createdBy: 'test' });
  await service.careTeams.assign({ userId: 'sched', patient: 'Patient/p1', teamRole: 'desk', source: 'api', createdBy: 'test' });
  return deps;
}

function context(deps: GatewayDeps, principal: Principal, headers: Record<string, string>): PipelineContext {
  return {
    deps,
    eventType: 'chat.completion',
    operation: 'chat',
    principal,
    request: { model: 'echo', messages: [{ role: 'user', content: 'hi' }] },
    meta: {
      requestId: 'req-1',
      receivedAt: 0,
      startedNs: 0n,
      clientIp: undefined,
      userAgent: undefined,
      signal: new AbortController().signal,
      header: (name) => headers[name],
      readBody: async () => '',
    },
  } as PipelineContext;
}

const user = (userId: string, roles: string[]): Principal => ({ userId, kind: 'user', roles, authMethod: 'api_key', useCases: [] });

async function refusal(step: () => Promise<void> | void): Promise<unknown> {
  try {
    await step();
    return 'allowed';
  } catch (err) {
    return isGatewayError(err) ? { code: err.code, reason: err.detail?.reason } : err;
  }
}

describe('authorize', () => {
  it('checks the purpose against the use case\'s purposes in the registry', async () => {
    const deps = await setup();
    const doc = user('doc', ['physician']);
    expect(await refusal(() => authorize(context(deps, doc, { 'x-phigate-patient': 'Patient/p1', 'x-phigate-purpose': 'TREAT', 'x-phigate-use-case': 'billing-summary' })))).toEqual({
      code: 'purpose_not_allowed', reason: 'purpose_not_allowed_for_use_case',
    });
    expect(await refusal(() => authorize(context(deps, doc, { 'x-phigate-patient': 'Patient/p1', 'x-phigate-purpose': 'TREAT', 'x-phigate-use-case': 'ward-round' })))).toBe('allowed');
  });

  it('resolves the use case to its live version, or refuses: unknown, not live, role, model', async () => {
    const registry = testRegistry();
    const deps = await setup({}, {}, registry);
    const doc = user('doc', ['physician']);
    const headers = (useCase: string) => ({ 'x-phigate-use-case': useCase, 'x-phigate-purpose': 'TREAT' });
    const ctx = context(deps, doc, headers('ward-round'));
    await authorize(ctx);
    expect(ctx.useCase).toMatchObject({ id: 'ward-round', version: 1, spec: { roles: ['physician'] } });
    expect(await refusal(() => authorize(context(deps, doc, headers('no-such-case'))))).toEqual({ code: 'use_case_not_found', reason: undefined });
    expect(await refusal(() => authorize(context(deps, doc, headers('paused'))))).toEqual({ code: 'use_case_not_approved', reason: undefined });
    expect(await refusal(() => authorize(context(deps, user('nurse-1', ['nurse']), headers('ward-round'))))).toEqual({ code: 'permission_denied', reason: 'role_not_allowed_for_use_case' });
    expect(await refusal(() => authorize(context(deps, doc, headers('other-model'))))).toEqual({ code: 'model_not_allowed_for_use_case', reason: 'model_not_in_use_case' });
    // The registry is read on every request: a suspension takes effect on the next one.
    registry.setUseCaseState('ward-round', 'suspended');
    expect(await refusal(() => authorize(context(deps, doc, headers('ward-round'))))).toEqual({ code: 'use_case_not_approved', reason: undefined });
  });

  it('a service acting for a user invokes the use case with the user\'s roles', async () => {
    const deps = await setup();
    const headers = { 'x-phigate-use-case': 'ward-round', 'x-phigate-purpose': 'TREAT' };
    const bot: Principal = { userId: 'bot', kind: 'service', roles: ['ai_service'], authMethod: 'api_key', useCases: [], onBehalfOf: { userId: 'doc', roles: ['physician'], proof: 'assertion' } };
    expect(await refusal(() => authorize(context(deps, bot, headers)))).toBe('allowed');
    const { onBehalfOf: _omit, ...alone } = bot;
    expect(await refusal(() => authorize(context(deps, alone, headers)))).toMatchObject({ code: 'permission_denied', reason: 'role_not_allowed_for_use_case' });
  });

  it('fails closed when the registry cannot be read in time', async () => {
    const stalled = { snapshot: () => new Promise(() => undefined) } as unknown as MemoryRegistry;
    const deps = await setup({}, { policy: { registryTimeoutMs: 50 } }, stalled);
    const started = Date.now();
    expect(await refusal(() => authorize(context(deps, user('doc', ['physician']), { 'x-phigate-use-case': 'ward-round' })))).toEqual({ code: 'registry_unavailable', reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(2_000);
    const broken = { snapshot: () => Promise.reject(new Error('connection refused')) } as unknown as MemoryRegistry;
    expect(await refusal(() => authorize(context({ ...deps, registry: broken }, user('doc', ['physician']), { 'x-phigate-use-case': 'ward-round' })))).toEqual({ code: 'registry_unavailable', reason: 'read_failed' });
  });

  it('parses sensitivity labels, refuses unknown ones, and requires a use case when configured', async () => {
    const deps = await setup();
    const ctx = context(deps, user('doc', ['physician']), { 'x-phigate-sensitivity': 'PSYTHPN, 42CFRPart2,hiv' });
    await authorize(ctx);
    expect([...(ctx.sensitivity ?? [])].sort()).toEqual(['hiv', 'psychotherapy_notes', 'substance_use_part2']);
    expect(await refusal(() => authorize(context(deps, user('doc', ['physician']), { 'x-phigate-sensitivity': 'SECRET' })))).toMatchObject({ code: 'invalid_header' });
    const strict = await setup({}, { policy: { requireUseCase: true } });
    expect(await refusal(() => authorize(context(strict, user('doc', ['physician']), {})))).toMatchObject({ code: 'use_case_required' });
    expect(await refusal(() => authorize(context(strict, user('doc', ['physician']), { 'x-phigate-use-case': 'ward-round' })))).toBe('allowed');
  });

  it('decides a service account\'s patient access for the user it acts for, and needs the delegation permission', async () => {
    const deps = await setup();
    const headers = { 'x-phigate-patient': 'Patient/p1', 'x-phigate-purpose': 'TREAT' };
    const bot: Principal = { userId: 'bot', kind: 'service', roles: ['ai_service'], authMethod: 'api_key', useCases: [], onBehalfOf: { userId: 'doc', roles: ['physician'], proof: 'assertion' } };
    expect(await refusal(() => authorize(context(deps, bot, headers)))).toBe('allowed');
    expect(await refusal(() => authorize(context(deps, { ...bot, onBehalfOf: { userId: 'sched', roles: ['scheduler'], proof: 'assertion' } }, headers)))).toMatchObject({ code: 'purpose_not_allowed' });
    expect(await refusal(() => authorize(context(deps, { ...bot, roles: [] }, headers)))).toMatchObject({ code: 'permission_denied' });
    const { onBehalfOf: _omit, ...alone } = bot;
    expect(await refusal(() => authorize(context(deps, alone, headers)))).toEqual({ code: 'patient_access_denied', reason: 'service_without_user' });
  });

  it('applies role overrides from the configuration', async () => {
    const deps = await setup({ roles: { scheduler: { purposes: ['PATADMIN', 'TREAT'] } } });
    expect(await refusal(() => authorize(context(deps, user('sched', ['scheduler']), { 'x-phigate-patient': 'Patient/p1', 'x-phigate-purpose': 'TREAT' })))).toBe('allowed');
  });

  it('checks the action for routes without a model', async () => {
    const deps = await setup();
    const deidStep = authorizeAction('deid:use');
    expect(await refusal(() => deidStep(context(deps, user('doc', ['physician']), {})))).toBe('allowed');
    expect(await refusal(() => deidStep(context(deps, user('po', ['privacy_officer']), {})))).toMatchObject({ code: 'permission_denied' });
    expect(await refusal(() => deidStep(context(deps, user('sched', ['scheduler']), {})))).toMatchObject({ code: 'permission_denied' });
  });

  it('refuses a malformed break-glass header before looking anything up', async () => {
    const deps = await setup();
    expect(await refusal(() => authorize(context(deps, user('doc', ['physician']), { 'x-phigate-patient': 'Patient/p2', 'x-phigate-purpose': 'ETREAT', 'x-phigate-break-glass': 'curiosity:no' })))).toMatchObject({ code: 'invalid_header' });
  });
});
