// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { applyTemplate, defaultContextTemplate, formatValue, renderContext, renderResource } from './render.js';

describe('formatValue', () => {
  it('renders FHIR shapes compactly', () => {
    expect(formatValue({ coding: [{ system: 'http://loinc.org', code: '4548-4', display: 'Hemoglobin A1c' }], text: 'HbA1c' })).toBe('HbA1c (LOINC 4548-4)');
    expect(formatValue({ coding: [{ system: 'http://snomed.info/sct', code: '44054006', display: 'Diabetes' }] })).toBe('Diabetes (SNOMED 44054006)');
    expect(formatValue({ value: 7.2, unit: '%', system: 'http://unitsofmeasure.org', code: '%' })).toBe('7.2 %');
    expect(formatValue({ value: 5, comparator: '<', unit: 'mg' })).toBe('<5 mg');
    expect(formatValue({ start: '2020-01-01', end: '2020-02-01' })).toBe('2020-01-01 to 2020-02-01');
    expect(formatValue({ start: '2020-01-01' })).toBe('2020-01-01 to ongoing');
    expect(formatValue({ low: { value: 1, unit: 'mg' }, high: { value: 2, unit: 'mg' } })).toBe('1 mg to 2 mg');
    expect(formatValue({ numerator: { value: 1, unit: 'mg' }, denominator: { value: 1, unit: 'mL' } })).toBe('1 mg / 1 mL');
    expect(formatValue({ reference: 'Practitioner/1', display: 'Dr Who' })).toBe('Dr Who');
    expect(formatValue([{ text: 'a' }, { text: 'b' }])).toBe('a; b');
    expect(formatValue({ zeta: 1, alpha: 'x' })).toBe('{alpha=x, zeta=1}');
    expect(formatValue({})).toBeUndefined();
  });
});

describe('renderContext', () => {
  const sections = [
    {
      resourceType: 'Condition',
      elements: ['code'],
      resources: [{ resourceType: 'Condition', id: 'c1', code: { text: 'Tuberculosis' } }],
    },
    {
      resourceType: 'Observation',
      elements: ['code', 'value[x]', 'effective[x]'],
      // Element order in the JSON differs from the allow-list; the allow-list order wins.
      resources: [{ resourceType: 'Observation', id: 'o1', effectiveDateTime: '2021-03-01', valueQuantity: { value: 45, unit: 'copies/mL' }, code: { text: 'HIV viral load' } }],
    },
    { resourceType: 'Procedure', elements: ['code'], resources: [] },
  ];
  const chunks = [
    { documentId: 'doc-1', chunkId: 'doc-1#0', text: '  Seen today for cough.\n', label: 'History and physical note, 2021' },
    { documentId: 'doc-2', chunkId: 'doc-2#3', text: 'Follow-up in two weeks.' },
  ];

  it('renders sections in scope order, elements in allow-list order, chunks numbered in rank order', () => {
    expect(renderContext({ sections, chunks })).toBe(
      [
        'Patient record (FHIR):',
        'Condition (1):',
        '- code: Tuberculosis',
        'Observation (1):',
        '- code: HIV viral load | valueQuantity: 45 copies/mL | effectiveDateTime: 2021-03-01',
        '',
        'Notes (retrieved excerpts, best first):',
        '[1] History and physical note, 2021',
        'Seen today for cough.',
        '[2]',
        'Follow-up in two weeks.',
      ].join('\n'),
    );
  });

  it('is deterministic and renders no resource ids', () => {
    const text = renderContext({ sections, chunks });
    expect(renderContext({ sections, chunks })).toBe(text);
    expect(text).not.toContain('o1');
    expect(text).not.toContain('c1');
  });

  it('renders nothing when nothing was gathered', () => {
    expect(renderContext({ sections: [], chunks: [] })).toBe('');
  });

  it('says so when a resource has no allowed element recorded', () => {
    expect(renderResource({ resourceType: 'Observation', id: 'x' }, ['code'])).toBe('- (no allowed elements recorded)');
  });
});

describe('applyTemplate', () => {
  it('substitutes every placeholder literally', () => {
    expect(applyTemplate('Context:\n{{context}}\nAgain: {{context}}', 'A $& B')).toBe('Context:\nA $& B\nAgain: A $& B');
  });

  it('appends the context to a template without a placeholder', () => {
    expect(applyTemplate('You summarise labs.', 'X')).toBe('You summarise labs.\n\nX');
  });

  it('uses the default system message without a template', () => {
    expect(applyTemplate(undefined, 'X')).toBe(defaultContextTemplate.replace('{{context}}', 'X'));
  });
});
