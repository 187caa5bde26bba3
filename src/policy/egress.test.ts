// SPDX-License-Identifier: Apache-2.0
// The one door: the BAA as of the call, sensitivity, and the second detection pass over
// de-identified payloads, with the real detection engine and the in-memory registry.
import { describe, expect, it } from 'vitest';
import { endpointSchema, type EndpointConfig } from '../config/schema.js';
import { createDeidEngine } from '../deid/detect.js';
import { createDeidentifier } from '../deid/deidentify.js';
import { createMemoryTokenVault } from '../deid/token-vault.js';
import { deidPolicies } from '../deid/transforms/apply.js';
import { isGatewayError } from '../kernel/errors.js';
import type { ChatRequest } from '../providers/types.js';
import { endpointClearance } from '../registry/endpoints.js';
import { createMemoryRegistry } from '../registry/testing/memory-registry.js';
import { sampleVendor } from '../registry/testing/registry-fixtures.js';
import { authorizeEgress, checkDestination, createResidualDetector, payloadTexts, residualSpans, type EgressContext } from './egress.js';

const engine = createDeidEngine({ language: 'en' });
const vault = createMemoryTokenVault();
const deidentifier = createDeidentifier({ detector: engine, policy: deidPolicies.tokens, vault });
const detector = createResidualDetector(deidentifier);
const now = Date.parse('2026-06-01T12:00:00Z');

const endpoint = (over: Record<string, unknown> = {}): EndpointConfig =>
  endpointSchema.parse({ id: 'acme', kind: 'openai', apiKey: 'env:K', vendor: 'acme-ai', service: 'acme-chat', region: 'us-east-1', models: [{ name: 'm' }], ...over });
const chat = (content: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({ model: 'm', messages: [{ role: 'user', content }], ...extra });

async function contextWith(vendor: Record<string, unknown> = {}, sensitivity: EgressContext['sensitivity'] = []): Promise<EgressContext> {
  const registry = createMemoryRegistry({ vendors: [sampleVendor(vendor)] });
  return { snapshot: await registry.snapshot(), now, sensitivity, hivRequiresSelfHosted: true, detector };
}

async function refusal(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
    return 'allowed';
  } catch (err) {
    return isGatewayError(err) ? { code: err.code, reason: err.detail?.reason, categories: err.detail?.categories } : err;
  }
}

