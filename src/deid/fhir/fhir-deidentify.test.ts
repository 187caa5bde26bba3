// SPDX-License-Identifier: Apache-2.0
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sharedDataPath } from '../../../test/support/shared-data.js';
import { createTestDetector } from '../testing/test-detector.js';
import { createMemoryTokenVault } from '../token-vault.js';
import { deidPolicies } from '../transforms/apply.js';
import { isDeidError } from '../transforms/deid-error.js';
import { createFhirDeidentifier } from './fhir-deidentify.js';
import { createDefaultFhirRules } from './fhir-rules.js';

const key = 'fhir-test-key-0123456789abcdef';
type Json = Record<string, unknown>;

const bundleDir = sharedDataPath('fhir');
const bundleFiles = readdirSync(bundleDir).filter((f) => f.endsWith('.json')).sort();

/** Identifying values of the patients (and clinicians) of a bundle, read straight from the input. */
function identifyingValues(bundle: Json): string[] {
  const out: string[] = [];
  for (const entry of (bundle.entry as Json[] | undefined) ?? []) {
    const r = entry.resource as Json;
    if (r.resourceType !== 'Patient' && r.resourceType !== 'Practitioner') continue;
    for (const n of (r.name as Json[] | undefined) ?? []) {
      out.push(...((n.given as string[] | undefined) ?? []), ...(typeof n.family === 'string' ? [n.family] : []));
    }
    // Of clinicians, only names: their short NPI numbers occur as substrings of unrelated numbers.
    if (r.resourceType !== 'Patient') continue;
    for (const t of (r.telecom as Json[] | undefined) ?? []) if (typeof t.value === 'string') out.push(t.value);
    for (const a of (r.address as Json[] | undefined) ?? []) out.push(...((a.line as string[] | undefined) ?? []));
    for (const i of (r.identifier as Json[] | undefined) ?? []) if (typeof i.value === 'string') out.push(i.value);
    out.push(r.id as string);
    for (const e of (r.extension as Json[] | undefined) ?? []) if (typeof e.valueString === 'string' && /maiden/i.test(String(e.url))) out.push(e.valueString);
  }
  return out;
}

