// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { identifierCategory, knownPhiOfPatient } from './patient-phi.js';

// Synthetic patient (no real person).
const patient = {
  resourceType: 'Patient',
  id: 'p1',
  extension: [
    { url: 'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName', valueString: 'Opal Quist' },
    { url: 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace', valueAddress: { city: 'Fall River', state: 'MA' } },
  ],
  identifier: [
    { system: 'https://github.com/synthetichealth/synthea', value: 'aa11-bb22' },
    { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] }, value: 'MRN-0042' },
    { system: 'http://hl7.org/fhir/sid/us-ssn', value: '999-12-3456' },
    { type: { coding: [{ code: 'DL' }] }, value: 'S99912345' },
    { type: { coding: [{ code: 'MB' }] }, value: 'PLAN-77' },
    { value: 42 },
    { type: { coding: [{ code: 'MR' }] }, value: 'aa11-bb22' },
  ],
  name: [{ use: 'official', family: 'Quigley', given: ['Marta', 'Ann'], prefix: ['Mrs.'] }, { text: 'Marty Q' }],
  telecom: [
    { system: 'phone', value: '555-010-2233' },
    { system: 'email', value: 'marta@example.org' },
    { system: 'url', value: 'https://example.org/me' },
  ],
  birthDate: '1961-04-09',
  deceasedDateTime: '2020-01-02T10:00:00Z',
  address: [{ line: ['12 Elm Row', 'Apt 4'], city: 'Quincy', state: 'MA', postalCode: '02169', country: 'US' }],
  contact: [{ name: { family: 'Quigley', given: ['Tom'] }, telecom: [{ system: 'phone', value: '555-010-9999' }] }],
};

describe('knownPhiOfPatient', () => {
  it('collects names, dates, identifiers with their categories, addresses, phones and emails', () => {
    const phi = knownPhiOfPatient(patient);
    expect(phi.names).toEqual(['Marta Ann Quigley', 'Marty Q', 'Tom Quigley', 'Opal Quist']);
    expect(phi.dates).toEqual(['1961-04-09', '2020-01-02T10:00:00Z']);
    expect(phi.identifiers).toEqual([
      { value: 'aa11-bb22', type: 'MRN' },
      { value: 'MRN-0042', type: 'MRN' },
      { value: '999-12-3456', type: 'SSN' },
      { value: 'S99912345', type: 'LICENSE' },
      { value: 'PLAN-77', type: 'HEALTH_PLAN' },
    ]);
    expect(phi.addresses).toEqual(['12 Elm Row', 'Apt 4', 'Quincy', '02169', '12 Elm Row, Apt 4, Quincy', 'Fall River']);
    expect(phi.phones).toEqual(['555-010-2233', '555-010-9999']);
    expect(phi.emails).toEqual(['marta@example.org']);
  });

  it('tolerates elements of the wrong shape and leaves out what is absent', () => {
    expect(knownPhiOfPatient({ resourceType: 'Patient', id: 'p2', name: 'not an array', telecom: [null, 3], address: {} })).toEqual({});
  });

  it('classifies identifiers by system and v2-0203 type', () => {
    expect(identifierCategory({ type: { coding: [{ code: 'SS' }] } })).toBe('SSN');
    expect(identifierCategory({ type: { coding: [{ code: 'AN' }] } })).toBe('ACCOUNT');
    expect(identifierCategory({ type: { coding: [{ code: 'PPN' }] } })).toBe('ID');
  });
});
