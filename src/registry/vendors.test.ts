// SPDX-License-Identifier: Apache-2.0
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { endpointSchema } from '../config/schema.js';
import { isGatewayError } from '../kernel/errors.js';
import { createVendorFixture, type VendorFixture } from './testing/vendor-fixture.js';
import { catalogueVendors } from './vendor-catalogue.js';
import { baaCoverage } from './baa.js';
import { expiringBaas, vendorEventTypes } from './vendors.js';

let f: VendorFixture;
const sha = 'AB'.repeat(32);
const signature = (overrides: Record<string, unknown> = {}) => ({
  effectiveDate: '2026-02-01',
  expiryDate: '2027-01-31',
  documentRef: 'contracts/openai-baa-2026.pdf',
  documentSha256: sha,
  coveredServices: ['api-enterprise'],
  zeroDataRetention: true,
  noTrainingOnCustomerData: true,
  dataResidency: ['us'],
  ...overrides,
});

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  if (err !== undefined && !isGatewayError(err)) throw err;
  return err?.code;
}

const endpoints = [
  { id: 'oai-us', kind: 'openai', apiKey: 'env:OPENAI_KEY', vendor: 'openai', service: 'api-enterprise', region: 'us-east-1', models: [{ name: 'gpt-4o' }] },
  { id: 'oai-eu', kind: 'openai', apiKey: 'env:OPENAI_KEY', vendor: 'openai', service: 'api-enterprise', region: 'eu-west-1', models: [{ name: 'gpt-4o-eu' }] },
  { id: 'oai-noregion', kind: 'openai', apiKey: 'env:OPENAI_KEY', vendor: 'openai', service: 'api-enterprise', models: [{ name: 'gpt-x' }] },
  { id: 'oai-typo', kind: 'openai', apiKey: 'env:OPENAI_KEY', vendor: 'openai', service: 'api-entreprise', models: [{ name: 'gpt-y' }] },
  { id: 'bedrock-1', kind: 'bedrock', region: 'us-west-2', accessKeyId: 'env:A', secretAccessKey: 'env:B', vendor: 'amazon', service: 'bedrock', models: [{ name: 'claude' }] },
  { id: 'local', kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:8000/v1', selfHosted: true, models: [{ name: 'llama' }] },
].map((e) => endpointSchema.parse(e));

beforeEach(async () => {
  f = await createVendorFixture({ now: '2026-03-01T12:00:00Z', endpoints });
  await f.vendors.ensureCatalogue(f.admin);
});
afterEach(() => f.close());

describe('the catalogue', () => {
  it('seeds every entry once, unsigned, and never overwrites a recorded BAA', async () => {
    const list = await f.vendors.list(f.admin);
    expect(list.map((r) => r.vendor.id)).toEqual(catalogueVendors.map((v) => v.id).sort());
    expect(list.every((r) => r.vendor.catalogue && r.vendor.baa.status === 'not_signed' && r.version === 1)).toBe(true);
    await f.vendors.signBaa(f.admin, 'openai', signature());
    expect(await f.vendors.ensureCatalogue(f.admin)).toEqual([]);
    expect((await f.vendors.get(f.admin, 'openai')).vendor.baa.status).toBe('signed');
    const seeds = (await f.events()).filter((e) => e.type === vendorEventTypes.seed);
    expect(seeds).toHaveLength(1);
    expect((seeds[0]?.change as { inserted: string[] }).inserted).toHaveLength(catalogueVendors.length);
  });

  it('holds one entry per legal entity, with consumer apps never eligible and no-BAA services marked', () => {
    const eligibility = Object.fromEntries(catalogueVendors.flatMap((v) => v.services.map((s) => [`${v.id}/${s.id}`, s.eligibility])));
    expect(eligibility).toMatchObject({
      'microsoft/azure-openai': 'baa_available',
      'google/vertex-ai': 'baa_available',
      'google/cloud-healthcare-api': 'baa_available',
      'google/speech-to-text': 'baa_available',
      'amazon/bedrock': 'baa_available',
      'anthropic/api-enterprise': 'baa_available',
      'anthropic/claude-consumer': 'never',
      'openai/api-enterprise': 'baa_available',
      'openai/chatgpt-consumer': 'never',
      'deepgram/speech-to-text': 'baa_available',
      'assemblyai/speech-to-text': 'none',
      'retell/voice-agents': 'baa_available',
      'vapi/voice-agents': 'none',
      'twilio/messaging': 'baa_available',
      'pinecone/vector-database': 'baa_available',
      'weaviate/weaviate-cloud': 'baa_available',
      'datadog/observability': 'baa_available',
      'splunk/splunk-cloud': 'baa_available',
      'new-relic/observability': 'baa_available',
    });
    expect(new Set(catalogueVendors.map((v) => v.legalName)).size).toBe(catalogueVendors.length);
    const twilio = catalogueVendors.find((v) => v.id === 'twilio');
    expect(twilio?.services.every((s) => /HIPAA-eligible/.test(s.notes ?? '') && /configured for HIPAA/.test(s.notes ?? ''))).toBe(true);
    // Nothing shipped is covered: PHI needs the deployer's own signature.
    for (const v of catalogueVendors) for (const s of v.services) expect(baaCoverage(v, s.id, Date.now()).covered).toBe(false);
  });
});

describe('recording a BAA', () => {
  it('records the signature with the actor and time, covers the service, and bumps the revision', async () => {
    const before = await f.repo.revision();
    const saved = await f.vendors.signBaa(f.as('privacy_officer'), 'openai', signature());
    expect(saved.version).toBe(2);
    expect(saved.vendor.baa).toEqual({
      status: 'signed',
      effectiveDate: '2026-02-01',
      expiryDate: '2027-01-31',
      documentRef: 'contracts/openai-baa-2026.pdf',
      documentSha256: 'ab'.repeat(32),
      coveredServices: ['api-enterprise'],
      zeroDataRetention: true,
      noTrainingOnCustomerData: true,
      dataResidency: ['us'],
      recordedBy: 'u-privacy_officer',
      recordedAt: '2026-03-01T12:00:00.000Z',
    });
    expect(await f.repo.revision()).toBe(before + 1);
    expect(baaCoverage(saved.vendor, 'api-enterprise', f.clock.now())).toMatchObject({ covered: true });
    expect(baaCoverage(saved.vendor, 'chatgpt-consumer', f.clock.now()).reason).toBe('never_eligible');

    const event = (await f.events()).find((e) => e.type === vendorEventTypes.baaSign);
    expect(event).toMatchObject({
      outcome: 'success',
      vendor: 'openai',
      subject: { kind: 'vendor', id: 'openai' },
      actor: { userId: 'u-privacy_officer' },
      change: { statusBefore: 'not_signed', status: 'signed', coveredServices: ['api-enterprise'], expiryDate: '2027-01-31', documentSha256: 'ab'.repeat(32), version: 2 },
    });
    // The document reference is the deployer's own text: it stays out of the audit record.
    expect(JSON.stringify(event)).not.toContain('contracts/');
  });

  it('refuses impossible records with typed errors and changes nothing', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [signature({ coveredServices: ['chatgpt-consumer'] }), 'vendor_service_not_eligible'],
      [signature({ coveredServices: ['api-enterprise', 'nope'] }), 'vendor_service_unknown'],
      [signature({ expiryDate: '2026-01-31' }), 'baa_dates_invalid'],
      [signature({ effectiveDate: '2025-01-01', expiryDate: '2026-02-28' }), 'baa_dates_invalid'],
      [signature({ documentSha256: 'xyz' }), 'invalid_request'],
      [signature({ coveredServices: [] }), 'invalid_request'],
      [signature({ effectiveDate: '2026-02-30' }), 'invalid_request'],
      [{ ...signature(), status: 'signed' }, 'invalid_request'],
    ];
    for (const [input, code] of cases) expect({ input, code: await codeOf(f.vendors.signBaa(f.admin, 'openai', input)) }).toEqual({ input, code });
    expect(await codeOf(f.vendors.signBaa(f.admin, 'assemblyai', signature({ coveredServices: ['speech-to-text'] })))).toBe('vendor_service_not_eligible');
    expect(await codeOf(f.vendors.signBaa(f.admin, 'nobody', signature()))).toBe('vendor_not_found');
    const openai = await f.repo.get('openai');
    expect(openai?.version).toBe(1);
    expect(openai?.vendor.baa.status).toBe('not_signed');
  });

  it('accepts a BAA that expires today (in force through the day) and an evergreen one', async () => {
    const today = await f.vendors.signBaa(f.admin, 'openai', signature({ expiryDate: '2026-03-01' }));
    expect(baaCoverage(today.vendor, 'api-enterprise', f.clock.now())).toMatchObject({ covered: true, daysToExpiry: 0 });
    const evergreen = await f.vendors.signBaa(f.admin, 'anthropic', signature({ expiryDate: undefined }));
    expect(evergreen.vendor.baa.expiryDate).toBeUndefined();
  });

  it('checks permissions by exact name: readers read, only vendor managers change', async () => {
    expect((await f.vendors.list(f.as('cmio'))).length).toBe(catalogueVendors.length);
    expect(await codeOf(f.vendors.list(f.as('physician')))).toBe('permission_denied');
    expect(await codeOf(f.vendors.signBaa(f.as('security_officer'), 'openai', signature()))).toBe('permission_denied');
    expect(await codeOf(f.vendors.signBaa(f.as('cmio'), 'openai', signature()))).toBe('permission_denied');
    expect((await f.vendors.signBaa(f.as('privacy_officer'), 'openai', signature())).version).toBe(2);
  });

  it('refuses a write based on a stale version', async () => {
    const read = await f.vendors.get(f.admin, 'openai');
    await f.vendors.signBaa(f.admin, 'openai', signature(), { version: read.version });
    expect(await codeOf(f.vendors.signBaa(f.admin, 'openai', signature({ expiryDate: '2028-01-31' }), { version: read.version }))).toBe('vendor_version_conflict');
    expect(await codeOf(f.vendors.signBaa(f.admin, 'openai', signature(), { version: 0 }))).toBe('invalid_request');
    expect((await f.repo.get('openai'))?.vendor.baa.expiryDate).toBe('2027-01-31');
  });
});

