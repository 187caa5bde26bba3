// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { diffValues } from './diff.js';
import { adminSpec, cdsSpec, sampleVendor } from './testing/registry-fixtures.js';
import { useCaseSpecSchema, type UseCaseSpec } from './use-case-spec.js';
import { vendorSchema, type Vendor } from './vendor-spec.js';
import { useCaseSpecWidening, vendorWidening } from './widening.js';

const vendor = (overrides: Record<string, unknown> = {}): Vendor => vendorSchema.parse(sampleVendor(overrides));
const baa = (changes: Record<string, unknown>) => ({ ...(sampleVendor().baa as Record<string, unknown>), ...changes });
const spec = (overrides: Record<string, unknown> = {}, base = adminSpec): UseCaseSpec => useCaseSpecSchema.parse(base(overrides));
const rules = (findings: readonly { rule: string }[]) => findings.map((f) => f.rule);

describe('vendor widening', () => {
  const base = vendor();
  const cases: [string, Record<string, unknown>, string[]][] = [
    ['nothing changed', {}, []],
    ['expiry moved later', { baa: baa({ expiryDate: '2028-12-31' }) }, ['baa_extended']],
    ['expiry removed', { baa: baa({ expiryDate: undefined }) }, ['baa_extended']],
    ['expiry moved earlier (narrowing)', { baa: baa({ expiryDate: '2026-12-31' }) }, []],
    ['effective date earlier', { baa: baa({ effectiveDate: '2024-06-01' }) }, ['baa_extended']],
    ['a service covered', { baa: baa({ coveredServices: ['acme-chat', 'acme-consumer'] }) }, ['baa_services_added']],
    ['a service dropped (narrowing)', { baa: baa({ coveredServices: [] }) }, []],
    ['a region added', { baa: baa({ dataResidency: ['us', 'eu'] }) }, ['residency_widened']],
    ['residency emptied = unrestricted', { baa: baa({ dataResidency: [] }) }, ['residency_unrestricted']],
    ['zero retention dropped', { baa: baa({ zeroDataRetention: false }) }, ['zero_retention_dropped']],
    ['no-training dropped', { baa: baa({ noTrainingOnCustomerData: false }) }, ['no_training_dropped']],
    ['terminated (narrowing)', { baa: baa({ status: 'terminated' }) }, []],
    [
      'a consumer service made eligible',
      { services: [{ id: 'acme-chat', name: 'Acme Chat API', category: 'llm', eligibility: 'baa_available' }, { id: 'acme-consumer', name: 'Acme for Home', category: 'consumer_app', eligibility: 'baa_available' }] },
      ['service_made_eligible'],
    ],
  ];
  for (const [name, overrides, expected] of cases) {
    it(name, () => expect(rules(vendorWidening(base, vendor(overrides)))).toEqual(expected));
  }

  it('a newly signed BAA widens; a new vendor without one does not', () => {
    const unsigned = vendor({ baa: { status: 'not_signed' } });
    expect(rules(vendorWidening(unsigned, base))).toEqual(['baa_newly_signed', 'baa_services_added']);
    expect(rules(vendorWidening(undefined, base))).toEqual(['baa_newly_signed']);
    expect(rules(vendorWidening(undefined, unsigned))).toEqual([]);
    expect(rules(vendorWidening(vendor({ baa: baa({ status: 'terminated' }) }), base))).toEqual(['baa_newly_signed']);
  });

  it('subprocessor changes that can turn coverage on widen', () => {
    const withSub = (sub: Record<string, unknown> | undefined) => vendor({ subprocessors: sub === undefined ? [] : [{ name: 'Cloudy Hosting', services: [], baa: { status: 'not_signed' }, ...sub }] });
    const gated = withSub({});
    expect(rules(vendorWidening(gated, withSub(undefined)))).toEqual(['subprocessor_removed']);
    expect(rules(vendorWidening(gated, withSub({ baa: { status: 'signed' } })))).toEqual(['subprocessor_baa_signed']);
    expect(rules(vendorWidening(withSub({ baa: { status: 'signed', expiryDate: '2026-01-01' } }), withSub({ baa: { status: 'signed', expiryDate: '2027-01-01' } })))).toEqual(['subprocessor_baa_extended']);
    expect(rules(vendorWidening(gated, withSub({ services: ['acme-consumer'] })))).toEqual(['subprocessor_scope_narrowed']);
    expect(rules(vendorWidening(withSub({ services: ['acme-chat'] }), withSub({})))).toEqual([]);
    expect(rules(vendorWidening(withSub(undefined), gated))).toEqual([]);
  });
});

