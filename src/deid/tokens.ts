// SPDX-License-Identifier: Apache-2.0
/**
 * Typed re-identification tokens (`[NAME_1]`). A token is a sequence number within one
 * conversation, so it is a re-identification code not derived from the data (45 CFR 164.514(c)).
 */
import { phiCategories } from './types.js';
import type { PhiCategory } from './types.js';

/** Largest sequence number a token may carry; keeps tokens short and the stream hold-back bounded. */
export const maxTokenSequence = 999_999;

const categorySet: ReadonlySet<string> = new Set(phiCategories);

/** Length in UTF-16 code units of the longest token that can ever be issued. */
export const maxTokenLength: number =
  Math.max(...phiCategories.map((c) => c.length)) + String(maxTokenSequence).length + 3;

/** Formats a token. */
export function formatToken(type: PhiCategory, sequence: number): string {
  if (!Number.isInteger(sequence) || sequence < 1 || sequence > maxTokenSequence) {
    throw new RangeError('token sequence out of range');
  }
  return `[${type}_${sequence}]`;
}

/** A parsed token. */
export interface ParsedToken {
  readonly type: PhiCategory;
  readonly sequence: number;
}

const tokenShape = /^\[([A-Z_]+)_([1-9][0-9]{0,5})\]$/;

/** Parses a token; `undefined` for anything that is not exactly a well-formed token of a known category. */
export function parseToken(text: string): ParsedToken | undefined {
  if (text.length > maxTokenLength) return undefined;
  const m = tokenShape.exec(text);
  if (!m || !categorySet.has(m[1]!)) return undefined;
  return { type: m[1] as PhiCategory, sequence: Number(m[2]) };
}

/** A global regular expression matching every well-formed token candidate (category checked by `parseToken`). */
export function tokenPattern(): RegExp {
  return /\[[A-Z_]{2,20}_[1-9][0-9]{0,5}\]/g;
}