describe('amending and terminating', () => {
  beforeEach(async () => {
    await f.vendors.signBaa(f.admin, 'google', signature({ coveredServices: ['vertex-ai'] }));
  });

  it('amends named fields only, re-checks the merged record, and can make a BAA evergreen', async () => {
    f.clock.advance(86_400_000);
    const amended = await f.vendors.amendBaa(f.as('privacy_officer'), 'google', { coveredServices: ['vertex-ai', 'cloud-healthcare-api'], expiryDate: '2028-01-31' });
    expect(amended.vendor.baa).toMatchObject({ status: 'signed', coveredServices: ['vertex-ai', 'cloud-healthcare-api'], expiryDate: '2028-01-31', effectiveDate: '2026-02-01', zeroDataRetention: true, recordedAt: '2026-03-02T12:00:00.000Z' });
    expect((await f.vendors.amendBaa(f.admin, 'google', { expiryDate: null })).vendor.baa.expiryDate).toBeUndefined();
    expect(await codeOf(f.vendors.amendBaa(f.admin, 'google', { effectiveDate: '2030-01-01', expiryDate: '2029-01-01' }))).toBe('baa_dates_invalid');
    expect(await codeOf(f.vendors.amendBaa(f.admin, 'google', { coveredServices: ['gemini-app'] }))).toBe('vendor_service_unknown');
    expect(await codeOf(f.vendors.amendBaa(f.admin, 'google', {}))).toBe('invalid_request');
    expect(await codeOf(f.vendors.amendBaa(f.admin, 'openai', { expiryDate: '2028-01-31' }))).toBe('baa_not_signed');
    const amend = (await f.events()).filter((e) => e.type === vendorEventTypes.baaAmend);
    expect(amend.map((e) => (e.change as { fields: string[] }).fields)).toEqual([['expiryDate', 'coveredServices'], ['expiryDate']]);
  });

  it('terminates with a reason code; coverage ends at once and cannot be terminated twice', async () => {
    const done = await f.vendors.terminateBaa(f.admin, 'google', 'vendor_breach');
    expect(done.vendor.baa.status).toBe('terminated');
    expect(baaCoverage(done.vendor, 'vertex-ai', f.clock.now()).reason).toBe('baa_terminated');
    expect(await codeOf(f.vendors.terminateBaa(f.admin, 'google', 'contract_ended'))).toBe('baa_not_signed');
    expect(await codeOf(f.vendors.terminateBaa(f.admin, 'openai', 'contract_ended'))).toBe('baa_not_signed');
    expect(await codeOf(f.vendors.terminateBaa(f.admin, 'google', 'they were rude'))).toBe('invalid_request');
    const event = (await f.events()).find((e) => e.type === vendorEventTypes.baaTerminate);
    expect(event?.change).toEqual({ statusBefore: 'signed', status: 'terminated', reason: 'vendor_breach', terminatedOn: '2026-03-01', version: 3 });
    // A new signature after termination is a fresh BAA.
    expect((await f.vendors.signBaa(f.admin, 'google', signature({ coveredServices: ['vertex-ai'] }))).vendor.baa.status).toBe('signed');
  });
});

