// SPDX-License-Identifier: Apache-2.0
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileElements, fhirChoiceTypes, projectResource, type FhirResource } from './projection.js';

const observation: FhirResource = {
  resourceType: 'Observation',
  id: 'obs-1',
  meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HIV' }], versionId: '3' },
  text: { status: 'generated', div: '<div>Jane Doe, HIV viral load 45</div>' },
  extension: [{ url: 'http://example.org/x', valueString: 'secret' }],
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
  code: {
    coding: [{ system: 'http://loinc.org', code: '25836-8', display: 'HIV viral load', extension: [{ url: 'x', valueString: 'hidden' }] }],
    text: 'HIV viral load',
  },
  subject: { reference: 'Patient/p1', display: 'Jane Doe' },
  effectiveDateTime: '2021-03-01',
  _effectiveDateTime: { extension: [{ url: 'x', valueString: 'primitive extension' }] },
  valueQuantity: { value: 45, unit: 'copies/mL' },
  valueString: 'also a value',
  valueBogus: 'not a FHIR type suffix',
  note: [{ text: 'Patient Jane called' }],
  component: [
    { code: { text: 'systolic' }, valueQuantity: { value: 120, unit: 'mmHg' }, interpretation: [{ text: 'normal' }] },
    { interpretation: [{ text: 'only interpretation' }] },
  ],
  contained: [{ resourceType: 'Patient', id: 'c1', name: [{ family: 'Doe' }] }],
};

describe('projectResource', () => {
  it('keeps only the allowed elements, resourceType and id', () => {
    const out = projectResource(observation, compileElements(['code', 'value[x]', 'effective[x]']));
    expect(out).toEqual({
      resourceType: 'Observation',
      id: 'obs-1',
      code: { coding: [{ system: 'http://loinc.org', code: '25836-8', display: 'HIV viral load' }], text: 'HIV viral load' },
      effectiveDateTime: '2021-03-01',
      valueQuantity: { value: 45, unit: 'copies/mL' },
      valueString: 'also a value',
    });
  });

  it('follows dotted paths through arrays and drops elements left empty', () => {
    const out = projectResource(observation, compileElements(['component.code', 'component.value[x]']));
    expect(out).toEqual({
      resourceType: 'Observation',
      id: 'obs-1',
      component: [{ code: { text: 'systolic' }, valueQuantity: { value: 120, unit: 'mmHg' } }],
    });
  });

  it('never keeps meta, narrative, contained resources or extensions, even when listed', () => {
    const out = projectResource(observation, compileElements(['meta', 'text', 'contained', 'extension', '_effectiveDateTime', 'code.coding.extension']));
    expect(out).toEqual({ resourceType: 'Observation', id: 'obs-1' });
  });

  it('keeps nested text elements that are not the narrative', () => {
    const out = projectResource(observation, compileElements(['note.text', 'code.text']));
    expect(out).toEqual({ resourceType: 'Observation', id: 'obs-1', note: [{ text: 'Patient Jane called' }], code: { text: 'HIV viral load' } });
  });

  it('names nothing below a primitive', () => {
    expect(projectResource(observation, compileElements(['status.code']))).toEqual({ resourceType: 'Observation', id: 'obs-1' });
  });

  it('does not change its input', () => {
    const before = structuredClone(observation);
    projectResource(observation, compileElements(['code', 'component']));
    expect(observation).toEqual(before);
  });
});

// ---- Property: a projection never contains an element outside the allow-list ----------------

