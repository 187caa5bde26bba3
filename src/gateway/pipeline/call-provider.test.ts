// SPDX-License-Identifier: Apache-2.0
// The provider step at the door: the registry is read again before every vendor call, so a BAA
// revoked or a use case suspended after routing stops the call (fallbacks included) before the
// disclosure record and before any byte leaves; the disclosure record names the BAA approved on.
import { describe, expect, it } from 'vitest';
import { createMemoryAuditSink } from '../../audit/testing/memory-sink.js';
import { createAuditWriter } from '../../audit/writer.js';
import type { Principal } from '../../auth/principal.js';
import { configSchema } from '../../config/schema.js';
import { createDeidEngine } from '../../deid/detect.js';
import { createDeidentifier } from '../../deid/deidentify.js';
import { createMemoryTokenVault } from '../../deid/token-vault.js';
import { deidPolicies } from '../../deid/transforms/apply.js';
import { GatewayError, isGatewayError } from '../../kernel/errors.js';
import type { Outbound } from '../../policy/outbound.js';
import type { Provider } from '../../providers/provider.js';
import type { ChatRequest, ChatResult } from '../../providers/types.js';
import { createMemoryRegistry } from '../../registry/testing/memory-registry.js';
import { adminSpec, sampleVendor } from '../../registry/testing/registry-fixtures.js';
import { createMetrics } from '../../telemetry/metrics.js';
import { createLogger } from '../../telemetry/logger.js';
import { callProvider } from './call-provider.js';
import type { GatewayDeps, PipelineContext, RouteTarget } from './context.js';