describe('subprocessors', () => {
  it('records subprocessors and their BAA status; an unsigned one blocks the services it serves', async () => {
    await f.vendors.signBaa(f.admin, 'retell', signature({ coveredServices: ['voice-agents'] }));
    const saved = await f.vendors.setSubprocessors(f.admin, 'retell', [
      { name: 'Carrier Co', purpose: 'telephony', services: ['voice-agents'], baa: { status: 'not_signed' } },
    ]);
    expect(baaCoverage(saved.vendor, 'voice-agents', f.clock.now()).reason).toBe('subprocessor_not_covered');
    const fixed = await f.vendors.setSubprocessors(f.admin, 'retell', [{ name: 'Carrier Co', services: ['voice-agents'], baa: { status: 'signed', expiryDate: '2026-12-31' } }]);
    expect(baaCoverage(fixed.vendor, 'voice-agents', f.clock.now()).covered).toBe(true);
    expect(await codeOf(f.vendors.setSubprocessors(f.admin, 'retell', [{ name: 'X', services: ['sms'] }]))).toBe('vendor_service_unknown');
    expect(await codeOf(f.vendors.setSubprocessors(f.admin, 'retell', [{ name: 'X' }, { name: 'x ' }]))).toBe('invalid_request');
    expect(await codeOf(f.vendors.setSubprocessors(f.admin, 'retell', [{ name: 'X', baa: { status: 'maybe' } }]))).toBe('invalid_request');
    const events = (await f.events()).filter((e) => e.type === vendorEventTypes.subprocessors);
    expect(events.map((e) => e.change)).toEqual([
      { countBefore: 0, count: 1, signed: 0, version: 3 },
      { countBefore: 1, count: 1, signed: 1, version: 4 },
    ]);
    expect(JSON.stringify(events)).not.toContain('Carrier Co');
  });
});

