// SPDX-License-Identifier: Apache-2.0
/**
 * The library entry: validate the input, detect spans, apply the route's transforms. Inputs are
 * bounded (a clear `input_too_large` instead of unbounded work) and lone UTF-16 surrogates are
 * replaced by U+FFFD one for one, so offsets into the input stay valid.
 */
import { applyTransforms, deidPolicies } from './transforms/apply.js';
import type { DeidPolicy, DeidResult, TransformContext } from './transforms/apply.js';
import { DeidError } from './transforms/deid-error.js';
import type { TokenVault } from './token-vault.js';
import type { DetectOptions, KnownPhi, Span } from './types.js';

/**
 * What de-identification needs from detection. `createDeidEngine()` of `./detect.js` satisfies it;
 * spans must index the text passed in.
 */
export interface SpanDetector {
  detect(text: string, options?: DetectOptions): readonly Span[];
}

/** Default upper bound on one input, in UTF-16 code units (about 8 MB of ASCII). */
export const defaultMaxInputLength = 8 * 1024 * 1024;

/** Options fixed when the de-identifier is built (per deployment or per route). */
export interface DeidentifierOptions {
  readonly detector: SpanDetector;
  /** Default `deidPolicies.redact`: the safest choice when a route names none. */
  readonly policy?: DeidPolicy;
  readonly key?: string | Uint8Array;
  readonly vault?: TokenVault;
  readonly maxInputLength?: number;
  readonly maxShiftDays?: number;
}

/** Options of one call. */
export interface DeidentifyCallOptions {
  readonly conversationId: string;
  readonly patientId?: string;
  readonly knownPhi?: KnownPhi;
  readonly language?: 'en' | 'es';
  /** Overrides the de-identifier's policy for this call. */
  readonly policy?: DeidPolicy;
  readonly referenceYear?: number;
  readonly surrogates?: TransformContext['surrogates'];
}

/** De-identifies text. */
export interface Deidentifier {
  deidentify(text: string, options: DeidentifyCallOptions): Promise<DeidResult>;
}

/** Replaces lone UTF-16 surrogates with U+FFFD, keeping the length (and so every offset) unchanged. */
export function toWellFormedText(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/**
 * Builds a de-identifier.
 *
 * @example
 * const deid = createDeidentifier({ detector: createDeidEngine(), policy: deidPolicies.tokens, vault });
 * const { text, form } = await deid.deidentify(note, { conversationId });
 */
export function createDeidentifier(options: DeidentifierOptions): Deidentifier {
  const maxInputLength = options.maxInputLength ?? defaultMaxInputLength;
  return {
    async deidentify(input, call) {
      if (typeof input !== 'string') throw new DeidError('invalid_input');
      if (input.length > maxInputLength) throw new DeidError('input_too_large', { limit: maxInputLength, length: input.length });
      const text = toWellFormedText(input);
      const policy = call.policy ?? options.policy ?? deidPolicies.redact;
      const spans = text.length === 0 ? [] : options.detector.detect(text, {
        ...(call.language === undefined ? {} : { language: call.language }),
        ...(call.knownPhi === undefined ? {} : { knownPhi: call.knownPhi }),
      });
      return applyTransforms(text, spans, policy, {
        conversationId: call.conversationId,
        ...(call.patientId === undefined ? {} : { patientId: call.patientId }),
        ...(options.key === undefined ? {} : { key: options.key }),
        ...(options.vault === undefined ? {} : { vault: options.vault }),
        ...(options.maxShiftDays === undefined ? {} : { maxShiftDays: options.maxShiftDays }),
        ...(call.referenceYear === undefined ? {} : { referenceYear: call.referenceYear }),
        ...(call.surrogates === undefined ? {} : { surrogates: call.surrogates }),
      });
    },
  };
}