describe('use-case widening', () => {
  const base = spec({ deploymentPattern: 'baa_covered', output: { humanReview: true, blockOnLeak: true, clinicalLabel: true }, data: { freeText: false, fhir: [{ resourceType: 'Coverage', elements: ['payor'] }], documents: { k: 3 } } });
  const fromBase = (overrides: Record<string, unknown>) =>
    useCaseSpecSchema.parse({ ...adminSpec(), deploymentPattern: base.deploymentPattern, output: base.output, data: base.data, ...overrides });
  const override = { level: 'low', justification: 'Reviewed twice by coders before filing.' };
  /** [name, before, after, rules]: `before`/`after` are overrides of the base spec. */
  const cases: [string, Record<string, unknown>, Record<string, unknown>, string[]][] = [
    ['description and owner only', {}, { description: 'Reworded.', owner: 'u-new-owner' }, []],
    ['phi_free → baa_covered', { deploymentPattern: 'phi_free' }, {}, ['deployment_pattern_widened']],
    ['baa_covered → phi_free (narrowing)', {}, { deploymentPattern: 'phi_free' }, []],
    ['a role added', {}, { roles: ['care_coordinator', 'coder'] }, ['roles_added']],
    ['a role removed (narrowing)', { roles: ['care_coordinator', 'coder'] }, {}, []],
    ['a role swapped', {}, { roles: ['coder'] }, ['roles_added']],
    ['a vendor added', {}, { vendors: ['acme-ai', 'other-ai'] }, ['vendors_added']],
    ['a purpose added', {}, { purposes: ['COVAUTH', 'HPAYMT'] }, ['purposes_added']],
    ['a model added', {}, { models: [{ name: 'acme-large', upstream: 'acme-large-2025-06-01' }, { name: 'acme-small' }] }, ['models_added']],
    ['a model re-pinned', {}, { models: [{ name: 'acme-large', upstream: 'acme-large-2026-01-01' }] }, ['models_added']],
    ['a sensitive category added (risk held low by override)', { riskOverride: override }, { sensitiveCategories: ['hiv'], riskOverride: override }, ['sensitive_categories_added']],
    ['classification changed', {}, { classification: 'clinical_decision_support' }, ['classification_changed']],
    ['content kept longer', {}, { inferenceLogRetentionDays: 30 }, ['content_retention_raised']],
    ['a lower risk override', {}, { riskOverride: override }, ['risk_lowered']],
    ['a higher risk override (narrowing)', {}, { riskOverride: { ...override, level: 'high' } }, []],
  ];
  for (const [name, before, after, expected] of cases) {
    it(name, () => expect(rules(useCaseSpecWidening('x', fromBase(before), fromBase(after)))).toEqual(expected));
  }

  it('private is narrower than baa_covered, wider than phi_free', () => {
    const pattern = (deploymentPattern: string) => fromBase({ deploymentPattern });
    expect(rules(useCaseSpecWidening('x', pattern('baa_covered'), pattern('private')))).toEqual([]);
    expect(rules(useCaseSpecWidening('x', pattern('private'), pattern('baa_covered')))).toEqual(['deployment_pattern_widened']);
    expect(rules(useCaseSpecWidening('x', pattern('phi_free'), pattern('private')))).toEqual(['deployment_pattern_widened']);
  });

  it('FHIR types, elements, limits and search; documents; automatic context; free text', () => {
    const data = (d: Record<string, unknown>) => fromBase({ data: { ...base.data, ...d } });
    expect(useCaseSpecWidening('x', base, data({ fhir: [{ resourceType: 'Coverage', elements: ['payor', 'subscriber'] }] }))).toEqual([{ subject: 'use_case:x', path: 'data.fhir[Coverage].elements', rule: 'fhir_elements_added', added: ['subscriber'] }]);
    expect(rules(useCaseSpecWidening('x', base, data({ fhir: [{ resourceType: 'Coverage', elements: ['payor'] }, { resourceType: 'Condition', elements: ['code'] }] })))).toEqual(['fhir_types_added']);
    expect(rules(useCaseSpecWidening('x', base, data({ fhir: [{ resourceType: 'Coverage', elements: ['payor'], limit: 50 }] })))).toEqual(['fhir_limit_raised']);
    expect(rules(useCaseSpecWidening('x', base, data({ fhir: [{ resourceType: 'Coverage', elements: ['payor'], search: { status: 'active' } }] })))).toEqual(['fhir_search_changed']);
    expect(rules(useCaseSpecWidening('x', base, data({ fhir: [] })))).toEqual([]);
    expect(rules(useCaseSpecWidening('x', base, data({ documents: { k: 10 } })))).toEqual(['documents_k_raised']);
    expect(rules(useCaseSpecWidening('x', data({ documents: undefined }), base))).toEqual(['documents_enabled']);
    expect(rules(useCaseSpecWidening('x', base, data({ autoContext: true })))).toEqual(['auto_context_enabled']);
    expect(rules(useCaseSpecWidening('x', base, data({ freeText: true })))).toEqual(['free_text_enabled']);
  });

  it('turning review, leak blocking or the label off widens; turning them on does not', () => {
    const out = (o: Record<string, unknown>) => fromBase({ output: { ...base.output, ...o } });
    expect(rules(useCaseSpecWidening('x', base, out({ humanReview: false })))).toEqual(['review_disabled']);
    expect(rules(useCaseSpecWidening('x', base, out({ blockOnLeak: false })))).toEqual(['leak_blocking_disabled']);
    expect(rules(useCaseSpecWidening('x', base, out({ clinicalLabel: false })))).toEqual(['clinical_label_disabled']);
    expect(rules(useCaseSpecWidening('x', out({ humanReview: false, blockOnLeak: false }), base))).toEqual([]);
  });

  it('a clinical spec moving to administrative is a classification change', () => {
    expect(rules(useCaseSpecWidening('x', spec({}, cdsSpec), spec({ classification: 'administrative' }, cdsSpec)))).toContain('classification_changed');
  });
});

describe('field diff', () => {
  it('matches lists of records by key and ignores order of plain lists', () => {
    const a = vendor();
    const reordered = vendor({ services: [...(sampleVendor().services as unknown[])].reverse(), baa: baa({ coveredServices: ['acme-chat'] }) });
    expect(diffValues(a, reordered)).toEqual([]);
    expect(diffValues(a, vendor({ baa: baa({ expiryDate: '2028-01-01' }) }))).toEqual([{ path: 'baa.expiryDate', kind: 'changed', before: '2027-12-31', after: '2028-01-01' }]);
    const changes = diffValues(spec(), spec({ data: { fhir: [{ resourceType: 'Coverage', elements: ['payor'] }] }, roles: ['coder'] }));
    expect(changes.map((c) => [c.path, c.kind])).toEqual([['data.fhir[Coverage]', 'added'], ['roles', 'changed']]);
  });
});
