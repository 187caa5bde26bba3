// SPDX-License-Identifier: Apache-2.0
/**
 * The Synthea patients of ../shared/data/fhir, read in place: each patient's identifiers as the
 * FHIR context step reads them (`knownPhiOfPatient`, the function gather-context uses), the
 * plain identifier values a test plants in answers, and clinical facts from the same bundle
 * (conditions, medications, observations, immunizations, the practitioner) to write realistic
 * prompts and answers with.
 *
 * Synthea writes e-mail addresses only for practitioners (`Given.Family@example.com`); each
 * patient here gets one in the same form, added to the Patient's telecom before it is read, so
 * e-mail is covered like every other identifier.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { knownPhiOfPatient } from '../../src/fhir/patient-phi.js';
import type { FhirResource } from '../../src/fhir/projection.js';
import type { KnownPhi } from '../../src/deid/types.js';
import { sharedDataPath } from './shared-data.js';

export interface SyntheaObservation {
  readonly display: string;
  readonly value: string;
  readonly date: string;
}

export interface SyntheaPatient {
  /** `Patient/<id>`, as the x-phigate-patient header names it. */
  readonly reference: string;
  /** The given and family name without Synthea's numeric suffixes. */
  readonly given: string;
  readonly family: string;
  /** The name exactly as the bundle writes it ("Bob965 Keeling57", or "Andy Schaden"). */
  readonly rawName: string;
  readonly prefix: string;
  readonly birthDate: string;
  readonly mrn: string;
  readonly ssn: string;
  readonly license: string | undefined;
  readonly passport: string | undefined;
  readonly phone: string;
  readonly street: string;
  readonly city: string;
  readonly state: string;
  readonly zip: string | undefined;
  readonly email: string;
  /** What the FHIR context step would put in `ctx.patientPhi`. */
  readonly known: KnownPhi;
  readonly conditions: readonly string[];
  readonly medications: readonly string[];
  readonly observations: readonly SyntheaObservation[];
  readonly immunizations: readonly string[];
  /** The patient's practitioner ("Dr. Levi Reichert"), when the bundle names one. */
  readonly practitioner: string | undefined;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value);
const list = (value: unknown): Json[] => (Array.isArray(value) ? value.filter(isObject) : []);
const str = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined);
const bare = (name: string): string => name.replace(/\d+$/, '');

function codeText(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  return str(value.text) ?? str(list(value.coding)[0]?.display);
}

function identifierOf(patient: Json, code: string): string | undefined {
  for (const identifier of list(patient.identifier)) {
    const codes = list(isObject(identifier.type) ? identifier.type.coding : undefined).map((c) => c.code);
    if (codes.includes(code)) return str(identifier.value);
  }
  return undefined;
}

function unique<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}

/** Reads every patient bundle (not the support bundle), in file-name order. */
export function loadSyntheaPatients(): SyntheaPatient[] {
  const dir = sharedDataPath('fhir');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json') && !f.includes('_support')).sort();
  const patients: SyntheaPatient[] = [];
  for (const file of files) {
    const bundle = JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as Json;
    const resources = list(bundle.entry).map((entry) => entry.resource).filter(isObject);
    const patient = resources.find((r) => r.resourceType === 'Patient');
    if (!patient) continue;
    const name = list(patient.name)[0] ?? {};
    const givenRaw = str((name.given as unknown[] | undefined)?.[0]) ?? '';
    const familyRaw = str(name.family) ?? '';
    const given = bare(givenRaw);
    const family = bare(familyRaw);
    const email = `${given}.${family}@example.com`;
    const withEmail: FhirResource = { ...patient, resourceType: 'Patient', id: String(patient.id), telecom: [...list(patient.telecom), { system: 'email', value: email, use: 'home' }] };
    const address = list(patient.address)[0] ?? {};
    const practitioner = resources.find((r) => r.resourceType === 'Practitioner');
    const practitionerName = practitioner ? list(practitioner.name)[0] : undefined;
    const observations: SyntheaObservation[] = [];
    for (const r of resources) {
      if (r.resourceType !== 'Observation') continue;
      const display = codeText(r.code);
      const quantity = isObject(r.valueQuantity) ? r.valueQuantity : undefined;
      const date = str(r.effectiveDateTime)?.slice(0, 10);
      if (!display || !quantity || !date || typeof quantity.value !== 'number') continue;
      observations.push({ display, value: `${Math.round(quantity.value * 10) / 10} ${str(quantity.unit) ?? ''}`.trim(), date });
    }
    patients.push({
      reference: `Patient/${String(patient.id)}`,
      given,
      family,
      rawName: `${givenRaw} ${familyRaw}`,
      prefix: str((name.prefix as unknown[] | undefined)?.[0]) ?? (patient.gender === 'female' ? 'Ms.' : 'Mr.'),
      birthDate: str(patient.birthDate) ?? '',
      mrn: identifierOf(patient, 'MR') ?? String(patient.id),
      ssn: identifierOf(patient, 'SS') ?? '',
      license: identifierOf(patient, 'DL'),
      passport: identifierOf(patient, 'PPN'),
      phone: str(list(patient.telecom).find((t) => t.system === 'phone')?.value) ?? '',
      street: str((address.line as unknown[] | undefined)?.[0]) ?? '',
      city: str(address.city) ?? '',
      state: str(address.state) ?? '',
      zip: str(address.postalCode),
      email,
      known: knownPhiOfPatient(withEmail),
      conditions: unique(resources.filter((r) => r.resourceType === 'Condition').map((r) => codeText(r.code)).filter((t): t is string => t !== undefined)),
      medications: unique(resources.filter((r) => r.resourceType === 'MedicationRequest').map((r) => codeText(r.medicationCodeableConcept)).filter((t): t is string => t !== undefined)),
      observations,
      immunizations: unique(resources.filter((r) => r.resourceType === 'Immunization').map((r) => codeText(r.vaccineCode)).filter((t): t is string => t !== undefined)),
      practitioner: practitionerName ? `${str((practitionerName.prefix as unknown[] | undefined)?.[0]) ?? 'Dr.'} ${bare(str((practitionerName.given as unknown[] | undefined)?.[0]) ?? '')} ${bare(str(practitionerName.family) ?? '')}` : undefined,
    });
  }
  return patients;
}

/** A Synthea encounter note with its patient's identifiers (../shared/data/notes, read in place). */
export interface SyntheaNote {
  readonly patient: { readonly reference: string; readonly known: KnownPhi };
  readonly text: string;
}

/** The 1,215 Synthea notes and the identifiers of the 13 patients they belong to, as the FHIR context step reads them. */
export function loadSyntheaNotes(): SyntheaNote[] {
  const known = new Map<string, KnownPhi>();
  for (const line of readFileSync(sharedDataPath('notes', 'synthea-notes-patients.ndjson'), 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const patient = JSON.parse(line) as FhirResource;
    known.set(`Patient/${patient.id}`, knownPhiOfPatient(patient));
  }
  const notes: SyntheaNote[] = [];
  for (const line of readFileSync(sharedDataPath('notes', 'synthea-notes.jsonl'), 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const note = JSON.parse(line) as { patient: string; text: string };
    const phi = known.get(note.patient);
    if (phi) notes.push({ patient: { reference: note.patient, known: phi }, text: note.text });
  }
  return notes;
}
