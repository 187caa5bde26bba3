// SPDX-License-Identifier: Apache-2.0
// The protect step with the real detection engine, a memory token vault and the in-memory
// registry: the form each route ends in, the patient's own identifiers, pseudonymisation only on
// PHI-cleared routes, and refusals before anything leaves.
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../auth/principal.js';
import { configSchema, type PhigateConfig } from '../../config/schema.js';
import { createDeidEngine } from '../../deid/detect.js';
import { createDeidentifier } from '../../deid/deidentify.js';
import { createMemoryTokenVault } from '../../deid/token-vault.js';
import { deidPolicies } from '../../deid/transforms/apply.js';
import type { KnownPhi } from '../../deid/types.js';
import { isGatewayError } from '../../kernel/errors.js';
import type { Provider } from '../../providers/provider.js';
import type { ChatRequest } from '../../providers/types.js';
import type { LiveUseCase } from '../../registry/registry-view.js';
import { createMemoryRegistry } from '../../registry/testing/memory-registry.js';
import { adminSpec, sampleVendor } from '../../registry/testing/registry-fixtures.js';
import { useCaseSpecSchema } from '../../registry/use-case-spec.js';
import type { SensitiveCategory } from '../../registry/use-case-spec.js';
import type { GatewayDeps, PipelineContext, RouteTarget } from './context.js';
import { protect } from './protect.js';

const engine = createDeidEngine({ language: 'en' });
const note = 'Mr. John Smith (MRN 84736251) was seen on 03/04/2021; chart ZX-4471.';

