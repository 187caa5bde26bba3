// SPDX-License-Identifier: Apache-2.0
/**
 * Typed errors of the de-identification library. Messages are fixed per code and never carry
 * input text; `detail` holds only PHI-free facts (limits, counts, JSON paths, line numbers).
 */

export const deidErrorMessages = {
  input_too_large: 'The input exceeds the de-identification size limit',
  invalid_input: 'The input is not text',
  invalid_spans: 'Spans are out of range or malformed',
  missing_key: 'This transform needs a secret key',
  missing_vault: 'The tokens transform needs a token vault',
  invalid_fhir: 'The input is not a FHIR R4 resource',
  fhir_too_deep: 'The FHIR resource nests deeper than the limit',
  fhir_too_large: 'The FHIR resource has more elements than the limit',
} as const;

export type DeidErrorCode = keyof typeof deidErrorMessages;

/** Thrown for input the library refuses; callers map it to `invalid_request` / `request_too_large`. */
export class DeidError extends Error {
  readonly code: DeidErrorCode;
  readonly detail: Readonly<Record<string, string | number>> | undefined;

  constructor(code: DeidErrorCode, detail?: Readonly<Record<string, string | number>>) {
    super(deidErrorMessages[code]);
    this.name = 'DeidError';
    this.code = code;
    this.detail = detail;
  }
}

/** Narrowing helper. */
export function isDeidError(err: unknown, code?: DeidErrorCode): err is DeidError {
  return err instanceof DeidError && (code === undefined || err.code === code);
}