describe('FHIR de-identification on the Synthea bundles', () => {
  const fhir = createFhirDeidentifier({ key, detector: createTestDetector() });

  it.each(bundleFiles)('%s: no name, phone, address line or identifier of the patient remains', async (file) => {
    const bundle = JSON.parse(readFileSync(`${bundleDir}/${file}`, 'utf8')) as Json;
    const secrets = identifyingValues(bundle);
    expect(secrets.length).toBeGreaterThan(0);
    const { resource, form } = await fhir.deidentify(bundle);
    const serialized = JSON.stringify(resource);
    // Decoded attachments are text too: the note text must be clean as well.
    const notes = [...serialized.matchAll(/"data":"([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1]!, 'base64').toString('utf8')).join('\n');
    for (const value of secrets) {
      expect(serialized.includes(value), 'identifying value found in output').toBe(false);
      expect(notes.includes(value), 'identifying value found in a note').toBe(false);
    }
    expect(form).toBe('pseudonymised');
    expect(resource.resourceType).toBe('Bundle');
    expect((resource.entry as unknown[]).length).toBe((bundle.entry as unknown[]).length);
  });

  it('keeps references resolvable and dates consistently shifted', async () => {
    const file = bundleFiles.find((f) => f.startsWith('fdp-hiv-Bob'))!;
    const bundle = JSON.parse(readFileSync(`${bundleDir}/${file}`, 'utf8')) as Json;
    const { resource } = await fhir.deidentify(bundle);
    const entries = resource.entry as Json[];
    const fullUrls = new Set(entries.map((e) => e.fullUrl));
    const patient = entries.find((e) => (e.resource as Json).resourceType === 'Patient')!.resource as Json;
    expect(patient.birthDate).toBe('1991');
    expect(patient.name).toBeUndefined();
    expect(patient.telecom).toBeUndefined();
    expect((patient.address as Json[])[0]).toMatchObject({ state: 'MA', postalCode: '018' });
    expect((patient.address as Json[])[0]!.line).toBeUndefined();
    const encounter = entries.find((e) => (e.resource as Json).resourceType === 'Encounter')!.resource as Json;
    const subject = encounter.subject as Json;
    expect(fullUrls.has(subject.reference)).toBe(true);
    expect(subject.display).toBeUndefined();
    const period = encounter.period as { start: string; end: string };
    expect(period.start).not.toBe('1991-07-08T01:39:26+00:00');
    expect(Date.parse(period.end) - Date.parse(period.start)).toBe(15 * 60 * 1000);
    const participant = (encounter.participant as Json[])[0]!.individual as Json;
    expect(participant.reference).toMatch(/^Practitioner\?identifier=http:\/\/hl7\.org\/fhir\/sid\/us-npi\|[0-9a-f-]{36}$/);
    // Same input, same key: same output.
    expect(JSON.stringify((await fhir.deidentify(bundle)).resource)).toBe(JSON.stringify(resource));
  });

  it('can keep years only (Safe Harbor form) and use tokens in free text', async () => {
    const strict = createFhirDeidentifier({
      key,
      rules: { ...createDefaultFhirRules({ dates: 'generalise' }), identifierValue: 'remove', rekeyReferences: false },
      textPolicy: deidPolicies.tokens,
      vault: createMemoryTokenVault(),
    });
    const { resource, form } = await strict.deidentify({
      resourceType: 'Observation',
      status: 'final',
      subject: { reference: 'Patient/p1' },
      effectiveDateTime: '2021-03-04T10:00:00Z',
      note: [{ text: 'Seen on 2021-03-04' }],
      contained: [{ resourceType: 'Patient', id: 'p1', name: [{ family: 'Quackenbush', given: ['Zed'] }] }],
      valueString: 'Zed Quackenbush is stable',
    });
    expect(form).toBe('deidentified');
    expect(resource.effectiveDateTime).toBe('2021');
    expect(resource.valueString).toBe('[NAME_1] is stable');
    expect(JSON.stringify(resource)).not.toMatch(/Quackenbush|Zed/);
  });
});

describe('FHIR de-identification of bad input', () => {
  const fhir = createFhirDeidentifier({ key, maxDepth: 40, maxNodes: 50_000 });
  const rejects = async (input: unknown, code: Parameters<typeof isDeidError>[1]): Promise<void> => {
    await expect(fhir.deidentify(input)).rejects.toSatisfy((e) => isDeidError(e, code));
  };

  it('refuses what is not a resource', async () => {
    for (const input of [null, 42, 'Patient', [], {}, { resourceType: 7 }, { resourceType: 'not a type' }]) await rejects(input, 'invalid_fhir');
    await rejects({ resourceType: 'Bundle', entry: [{ resource: { resourceType: 'x y' } }] }, 'invalid_fhir');
  });

  it('refuses very deep nesting and huge arrays with typed errors', async () => {
    let deep: Json = { v: 1 };
    for (let i = 0; i < 10_000; i += 1) deep = { extension: [deep] };
    await rejects({ resourceType: 'Patient', extension: [deep] }, 'fhir_too_deep');
    await rejects({ resourceType: 'Patient', identifier: Array.from({ length: 100_000 }, () => ({ value: 'x' })) }, 'fhir_too_large');
  });

  it('drops non-text attachments and undecodable data', async () => {
    const { resource } = await fhir.deidentify({
      resourceType: 'DocumentReference',
      content: [{ attachment: { contentType: 'image/png', data: 'iVBORw0KGgo=' } }, { attachment: { contentType: 'text/plain', data: '***not base64***' } }],
    });
    expect(JSON.stringify(resource)).not.toContain('data');
  });
});
