// SPDX-License-Identifier: Apache-2.0
/**
 * The request patient's own identifiers, read from their FHIR Patient resource: names, birth
 * (and death) date, identifiers (MRN, SSN, driver's licence, insurance member ids, others),
 * addresses, phone and fax numbers, email addresses — and those of the contacts the resource
 * lists (relatives' identifiers are Safe Harbor identifiers too).
 *
 * They stay inside the gateway: de-identification finds them as known PHI, and the output filter
 * tells this patient's identifiers from another's. They are never rendered into a prompt by this
 * module, logged or audited.
 */
import type { KnownPhi, PhiCategory } from '../deid/types.js';
import type { FhirResource } from './projection.js';

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function objects(value: unknown): Record<string, unknown>[] {
  if (Array.isArray(value)) return value.filter(isObject);
  return isObject(value) ? [value] : [];
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(text).filter((s): s is string => s !== undefined) : [];
}

const ssnSystem = 'http://hl7.org/fhir/sid/us-ssn';

/** Identifier categories, most specific first. */
const specificity: readonly PhiCategory[] = ['SSN', 'MRN', 'LICENSE', 'HEALTH_PLAN', 'ACCOUNT', 'ID'];

/** The PHI category of an identifier, from its system and HL7 v2-0203 type code. */
export function identifierCategory(identifier: Record<string, unknown>): PhiCategory {
  if (identifier.system === ssnSystem) return 'SSN';
  const codes = objects(isObject(identifier.type) ? identifier.type.coding : undefined).map((c) => c.code);
  if (codes.includes('SS')) return 'SSN';
  if (codes.includes('MR') || codes.includes('MRN')) return 'MRN';
  if (codes.includes('DL')) return 'LICENSE';
  if (codes.includes('MB') || codes.includes('SN') || codes.includes('MA') || codes.includes('MC')) return 'HEALTH_PLAN';
  if (codes.includes('AN')) return 'ACCOUNT';
  return 'ID';
}

function namesOf(value: unknown, out: Set<string>): void {
  for (const name of objects(value)) {
    const full = text(name.text);
    if (full) out.add(full);
    const given = strings(name.given);
    const family = text(name.family);
    const joined = [...given, ...(family ? [family] : [])].join(' ');
    if (joined !== '') out.add(joined);
  }
}

function addressesOf(value: unknown, out: Set<string>): void {
  for (const address of objects(value)) {
    const full = text(address.text);
    if (full) out.add(full);
    const lines = strings(address.line);
    // Street lines, city, district and postal code are Safe Harbor identifiers; state and country are not.
    for (const line of lines) out.add(line);
    for (const part of [address.city, address.district, address.postalCode]) {
      const t = text(part);
      if (t) out.add(t);
    }
    const city = text(address.city);
    if (lines.length > 0 && city) out.add(`${lines.join(', ')}, ${city}`);
  }
}

function telecomOf(value: unknown, phones: Set<string>, emails: Set<string>): void {
  for (const point of objects(value)) {
    const v = text(point.value);
    if (!v) continue;
    if (point.system === 'email') emails.add(v);
    else if (point.system === 'phone' || point.system === 'fax' || point.system === 'sms' || point.system === 'pager') phones.add(v);
  }
}

/** Known PHI from a Patient resource (tolerant: elements of the wrong shape are skipped). */
export function knownPhiOfPatient(patient: FhirResource): KnownPhi {
  const names = new Set<string>();
  const dates = new Set<string>();
  const addresses = new Set<string>();
  const phones = new Set<string>();
  const emails = new Set<string>();
  const identifiers = new Map<string, PhiCategory>();

  namesOf(patient.name, names);
  for (const date of [patient.birthDate, patient.deceasedDateTime]) {
    const d = text(date);
    if (d) dates.add(d);
  }
  for (const identifier of objects(patient.identifier)) {
    const v = text(identifier.value);
    if (!v) continue;
    // One value listed under several types (an MRN that is also the system id) keeps the most specific.
    const category = identifierCategory(identifier);
    const held = identifiers.get(v);
    if (held === undefined || specificity.indexOf(category) < specificity.indexOf(held)) identifiers.set(v, category);
  }
  addressesOf(patient.address, addresses);
  telecomOf(patient.telecom, phones, emails);
  for (const contact of objects(patient.contact)) {
    namesOf(contact.name, names);
    addressesOf(contact.address, addresses);
    telecomOf(contact.telecom, phones, emails);
  }
  for (const extension of objects(patient.extension)) {
    if (typeof extension.url !== 'string') continue;
    if (extension.url.endsWith('/patient-mothersMaidenName')) {
      const v = text(extension.valueString);
      if (v) names.add(v);
    }
    if (extension.url.endsWith('/patient-birthPlace')) addressesOf(extension.valueAddress, addresses);
  }

  const out: { -readonly [K in keyof KnownPhi]: KnownPhi[K] } = {};
  if (names.size > 0) out.names = [...names];
  if (dates.size > 0) out.dates = [...dates];
  if (identifiers.size > 0) out.identifiers = [...identifiers].map(([value, type]) => ({ value, type }));
  if (addresses.size > 0) out.addresses = [...addresses];
  if (phones.size > 0) out.phones = [...phones];
  if (emails.size > 0) out.emails = [...emails];
  return out;
}