describe('custom vendors', () => {
  it('adds a vendor unsigned, and refuses taken or reserved ids and duplicate services', async () => {
    const input = { id: 'scribe-co', legalName: 'Scribe Co LLC', services: [{ id: 'ambient', name: 'Ambient scribe', category: 'transcription', eligibility: 'baa_available' }] };
    const created = await f.vendors.create(f.admin, input);
    expect(created.vendor).toMatchObject({ id: 'scribe-co', catalogue: false, baa: { status: 'not_signed', coveredServices: [] } });
    expect(await codeOf(f.vendors.create(f.admin, input))).toBe('vendor_exists');
    expect(await codeOf(f.vendors.create(f.admin, { ...input, id: 'openai' }))).toBe('vendor_exists');
    expect(await codeOf(f.vendors.create(f.admin, { ...input, id: 'other', services: [...input.services, ...input.services] }))).toBe('invalid_request');
    expect(await codeOf(f.vendors.create(f.admin, { ...input, id: 'signed-co', baa: { status: 'signed' } }))).toBe('invalid_request');
    expect(await codeOf(f.vendors.create(f.admin, { ...input, id: 'Bad Id' }))).toBe('invalid_request');
    expect(await codeOf(f.vendors.create(f.as('cmio'), { ...input, id: 'cmio-co' }))).toBe('permission_denied');
    expect((await f.vendors.signBaa(f.admin, 'scribe-co', signature({ coveredServices: ['ambient'] }))).vendor.baa.status).toBe('signed');
  });
});