describe('authorizeEgress', () => {
  it('lets raw PHI reach an endpoint whose vendor BAA covers its service today, within data residency, and says so', async () => {
    const approval = await authorizeEgress(endpoint(), chat('Jane Doe, MRN 84736251'), 'raw', await contextWith());
    expect(approval.outbound).toMatchObject({ endpointId: 'acme', form: 'raw' });
    expect(approval.clearance).toMatchObject({ cleared: true, reason: 'covered', vendorId: 'acme-ai', baaExpiry: '2027-12-31', coverage: { covered: true, reason: 'covered' } });
  });

  it('refuses raw and pseudonymised PHI once the BAA lapses, is terminated, or never covered the endpoint', async () => {
    const payload = chat('Jane Doe');
    const terminated = await contextWith({ baa: { status: 'terminated', coveredServices: ['acme-chat'] } });
    expect(await refusal(async () => authorizeEgress(endpoint(), payload, 'raw', terminated))).toEqual({ code: 'baa_not_in_force', reason: 'baa_terminated', categories: undefined });
    const expired = await contextWith({ baa: { status: 'signed', effectiveDate: '2024-01-01', expiryDate: '2026-05-31', coveredServices: ['acme-chat'] } });
    expect(await refusal(async () => authorizeEgress(endpoint(), payload, 'pseudonymised', expired))).toMatchObject({ code: 'baa_not_in_force', reason: 'baa_expired' });
    expect(await refusal(async () => authorizeEgress(endpoint({ service: 'acme-consumer' }), payload, 'raw', await contextWith()))).toMatchObject({ code: 'phi_egress_denied', reason: 'never_eligible' });
    expect(await refusal(async () => authorizeEgress(endpoint({ region: 'eu-west-1' }), payload, 'raw', await contextWith()))).toMatchObject({ code: 'phi_egress_denied', reason: 'region_outside_residency' });
    expect(await refusal(async () => authorizeEgress(endpoint({ vendor: undefined, service: undefined }), payload, 'raw', await contextWith()))).toMatchObject({ code: 'phi_egress_denied', reason: 'no_vendor' });
  });

  it('sends sensitive categories only to self-hosted endpoints, whatever the form', async () => {
    const ctx = await contextWith({}, ['psychotherapy_notes']);
    expect(await refusal(async () => authorizeEgress(endpoint(), chat('Session notes.'), 'deidentified', ctx))).toMatchObject({ code: 'phi_egress_denied', reason: 'sensitive_requires_self_hosted' });
    const local = endpointSchema.parse({ id: 'vllm', kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:8000/v1', selfHosted: true, models: [{ name: 'm' }] });
    expect(await refusal(async () => authorizeEgress(local, chat('Session notes.'), 'raw', ctx))).toBe('allowed');
    // HIV counts only while the option says state law requires it.
    const hiv = { ...(await contextWith({}, ['hiv'])), hivRequiresSelfHosted: false };
    expect(await refusal(async () => authorizeEgress(endpoint(), chat('HIV viral load undetectable.'), 'raw', hiv))).toBe('allowed');
  });

  it('runs a second detection pass over de-identified payloads and fails closed on anything left', async () => {
    const ctx = await contextWith({ baa: { status: 'not_signed' } });
    const clean = await deidentifier.deidentify('Patient John Smith (MRN 84736251) seen 03/04/2021 at 617-555-0123.', { conversationId: 'c1' });
    expect(clean.text).toContain('[NAME_1]');
    expect(await refusal(async () => authorizeEgress(endpoint(), chat(clean.text), 'deidentified', ctx))).toBe('allowed');
    expect(await refusal(async () => authorizeEgress(endpoint(), chat('Patient John Smith, MRN 84736251.'), 'deidentified', ctx))).toEqual({
      code: 'phi_egress_denied', reason: 'residual_phi', categories: ['MRN', 'NAME'],
    });
    // Every text field is scanned: tool arguments, tool definitions, embeddings input.
    const withTool: ChatRequest = {
      model: 'm',
      messages: [{ role: 'user', content: '[NAME_1] needs a refill.' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'refill', arguments: '{"ssn":"123-45-6789"}' } }] }],
    };
    expect(await refusal(async () => authorizeEgress(endpoint(), withTool, 'deidentified', ctx))).toMatchObject({ code: 'phi_egress_denied', reason: 'residual_phi', categories: ['SSN'] });
    const tools: ChatRequest = chat('[NAME_1] asks.', { tools: [{ type: 'function', function: { name: 'lookup', description: 'Call Dr. Maria Gonzalez at 617-555-0199' } }] });
    expect(await refusal(async () => authorizeEgress(endpoint(), tools, 'phi_free', ctx))).toMatchObject({ reason: 'residual_phi' });
    expect(await refusal(async () => authorizeEgress(endpoint(), { model: 'm', input: ['chest pain', 'email jane.doe@example.org'] }, 'deidentified', ctx))).toMatchObject({ categories: ['EMAIL'] });
  });

  it('finds the patient\'s own identifiers in the second pass even where the generic detectors would not', async () => {
    const ctx = { ...(await contextWith({ baa: { status: 'not_signed' } })), knownPhi: { identifiers: [{ value: 'ZX-4471', type: 'MRN' as const }] } };
    expect(await refusal(async () => authorizeEgress(endpoint(), chat('Chart ZX-4471 reviewed.'), 'deidentified', ctx))).toMatchObject({ reason: 'residual_phi', categories: ['MRN'] });
  });

  it('reads the registry it is given: a BAA revoked between two calls stops the second', async () => {
    const registry = createMemoryRegistry({ vendors: [sampleVendor()] });
    const base = { now, sensitivity: [], hivRequiresSelfHosted: true, detector };
    await authorizeEgress(endpoint(), chat('Jane Doe'), 'raw', { ...base, snapshot: await registry.snapshot() });
    registry.setVendor(sampleVendor({ baa: { status: 'terminated' } }));
    expect(await refusal(async () => authorizeEgress(endpoint(), chat('Jane Doe'), 'raw', { ...base, snapshot: await registry.snapshot() }))).toMatchObject({ code: 'baa_not_in_force', reason: 'baa_terminated' });
  });
});

