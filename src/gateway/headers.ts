// SPDX-License-Identifier: Apache-2.0
/**
 * Gateway inputs that OpenAI's body has no field for travel in headers, so any OpenAI or
 * Anthropic client works unchanged: `x-phigate-use-case`, `x-phigate-patient` (a FHIR Patient
 * reference) and `x-phigate-purpose` (an HL7 PurposeOfUse code).
 */
import { GatewayError } from '../kernel/errors.js';

/** HL7 v3 PurposeOfUse codes (terminology.hl7.org/ValueSet/v3-PurposeOfUse), the common subset. */
export const purposeOfUseCodes = [
  'TREAT', 'ETREAT', 'CAREMGT', 'POPHLTH', 'HPAYMT', 'CLMATTCH', 'COVAUTH', 'COVERAGE', 'ELIGDTRM', 'ELIGVER', 'ENROLLM',
  'HOPERAT', 'DONAT', 'FRAUD', 'GOV', 'HDIRECT', 'HQUALIMP', 'HSYSADMIN', 'MEMADMIN', 'PATADMIN', 'PATSFTY',
  'PERFMSR', 'RECORDMGT', 'TRAIN', 'HRESCH', 'PUBHLTH', 'PATRQT', 'FAMRQT', 'PWATRNY', 'SUPNWK', 'SYSDEV', 'BTG',
] as const;
export type PurposeOfUse = (typeof purposeOfUseCodes)[number];
const purposeSet: ReadonlySet<string> = new Set(purposeOfUseCodes);

export interface GatewayHeaders {
  readonly useCase?: string;
  /** Normalised `Patient/<id>`. */
  readonly patient?: string;
  readonly purpose?: PurposeOfUse;
}

const useCasePattern = /^[a-z0-9][a-z0-9._-]{0,63}$/;
// FHIR id: [A-Za-z0-9\-\.]{1,64}; also accept an absolute reference ending in Patient/<id>.
const patientPattern = /^(?:https?:\/\/[^\s]{1,512}\/)?Patient\/([A-Za-z0-9.-]{1,64})$/;

/** Parses and validates the phigate headers; the detail names the header, never its value. */
export function parseGatewayHeaders(header: (name: string) => string | undefined): GatewayHeaders {
  const useCase = header('x-phigate-use-case')?.trim();
  const patient = header('x-phigate-patient')?.trim();
  const purpose = header('x-phigate-purpose')?.trim().toUpperCase();
  const out: { useCase?: string; patient?: string; purpose?: PurposeOfUse } = {};
  if (useCase !== undefined && useCase !== '') {
    if (!useCasePattern.test(useCase)) throw new GatewayError('invalid_header', { detail: { header: 'x-phigate-use-case' } });
    out.useCase = useCase;
  }
  if (patient !== undefined && patient !== '') {
    const match = patientPattern.exec(patient);
    if (!match) throw new GatewayError('invalid_header', { detail: { header: 'x-phigate-patient', expected: 'Patient/<id>' } });
    out.patient = `Patient/${match[1]}`;
  }
  if (purpose !== undefined && purpose !== '') {
    if (!purposeSet.has(purpose)) throw new GatewayError('invalid_header', { detail: { header: 'x-phigate-purpose', expected: 'an HL7 PurposeOfUse code' } });
    out.purpose = purpose as PurposeOfUse;
  }
  return out;
}