function setup(deidPolicy: 'tokens' | 'surrogates' = 'tokens') {
  const config: PhigateConfig = configSchema.parse({
    deid: { policy: deidPolicy },
    endpoints: [
      { id: 'covered', kind: 'openai', apiKey: 'env:K', vendor: 'acme-ai', service: 'acme-chat', region: 'us-east-1', models: [{ name: 'm' }], fallbacks: ['uncovered', 'local'] },
      { id: 'uncovered', kind: 'openai', apiKey: 'env:K', models: [{ name: 'm' }] },
      { id: 'local', kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', selfHosted: true, models: [{ name: 'm' }] },
    ],
  });
  const vault = createMemoryTokenVault();
  const deidentifier = createDeidentifier({ detector: engine, policy: deidPolicies[deidPolicy], vault, key: 'k'.repeat(32) });
  const registry = createMemoryRegistry({ vendors: [sampleVendor()] });
  const deps = { config, clock: { now: () => Date.parse('2026-06-01T00:00:00Z') }, keyedHash: (v: string, p: string) => `${p}:${v.length}`, deid: { deidentifier, vault }, registry } as unknown as GatewayDeps;
  const targets: RouteTarget[] = config.endpoints.map((endpoint) => ({ endpoint, provider: { id: endpoint.id } as Provider, upstreamModel: 'm' }));
  return { deps, targets, registry };
}

const doctor: Principal = { userId: 'doc', kind: 'user', roles: ['physician'], authMethod: 'api_key', useCases: [] };

function context(
  deps: GatewayDeps,
  targets: readonly RouteTarget[],
  options: { request?: ChatRequest; useCase?: LiveUseCase; sensitivity?: SensitiveCategory[]; patientPhi?: KnownPhi; only?: string[] } = {},
): PipelineContext {
  return {
    deps,
    eventType: 'chat.completion',
    operation: 'chat',
    principal: doctor,
    request: options.request ?? { model: 'm', user: 'u-77', messages: [{ role: 'user', content: note, name: 'John' }] },
    targets: options.only ? targets.filter((t) => options.only?.includes(t.endpoint.id)) : targets,
    ...(options.useCase ? { useCase: options.useCase } : {}),
    ...(options.sensitivity ? { sensitivity: options.sensitivity } : {}),
    ...(options.patientPhi ? { patientPhi: options.patientPhi } : {}),
    headers: {},
    meta: { requestId: 'r1', receivedAt: 0, startedNs: 0n, clientIp: undefined, userAgent: undefined, signal: new AbortController().signal, header: () => undefined, readBody: async () => '' },
  } as PipelineContext;
}

const live = (spec: Record<string, unknown>): LiveUseCase => ({ id: 'uc', version: 1, spec: useCaseSpecSchema.parse(adminSpec({ roles: ['physician'], models: [{ name: 'm' }], ...spec })) });
const sent = (ctx: PipelineContext): string => JSON.stringify(ctx.request);

describe('protect', () => {
  it('without a use case: a BAA-covered endpoint gets the payload as sent, with the categories found recorded', async () => {
    const { deps, targets } = setup();
    const ctx = context(deps, targets);
    await protect(ctx);
    expect(ctx.form).toBe('raw');
    expect(ctx.targets?.map((t) => t.endpoint.id)).toEqual(['covered', 'local']);
    expect(sent(ctx)).toContain('John Smith');
    expect(ctx.phiFound).toMatchObject({ NAME: 1, MRN: 1, DATE: 1 });
  });

  it('without a use case: an endpoint no BAA covers gets typed tokens, names and user fields dropped', async () => {
    const { deps, targets } = setup();
    const ctx = context(deps, targets, { only: ['uncovered'] });
    await protect(ctx);
    expect(ctx.form).toBe('deidentified');
    expect(sent(ctx)).not.toMatch(/John|Smith|84736251|03\/04\/2021|u-77/);
    expect(sent(ctx)).toContain('[NAME_1]');
  });

  it('a phi_free use case always ends in Safe Harbor form, even for a covered endpoint; nothing found is phi_free', async () => {
    const { deps, targets } = setup();
    const ctx = context(deps, targets, { useCase: live({ deploymentPattern: 'phi_free' }) });
    await protect(ctx);
    expect([ctx.form, ctx.targets?.[0]?.endpoint.id]).toEqual(['deidentified', 'covered']);
    expect(sent(ctx)).not.toContain('Smith');
    const clean = context(deps, targets, { useCase: live({ deploymentPattern: 'phi_free' }), request: { model: 'm', messages: [{ role: 'user', content: 'What is the ICD-10 code for type 2 diabetes?' }] } });
    await protect(clean);
    expect(clean.form).toBe('phi_free');
  });

  it('the patient\'s own identifiers from gathered context are always found', async () => {
    const { deps, targets } = setup();
    const ctx = context(deps, targets, { only: ['uncovered'], patientPhi: { identifiers: [{ value: 'ZX-4471', type: 'MRN' }] } });
    await protect(ctx);
    expect(sent(ctx)).not.toContain('ZX-4471');
  });

  it('a pseudonymising policy gives PHI-cleared routes surrogates and everything else tokens', async () => {
    const { deps, targets } = setup('surrogates');
    const covered = context(deps, targets, { useCase: live({ deploymentPattern: 'baa_covered' }) });
    await protect(covered);
    expect(covered.form).toBe('pseudonymised');
    expect(sent(covered)).not.toMatch(/John Smith|\[NAME_1\]/);
    const uncovered = context(deps, targets, { only: ['uncovered'] });
    await protect(uncovered);
    expect(uncovered.form).toBe('deidentified');
    expect(sent(uncovered)).toContain('[NAME_1]');
  });

  it('reads the registry once when a clearance depends on it, and not at all for self-hosted endpoints alone', async () => {
    const { deps, targets, registry } = setup();
    await protect(context(deps, targets, { only: ['local'] }));
    expect(registry.snapshots).toBe(0);
    const ctx = context(deps, targets);
    await protect(ctx);
    expect(registry.snapshots).toBe(1);
    expect(ctx.registrySnapshot?.revision).toBe(1);
  });

  it('refuses before anything leaves: sensitive data on a cloud route, a BAA revoked, images that cannot be de-identified', async () => {
    const { deps, targets, registry } = setup();
    const refusal = async (ctx: PipelineContext) => protect(ctx).then(() => 'allowed', (err: unknown) => (isGatewayError(err) ? [err.code, err.detail?.reason] : err));
    expect(await refusal(context(deps, targets, { useCase: live({ sensitiveCategories: ['psychotherapy_notes'], deploymentPattern: 'baa_covered' }), sensitivity: ['psychotherapy_notes'], only: ['covered', 'uncovered'] }))).toEqual([
      'sensitive_data_requires_self_hosted', 'psychotherapy_notes',
    ]);
    registry.setVendor(sampleVendor({ baa: { status: 'terminated' } }));
    expect(await refusal(context(deps, targets, { useCase: live({ deploymentPattern: 'baa_covered' }), only: ['covered'] }))).toEqual(['baa_not_in_force', 'baa_terminated']);
    const image: ChatRequest = { model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }] };
    expect(await refusal(context(deps, targets, { request: image, only: ['uncovered'] }))).toEqual(['phi_egress_denied', 'non_text_content']);
  });
});