describe('residual spans', () => {
  it('sets phigate\'s own markers aside, and an article a context rule caught beside one', () => {
    const text = 'Began working at The [ORGANIZATION_1] Hospital; seen by [NAME_2], [REDACTED] and [DATE].';
    const spans = engine.detect(text);
    expect(residualSpans(text, spans)).toEqual([]);
    const leaky = '[NAME_1] Smith called.';
    expect(residualSpans(leaky, [{ start: 0, end: 14, type: 'NAME', detector: 'x', confidence: 1 }])).toHaveLength(1);
    // An unknown category in brackets is not a marker.
    expect(residualSpans('[SECRET_1]', [{ start: 1, end: 9, type: 'ID', detector: 'x', confidence: 1 }])).toHaveLength(1);
  });

  it('is nearly idempotent over the shared clinical notes: tokens, redaction and generalisation leave nothing a second pass flags', async () => {
    // Measured over 400 notes each of three data sets (see the README): one article, set aside above.
    for (const policy of ['tokens', 'redact', 'generalise'] as const) {
      const d = createDeidentifier({ detector: engine, policy: deidPolicies[policy], vault, key: 'k'.repeat(32) });
      const note = 'Mr. Robert Jones, 67, DOB 04/12/1958, MRN 55512345, lives at 12 Oak Street, Boston MA 02114; son Tom (617-555-0101) visits. Seen at Massachusetts General Hospital on 3/4/2021.';
      const out = await d.deidentify(note, { conversationId: `c-${policy}` });
      expect(residualSpans(out.text, engine.detect(out.text)), policy).toEqual([]);
    }
  });
});

describe('destinations and payload text', () => {
  it('checks the form against the clearance', async () => {
    const snapshot = await createMemoryRegistry({ vendors: [sampleVendor()] }).snapshot();
    const covered = endpointClearance(endpoint(), snapshot, now);
    const facts = { clearance: covered, sensitivity: [], hivRequiresSelfHosted: true };
    for (const form of ['raw', 'pseudonymised', 'deidentified', 'phi_free'] as const) expect(checkDestination(endpoint(), form, facts).allowed).toBe(true);
    const none = endpointClearance(endpoint({ vendor: undefined }), snapshot, now);
    expect(checkDestination(endpoint(), 'raw', { ...facts, clearance: none })).toEqual({ allowed: false, code: 'phi_egress_denied', reason: 'no_vendor' });
    expect(checkDestination(endpoint(), 'phi_free', { ...facts, clearance: none })).toEqual({ allowed: true });
  });

  it('lists every text field the vendor receives', () => {
    const texts = payloadTexts({
      model: 'm',
      user: 'u-1',
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'sys' }] },
        { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: 'https://x/y.png' } }], name: 'nm' },
        { role: 'assistant', content: 'a', refusal: 'r', tool_calls: [{ id: 'i', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'i', content: 'result' },
      ],
      tools: [{ type: 'function', function: { name: 't', description: 'd', parameters: { type: 'object', properties: { x: { description: 'deep' } } } } }],
      response_format: { type: 'json_schema', json_schema: { name: 's', description: 'sd', schema: { enum: ['e1'] } } },
      stop: ['s1'],
    });
    expect(texts).toEqual(['u-1', 'sys', 'nm', 'hi', 'a', 'r', 'f', '{}', 'result', 't', 'd', 'object', 'deep', 'sd', 'e1', 's1']);
  });
});
