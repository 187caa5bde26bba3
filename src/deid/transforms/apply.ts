// SPDX-License-Identifier: Apache-2.0
/**
 * Applies a route's transform policy to detected spans. The result says which form the output
 * is in: Safe Harbor de-identified (only removal, generalisation and sequence tokens applied),
 * pseudonymised (surrogates or date shifts, which are derived from the data under a key), or
 * identified (a category was kept). Egress policy uses that form to keep pseudonymised output
 * away from vendors without a BAA.
 */
import { dateShiftDays, defaultMaxShiftDays, shiftWrittenDate } from '../date-shift.js';
import { createSurrogateGenerator } from '../surrogates.js';
import type { SurrogateGenerator } from '../surrogates.js';
import type { TokenVault } from '../token-vault.js';
import { phiCategories } from '../types.js';
import type { PhiCategory, Span } from '../types.js';
import { DeidError } from './deid-error.js';
import { generaliseAge, generaliseDate, generaliseZip } from './generalise.js';

/** What can happen to one span. */
export const transformKinds = ['keep', 'redact', 'tokens', 'surrogates', 'date-shift', 'generalise'] as const;
export type TransformKind = (typeof transformKinds)[number];

/** A route's choice of transform, per category with a default. */
export interface DeidPolicy {
  readonly default: TransformKind;
  readonly categories?: Partial<Record<PhiCategory, TransformKind>>;
  /** `plain` writes `[REDACTED]`; `typed` writes `[NAME]`, `[DATE]`… Default `plain`. */
  readonly redaction?: 'plain' | 'typed';
}

/** Ready-made policies, one per `--transform` choice of the CLI. */
export const deidPolicies = {
  redact: { default: 'redact' },
  tokens: { default: 'tokens' },
  surrogates: { default: 'surrogates', categories: { DATE: 'date-shift', AGE: 'generalise' } },
  generalise: { default: 'generalise', redaction: 'typed' },
  'date-shift': { default: 'tokens', categories: { DATE: 'date-shift', AGE: 'generalise' } },
} as const satisfies Record<string, DeidPolicy>;
export type DeidPolicyName = keyof typeof deidPolicies;

/** Per-call facts the transforms need. */
export interface TransformContext {
  /** Scope of token numbering and surrogate consistency. */
  readonly conversationId: string;
  /** Whose dates are shifted; the shift is per patient. Defaults to the conversation id. */
  readonly patientId?: string;
  /** Secret for surrogates and date shifts (at least 16 bytes). */
  readonly key?: string | Uint8Array;
  /** Token vault; required when any category uses `tokens`. */
  readonly vault?: TokenVault;
  readonly maxShiftDays?: number;
  /** Year used to aggregate years that reveal an age over 89 when generalising. */
  readonly referenceYear?: number;
  /** Re-use one generator across calls of a conversation so fakes stay distinct across them. */
  readonly surrogates?: SurrogateGenerator;
}

/** One replaced span: input offsets, output offsets, and the token when one was issued. */
export interface Replacement {
  readonly start: number;
  readonly end: number;
  readonly type: PhiCategory;
  readonly transform: TransformKind;
  readonly outputStart: number;
  readonly outputEnd: number;
  readonly token?: string;
}

/** The form of a de-identified output, for egress decisions. */
export type DeidForm = 'deidentified' | 'pseudonymised' | 'identified';

/** Output of de-identification. `spans` index the input; `replacements` map input to output. */
export interface DeidResult {
  readonly text: string;
  readonly spans: readonly Span[];
  readonly replacements: readonly Replacement[];
  readonly form: DeidForm;
  /** True when only removal, generalisation and sequence tokens were applied. */
  readonly safeHarbor: boolean;
  /** True when surrogates or shifted dates were written. */
  readonly pseudonymised: boolean;
  readonly counts: Readonly<Partial<Record<PhiCategory, number>>>;
}

const categorySet: ReadonlySet<string> = new Set(phiCategories);

/**
 * Sorts spans and resolves overlaps (the earlier span wins; a later one that extends it grows it).
 * Throws `invalid_spans` for offsets outside the text or unknown categories.
 */