describe('views', () => {
  it('shows each service\'s coverage now with the configured endpoints that use it', async () => {
    await f.vendors.signBaa(f.admin, 'openai', signature());
    const view = await f.vendors.coverage(f.as('cmio'), 'openai');
    const api = view.services.find((s) => s.serviceId === 'api-enterprise');
    expect(api?.coverage).toEqual({ covered: true, reason: 'covered', daysToExpiry: 336 });
    expect(api?.endpoints.map((e) => [e.id, e.region, e.residency, e.clearance.reason, e.baseUrl, e.models])).toEqual([
      ['oai-us', 'us-east-1', 'inside', 'covered', 'https://api.openai.com/v1', ['gpt-4o']],
      ['oai-eu', 'eu-west-1', 'outside', 'region_outside_residency', 'https://api.openai.com/v1', ['gpt-4o-eu']],
      ['oai-noregion', undefined, 'unknown', 'region_outside_residency', 'https://api.openai.com/v1', ['gpt-x']],
    ]);
    expect(view.services.find((s) => s.serviceId === 'chatgpt-consumer')?.coverage.reason).toBe('never_eligible');
    expect(view.unmatchedEndpoints.map((e) => [e.id, e.service, e.clearance.reason])).toEqual([['oai-typo', 'api-entreprise', 'unknown_service']]);
    const amazon = await f.vendors.coverage(f.admin, 'amazon');
    expect(amazon.services[0]?.endpoints[0]).toMatchObject({ id: 'bedrock-1', baseUrl: 'https://bedrock-runtime.us-west-2.amazonaws.com', region: 'us-west-2', residency: 'unrestricted', selfHosted: false, clearance: { cleared: false, reason: 'baa_not_signed' } });
    expect(amazon.services[0]?.coverage.reason).toBe('baa_not_signed');
  });

  it('lists signed BAAs ending within a window, subprocessors included, soonest first', async () => {
    await f.vendors.signBaa(f.admin, 'openai', signature({ expiryDate: '2026-03-20' }));
    await f.vendors.signBaa(f.admin, 'google', signature({ coveredServices: ['vertex-ai'], expiryDate: '2026-04-30' }));
    await f.vendors.signBaa(f.admin, 'retell', signature({ coveredServices: ['voice-agents'], expiryDate: '2027-01-01' }));
    await f.vendors.setSubprocessors(f.admin, 'retell', [{ name: 'Carrier Co', baa: { status: 'signed', expiryDate: '2026-03-05' } }]);
    expect(await f.vendors.expiring(f.admin, 30)).toEqual([
      { vendorId: 'retell', kind: 'subprocessor', subprocessor: 'Carrier Co', expiryDate: '2026-03-05', daysToExpiry: 4 },
      { vendorId: 'openai', kind: 'vendor', expiryDate: '2026-03-20', daysToExpiry: 19 },
    ]);
    expect((await f.vendors.expiring(f.admin, 60)).map((e) => e.vendorId)).toEqual(['retell', 'openai', 'google']);
    expect(await codeOf(f.vendors.expiring(f.admin, -1))).toBe('invalid_request');
    expect(expiringBaas([], 30, f.clock.now())).toEqual([]);
  });

  it('audits reads, and refusals under the call\'s event type with ids only', async () => {
    await f.vendors.get(f.as('cmio'), 'openai');
    await f.vendors.recordRefusal(f.as('physician'), vendorEventTypes.read, await f.vendors.list(f.as('physician')).catch((e: unknown) => e), 'openai');
    await f.vendors.recordRefusal(f.admin, vendorEventTypes.read, new Error('boom'), '../../etc/passwd');
    const events = (await f.events()).filter((e) => e.type === vendorEventTypes.read);
    expect(events.map((e) => [e.outcome, e.stage, e.status, e.errorCode, e.vendor])).toEqual([
      ['success', 'completed', 200, undefined, 'openai'],
      ['denied', 'refused', 403, 'permission_denied', 'openai'],
      ['denied', 'refused', 500, 'internal_error', undefined],
    ]);
  });
});