/** A provider double that records what it was handed and answers or fails as told. */
function recordingProvider(id: string, fail?: GatewayError) {
  const calls: Outbound<ChatRequest>[] = [];
  const provider = {
    id,
    kind: 'openai',
    async chat(outbound: Outbound<ChatRequest>): Promise<ChatResult> {
      calls.push(outbound);
      if (fail) throw fail;
      return { id: 'c', object: 'chat.completion', created: 0, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop', logprobs: null }] };
    },
  } as unknown as Provider;
  return { provider, calls };
}

async function setup() {
  const config = configSchema.parse({
    endpoints: [
      { id: 'primary', kind: 'openai', apiKey: 'env:K', vendor: 'acme-ai', service: 'acme-chat', region: 'us-east-1', models: [{ name: 'm' }], fallbacks: ['backup'] },
      { id: 'backup', kind: 'openai', apiKey: 'env:K', vendor: 'acme-ai', service: 'acme-chat', region: 'us-east-1', models: [{ name: 'm' }] },
    ],
  });
  const sink = createMemoryAuditSink();
  const audit = await createAuditWriter({ sink, writeTimeoutMs: 2_000 });
  const registry = createMemoryRegistry({ vendors: [sampleVendor()], useCases: [{ id: 'uc', spec: adminSpec({ deploymentPattern: 'baa_covered', roles: ['physician'], models: [{ name: 'm' }] }) }] });
  const vault = createMemoryTokenVault();
  const deps = {
    config,
    audit,
    registry,
    metrics: createMetrics(),
    logger: createLogger({ level: 'silent' }),
    clock: { now: () => Date.parse('2026-06-01T00:00:00Z') },
    keyedHash: (v: string, p: string) => `${p}:${v.length}`,
    instanceId: 'test',
    deid: { deidentifier: createDeidentifier({ detector: createDeidEngine(), policy: deidPolicies.tokens, vault }), vault },
  } as unknown as GatewayDeps;
  return { deps, sink, registry, config };
}

const doctor: Principal = { userId: 'doc', kind: 'user', roles: ['physician'], authMethod: 'api_key', useCases: [] };

async function contextFor(deps: GatewayDeps, targets: RouteTarget[], form: 'raw' | 'deidentified', content: string): Promise<PipelineContext> {
  const snapshot = await deps.registry.snapshot();
  return {
    deps,
    eventType: 'chat.completion',
    operation: 'chat',
    principal: doctor,
    headers: { useCase: 'uc' },
    useCase: snapshot.liveUseCase('uc'),
    request: { model: 'm', messages: [{ role: 'user', content }] },
    targets,
    form,
    meta: { requestId: 'r1', receivedAt: Date.now(), startedNs: 0n, clientIp: undefined, userAgent: undefined, signal: new AbortController().signal, header: () => undefined, readBody: async () => '' },
  } as PipelineContext;
}

const codeOf = (err: unknown) => (isGatewayError(err) ? [err.code, err.detail?.reason] : err);

describe('callProvider at the door', () => {
  it('records the BAA it approved on in the disclosure record, then calls', async () => {
    const { deps, sink, config } = await setup();
    const primary = recordingProvider('primary');
    const ctx = await contextFor(deps, [{ endpoint: config.endpoints[0]!, provider: primary.provider, upstreamModel: 'm-2025' }], 'raw', 'Jane Doe');
    await callProvider(ctx);
    expect(primary.calls.map((c) => [c.endpointId, c.form, c.payload.model])).toEqual([['primary', 'raw', 'm-2025']]);
    const disclosure = sink.rows.find((row) => row.event.stage === 'disclosure')?.event;
    expect(disclosure).toMatchObject({ endpointId: 'primary', vendor: 'acme-ai', form: 'raw', detail: { clearance: 'covered', baaCoverage: 'covered', vendorId: 'acme-ai', baaExpiry: '2027-12-31', phiCleared: true } });
  });

  it('a BAA terminated after routing stops the fallback too: no disclosure, no call', async () => {
    const { deps, sink, registry, config } = await setup();
    const primary = recordingProvider('primary', new GatewayError('provider_unavailable'));
    const backup = recordingProvider('backup');
    const ctx = await contextFor(
      deps,
      [
        { endpoint: config.endpoints[0]!, provider: primary.provider, upstreamModel: 'm' },
        { endpoint: config.endpoints[1]!, provider: backup.provider, upstreamModel: 'm' },
      ],
      'raw',
      'Jane Doe',
    );
    // The primary fails; while the gateway moves on, an administrator terminates the BAA.
    (primary.provider as unknown as { chat: (o: Outbound<ChatRequest>) => Promise<ChatResult> }).chat = async (outbound) => {
      primary.calls.push(outbound);
      registry.setVendor(sampleVendor({ baa: { status: 'terminated' } }));
      throw new GatewayError('provider_unavailable');
    };
    expect(await callProvider(ctx).then(() => 'allowed', codeOf)).toEqual(['baa_not_in_force', 'baa_terminated']);
    expect(primary.calls).toHaveLength(1);
    expect(backup.calls).toHaveLength(0);
    expect(sink.rows.filter((row) => row.event.stage === 'disclosure').map((row) => row.event.endpointId)).toEqual(['primary']);
  });

  it('a use case suspended after routing stops the call before it leaves', async () => {
    const { deps, registry, config } = await setup();
    const primary = recordingProvider('primary');
    const ctx = await contextFor(deps, [{ endpoint: config.endpoints[0]!, provider: primary.provider, upstreamModel: 'm' }], 'raw', 'Jane Doe');
    registry.setUseCaseState('uc', 'suspended');
    expect(await callProvider(ctx).then(() => 'allowed', codeOf)).toEqual(['use_case_not_approved', 'changed_during_request']);
    expect(primary.calls).toHaveLength(0);
  });

  it('fails closed when a de-identified payload still carries an identifier', async () => {
    const { deps, sink, config } = await setup();
    const primary = recordingProvider('primary');
    const ctx = await contextFor(deps, [{ endpoint: config.endpoints[0]!, provider: primary.provider, upstreamModel: 'm' }], 'deidentified', 'Call 617-555-0123 about [NAME_1].');
    expect(await callProvider(ctx).then(() => 'allowed', codeOf)).toEqual(['phi_egress_denied', 'residual_phi']);
    expect(primary.calls).toHaveLength(0);
    expect(sink.rows).toHaveLength(0);
  });
});