export function normaliseSpans(text: string, spans: readonly Span[]): Span[] {
  for (const s of spans) {
    if (!Number.isInteger(s.start) || !Number.isInteger(s.end) || s.start < 0 || s.end > text.length || s.start >= s.end || !categorySet.has(s.type)) {
      throw new DeidError('invalid_spans', { textLength: text.length });
    }
  }
  const sorted = [...spans].sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Span[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s.start < last.end) {
      if (s.end > last.end) out[out.length - 1] = { ...last, end: s.end };
      continue;
    }
    out.push(s);
  }
  return out;
}

/** The transform a policy picks for a category. */
export function transformFor(policy: DeidPolicy, type: PhiCategory): TransformKind {
  return policy.categories?.[type] ?? policy.default;
}

/**
 * Replaces every span according to `policy`.
 *
 * @example
 * const result = await applyTransforms(text, engine.detect(text), deidPolicies.tokens, { conversationId, vault });
 * result.text; // "Seen by [NAME_1] on [DATE_1]"
 */
export async function applyTransforms(
  text: string,
  spans: readonly Span[],
  policy: DeidPolicy,
  context: TransformContext,
): Promise<DeidResult> {
  const ordered = normaliseSpans(text, spans);
  const needs = new Set(ordered.map((s) => transformFor(policy, s.type)));
  if ((needs.has('surrogates') || needs.has('date-shift')) && context.key === undefined) throw new DeidError('missing_key');
  if (needs.has('tokens') && context.vault === undefined) throw new DeidError('missing_vault');

  let surrogates = context.surrogates;
  const surrogate = (type: PhiCategory, value: string): string => {
    surrogates ??= createSurrogateGenerator({ key: context.key!, conversationId: context.conversationId });
    return surrogates.surrogate(type, value, text);
  };
  let shift: number | undefined;
  const shiftDays = (): number =>
    (shift ??= dateShiftDays(context.key!, context.patientId ?? context.conversationId, context.maxShiftDays ?? defaultMaxShiftDays));
  const redaction = (type: PhiCategory): string => (policy.redaction === 'typed' ? `[${type}]` : '[REDACTED]');

  let out = '';
  let cursor = 0;
  let kept = false;
  let pseudonymised = false;
  const replacements: Replacement[] = [];
  const counts: Partial<Record<PhiCategory, number>> = {};

  for (const span of ordered) {
    const value = text.slice(span.start, span.end);
    let kind = transformFor(policy, span.type);
    // Surrogates for dates and ages mean shifting and generalising: a random date would break intervals.
    if (kind === 'surrogates' && span.type === 'DATE') kind = 'date-shift';
    if (kind === 'surrogates' && span.type === 'AGE') kind = 'generalise';
    if (kind === 'date-shift' && span.type !== 'DATE') kind = 'redact';
    let replacement: string;
    let token: string | undefined;
    switch (kind) {
      case 'keep':
        replacement = value;
        kept = true;
        break;
      case 'redact':
        replacement = redaction(span.type);
        break;
      case 'tokens':
        token = await context.vault!.tokenize(context.conversationId, span.type, value);
        replacement = token;
        break;
      case 'surrogates':
        replacement = surrogate(span.type, value);
        pseudonymised = true;
        break;
      case 'date-shift': {
        const shifted = shiftWrittenDate(value, shiftDays());
        if (shifted === undefined) {
          kind = 'redact';
          replacement = redaction(span.type);
        } else {
          replacement = shifted;
          pseudonymised = true;
        }
        break;
      }
      case 'generalise': {
        let general: string | undefined;
        // An age written in words cannot be bucketed safely, so it is removed.
        if (span.type === 'AGE') general = /\d/.test(value) ? generaliseAge(value) : undefined;
        else if (span.type === 'DATE') general = generaliseDate(value, context.referenceYear);
        else if (span.type === 'LOCATION') general = generaliseZip(value);
        if (general === undefined) kind = 'redact';
        replacement = general ?? redaction(span.type);
        break;
      }
    }
    out += text.slice(cursor, span.start);
    const outputStart = out.length;
    out += replacement;
    cursor = span.end;
    counts[span.type] = (counts[span.type] ?? 0) + 1;
    replacements.push({
      start: span.start, end: span.end, type: span.type, transform: kind, outputStart, outputEnd: out.length,
      ...(token === undefined ? {} : { token }),
    });
  }
  out += text.slice(cursor);
  const form: DeidForm = kept ? 'identified' : pseudonymised ? 'pseudonymised' : 'deidentified';
  return { text: out, spans: ordered, replacements, form, safeHarbor: form === 'deidentified', pseudonymised, counts };
}
