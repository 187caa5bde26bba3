// SPDX-License-Identifier: Apache-2.0
/**
 * Shared vocabulary of the de-identification engine. Category names are those of
 * ../shared/data/deid/README.md so evaluation needs no mapping.
 */

export const phiCategories = [
  'NAME', 'DATE', 'AGE', 'LOCATION', 'PHONE', 'FAX', 'EMAIL', 'SSN', 'MRN', 'HEALTH_PLAN', 'ACCOUNT',
  'LICENSE', 'VEHICLE', 'DEVICE', 'URL', 'IP', 'BIOMETRIC', 'ID', 'ORGANIZATION', 'PROFESSION', 'OTHER',
] as const;
export type PhiCategory = (typeof phiCategories)[number];

/**
 * One detected identifier. Offsets are UTF-16 code-unit indexes into the input (end exclusive),
 * as JavaScript strings index. A span never carries the matched text, so it can be logged.
 */
export interface Span {
  readonly start: number;
  readonly end: number;
  readonly type: PhiCategory;
  /** Id of the detector that fired, e.g. "pattern:ssn", "dictionary:first-names", "known-phi". */
  readonly detector: string;
  /** 0..1; known-PHI and checksum-validated matches are 1. */
  readonly confidence: number;
}

/** Values known to belong to the request's patient (from FHIR or the caller); always found. */
export interface KnownPhi {
  readonly names?: readonly string[];
  readonly dates?: readonly string[];
  readonly identifiers?: readonly { readonly value: string; readonly type: PhiCategory }[];
  readonly addresses?: readonly string[];
  readonly phones?: readonly string[];
  readonly emails?: readonly string[];
}

export interface DetectOptions {
  readonly language?: 'en' | 'es';
  readonly knownPhi?: KnownPhi;
}
