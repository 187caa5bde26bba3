// SPDX-License-Identifier: Apache-2.0
/**
 * Rules for de-identifying FHIR R4 resources: what happens to each element, by resource type and
 * path, plus rules by data type (HumanName, ContactPoint, Address, Identifier, Reference,
 * Attachment) that apply wherever those types appear. The defaults follow Safe Harbor: names,
 * telecom, street lines, cities and photos removed; birth dates to the year; ZIP to ZIP3;
 * identifiers and resource ids replaced by keyed hashes (re-keyed consistently, so references
 * still resolve); free text de-identified. Other dates are shifted per patient by default, which
 * makes the output pseudonymised; `createDefaultFhirRules({ dates: 'generalise' })` keeps years only.
 */

/** What happens to one element. */
export const fhirActions = ['keep', 'remove', 'redact', 'generalise', 'date-shift', 'hash', 'surrogate', 'text'] as const;
export type FhirAction = (typeof fhirActions)[number];

/** The rule set the FHIR de-identifier runs. */
export interface FhirRules {
  /**
   * Element rules by path from the resource root, array indexes left out: `Patient.birthDate`,
   * `*.note.text` (any resource). They win over every rule below.
   */
  readonly elements: Readonly<Record<string, FhirAction>>;
  /** Path suffixes (`note.text`, `valueString`) whose strings are free text to de-identify. */
  readonly textElements: readonly string[];
  /** Strings shaped like FHIR date/dateTime/instant that no element rule matched. */
  readonly dates: 'date-shift' | 'generalise' | 'keep';
  readonly humanName: 'remove' | 'surrogate' | 'keep';
  readonly contactPoint: 'remove' | 'surrogate' | 'keep';
  readonly identifierValue: 'hash' | 'remove' | 'keep';
  readonly referenceDisplay: 'remove' | 'text' | 'keep';
  readonly address: Readonly<Record<'line' | 'city' | 'district' | 'postalCode' | 'text' | 'extension', FhirAction>>;
  /** `text/*` attachment data is decoded and de-identified (`text`) or dropped; other data is dropped unless `keep`. */
  readonly attachment: { readonly textData: 'text' | 'remove'; readonly otherData: 'remove' | 'keep'; readonly url: 'remove' | 'keep' };
  /** Extension URLs whose extensions are removed whole. */
  readonly removeExtensions: readonly string[];
  /** Replace resource ids, fullUrls and references with keyed hashes, consistently. */
  readonly rekeyReferences: boolean;
}

/** Options of the default rule set. */
export interface DefaultFhirRuleOptions {
  /** How dates other than birth dates are treated. Default `date-shift`. */
  readonly dates?: FhirRules['dates'];
}

/** The default, Safe Harbor-oriented rule set. */
export function createDefaultFhirRules(options: DefaultFhirRuleOptions = {}): FhirRules {
  return {
    elements: {
      'Patient.birthDate': 'generalise',
      'RelatedPerson.birthDate': 'generalise',
      'Person.birthDate': 'generalise',
      'Practitioner.birthDate': 'generalise',
      'Patient.photo': 'remove',
      'Practitioner.photo': 'remove',
      'RelatedPerson.photo': 'remove',
      'Person.photo': 'remove',
      'Organization.name': 'redact',
      'Organization.alias': 'remove',
      'Location.name': 'redact',
      'Location.alias': 'remove',
      'Location.position': 'remove',
      'HealthcareService.name': 'redact',
      'CareTeam.name': 'text',
      'Group.name': 'redact',
      'Coverage.subscriberId': 'hash',
      'Device.serialNumber': 'hash',
      'Device.lotNumber': 'hash',
      'Device.udiCarrier.deviceIdentifier': 'hash',
      'Device.udiCarrier.carrierHRF': 'remove',
      'Device.udiCarrier.carrierAIDC': 'remove',
      'Device.deviceName.name': 'remove',
      '*.text.div': 'text',
    },
    textElements: [
      'note.text', 'valueString', 'description', 'comment', 'conclusion', 'summary', 'patientInstruction',
      'dosageInstruction.text', 'outcomeReference.display', 'valueMarkdown', 'answer.valueString', 'title',
    ],
    dates: options.dates ?? 'date-shift',
    humanName: 'remove',
    contactPoint: 'remove',
    identifierValue: 'hash',
    referenceDisplay: 'remove',
    address: { line: 'remove', city: 'remove', district: 'remove', postalCode: 'generalise', text: 'remove', extension: 'remove' },
    attachment: { textData: 'text', otherData: 'remove', url: 'remove' },
    removeExtensions: [
      'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName',
      'http://hl7.org/fhir/StructureDefinition/geolocation',
      'http://hl7.org/fhir/StructureDefinition/humanname-mothers-family',
      'http://hl7.org/fhir/StructureDefinition/patient-birthTime',
    ],
    rekeyReferences: true,
  };
}
