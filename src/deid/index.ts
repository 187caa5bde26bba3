// SPDX-License-Identifier: Apache-2.0
/**
 * De-identification: detection, transforms (redact, typed tokens, surrogates, date shift,
 * generalisation), FHIR R4 de-identification, the token vault and streaming re-identification.
 *
 * @module
 */
export { phiCategories } from './types.js';
export type { DetectOptions, KnownPhi, PhiCategory, Span } from './types.js';
export { createDeidEngine, maxDetectChars } from './detect.js';
export type { DeidEngine, DeidEngineOptions } from './detect.js';
export { createDeidentifier, defaultMaxInputLength, toWellFormedText } from './deidentify.js';
export type { DeidentifierOptions, Deidentifier, DeidentifyCallOptions, SpanDetector } from './deidentify.js';
export { applyTransforms, deidPolicies, normaliseSpans, transformFor, transformKinds } from './transforms/apply.js';
export type { DeidForm, DeidPolicy, DeidPolicyName, DeidResult, Replacement, TransformContext, TransformKind } from './transforms/apply.js';
export { DeidError, deidErrorMessages, isDeidError } from './transforms/deid-error.js';
export type { DeidErrorCode } from './transforms/deid-error.js';
export { generaliseAge, generaliseDate, generaliseZip, restrictedZip3 } from './transforms/generalise.js';
export { dateShiftDays, defaultMaxShiftDays, parseWrittenDate, shiftWrittenDate, writtenDateYear } from './date-shift.js';
export type { WrittenDate } from './date-shift.js';
export { createSurrogateGenerator } from './surrogates.js';
export type { SurrogateGenerator, SurrogateOptions } from './surrogates.js';
export { formatToken, maxTokenLength, maxTokenSequence, parseToken, tokenPattern } from './tokens.js';
export type { ParsedToken } from './tokens.js';
export { createEncryptedTokenVault, createMemoryTokenVault, normaliseTokenValue, tokenVaultField } from './token-vault.js';
export type { EncryptedTokenVaultOptions, TokenVault, TokenVaultOptions, TokenVaultRecord, TokenVaultRepo } from './token-vault.js';
export { createReidentifier, reidentifyStream, reidentifyText, vaultLookup } from './reidentify-stream.js';
export type { Reidentifier, ReidentifyOptions, TokenLookup } from './reidentify-stream.js';
export { createFhirDeidentifier } from './fhir/fhir-deidentify.js';
export type { FhirDeidResult, FhirDeidentifier, FhirDeidentifierOptions, FhirDeidentifyCallOptions } from './fhir/fhir-deidentify.js';
export { createDefaultFhirRules, fhirActions } from './fhir/fhir-rules.js';
export type { DefaultFhirRuleOptions, FhirAction, FhirRules } from './fhir/fhir-rules.js';