const vocabulary = ['code', 'value', 'valueQuantity', 'valueString', 'status', 'subject', 'text', 'meta', 'extension', 'component', 'coding', 'display', 'note', 'contained', '_value', 'modifierExtension', 'reference'];
const key = fc.constantFrom(...vocabulary);
const leaf = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null));
const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('object'), tie('array')),
  object: fc.dictionary(key, tie('node'), { maxKeys: 5 }),
  array: fc.array(tie('node'), { maxLength: 3 }),
})).node;
const resource = fc.dictionary(key, json, { maxKeys: 8 }).map((body) => ({ ...body, resourceType: 'Observation', id: 'x1' }) as FhirResource);
const segment = fc.constantFrom('code', 'value', 'status', 'subject', 'text', 'meta', 'extension', 'component', 'coding', 'display', 'note', 'reference', 'contained');
const element = fc
  .tuple(fc.array(segment, { minLength: 1, maxLength: 3 }), fc.boolean())
  .map(([segments, choice]) => segments.join('.') + (choice ? '[x]' : ''));
const allowList = fc.array(element, { minLength: 1, maxLength: 4 });

/** Key paths (array indexes skipped) of every leaf; an empty container is reported as a leaf named `<empty>`. */
function leafPaths(value: unknown, prefix: string[] = [], out: string[][] = []): string[][] {
  if (Array.isArray(value)) {
    if (value.length === 0) out.push([...prefix, '<empty>']);
    for (const item of value) leafPaths(item, prefix, out);
  } else if (value !== null && typeof value === 'object') {
    if (Object.keys(value).length === 0) out.push([...prefix, '<empty>']);
    for (const [k, v] of Object.entries(value)) leafPaths(v, [...prefix, k], out);
  } else {
    out.push(prefix);
  }
  return out;
}

/** Whether a key path lies under an allowed element (the independent statement of the rule). */
function isAllowed(path: readonly string[], elements: readonly string[]): boolean {
  if (path.length === 1 && (path[0] === 'resourceType' || path[0] === 'id')) return true;
  if (['meta', 'text', 'contained'].includes(path[0] ?? '')) return false;
  if (path.some((k) => k === 'extension' || k === 'modifierExtension' || k.startsWith('_'))) return false;
  return elements.some((element) => {
    const segments = element.split('.');
    if (path.length < segments.length) return false;
    return segments.every((s, i) => {
      const k = path[i] ?? '';
      if (i === segments.length - 1 && s.endsWith('[x]')) {
        const prefix = s.slice(0, -3);
        return k.startsWith(prefix) && fhirChoiceTypes.has(k.slice(prefix.length));
      }
      return k === s;
    });
  });
}

describe('projection property', () => {
  it('never contains an element outside the allow-list', () => {
    fc.assert(
      fc.property(resource, allowList, (input, elements) => {
        const out = projectResource(input, compileElements(elements));
        for (const path of leafPaths(out)) {
          if (!isAllowed(path, elements)) throw new Error(`${path.join('.')} is outside ${elements.join(', ')}`);
        }
        expect(out.resourceType).toBe('Observation');
        expect(out.id).toBe('x1');
      }),
      { numRuns: 2_000 },
    );
  });

  it('keeps allowed values exactly as they were (a projection only removes)', () => {
    fc.assert(
      fc.property(resource, allowList, (input, elements) => {
        const out = projectResource(input, compileElements(elements));
        // Every kept top-level element is the input's, minus removed parts: never a new value.
        const collectLeaves = (v: unknown, acc: unknown[] = []): unknown[] => {
          if (Array.isArray(v)) v.forEach((x) => collectLeaves(x, acc));
          else if (v !== null && typeof v === 'object') Object.values(v).forEach((x) => collectLeaves(x, acc));
          else acc.push(v);
          return acc;
        };
        const inputLeaves = new Set(collectLeaves(input));
        for (const leafValue of collectLeaves(out)) expect(inputLeaves.has(leafValue)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('the property can fail: a projection that keeps meta is caught', () => {
    expect(isAllowed(['meta', 'security'], ['code'])).toBe(false);
    expect(isAllowed(['code', 'extension'], ['code'])).toBe(false);
    expect(isAllowed(['valueBogus'], ['value[x]'])).toBe(false);
    expect(isAllowed(['valueQuantity', 'value'], ['value[x]'])).toBe(true);
  });
});
