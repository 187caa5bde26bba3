// SPDX-License-Identifier: Apache-2.0
/**
 * Cuts a text stream into the parts the output filter checks one at a time. The cuts depend on
 * the text alone, never on how it was chunked: a streamed answer and the same answer in one
 * piece are cut in the same places, so the filter's result is identical (a property test checks
 * every chunking). That is what makes the filter streaming-safe.
 *
 * A cut goes after a line break, or after a sentence end ("! ", "? ", or ". " after a lower-case
 * word of three letters or a capitalised one of five, so "Dr. Smith", "St. Louis", "Ter. 4" and
 * "J. Smith" stay whole) — and
 * only where no markdown link, image or HTML tag is still open. When a stretch of `window`
 * characters has no such place, the cut goes at the last space before the window's end that no
 * identifier the detector sees spans; a construct it leaves open is defused (its opener escaped)
 * so neither half renders as a link.
 */
import { defuseOpenConstructs, openConstructStart } from './links.js';

export interface SegmenterOptions {
  /** Longest part held back while looking for a natural cut. */
  readonly window: number;
  /** Whether markdown and HTML constructs must stay whole (answer text, not tool-call arguments). */
  readonly markup: boolean;
  /** Spans of identifiers in a text: a forced cut never falls inside one. */
  readonly spans: (text: string) => readonly { readonly start: number; readonly end: number }[];
}

export interface Segmenter {
  /** Adds text; returns the parts that are now complete, in order. */
  push(chunk: string): string[];
  /** The end of the stream: returns what is left, as parts. */
  flush(): string[];
}

/** Characters of look-ahead a forced cut reads past the window, so an identifier at the edge is seen whole. */
export const forcedCutLookahead = 256;

const sentenceEnd = /[.!?]/;

/** Whether a natural cut may go at `i` (the text before `i` is one part). */
function naturalCut(text: string, i: number): boolean {
  const prev = text[i - 1];
  if (prev === '\n') return true;
  if (prev !== ' ' && prev !== '\t') return false;
  const punct = text[i - 2];
  if (punct === undefined || !sentenceEnd.test(punct)) return false;
  // the word before the punctuation: after "!" or "?" any word; after "." a lower-case word of three
  // letters or more ("diabetes."), a capitalised one of five or more ("Smith."), or a closing bracket
  let j = i - 3;
  if (text[j] === ')') return true;
  let letters = 0;
  let capital = false;
  while (j >= 0 && /\p{L}/u.test(text[j] as string)) {
    if (/\p{Lu}/u.test(text[j] as string)) capital = true;
    letters++;
    j--;
  }
  if (j >= 0 && /[\p{N}.@/'’-]/u.test(text[j] as string)) return false;
  if (punct !== '.') return letters >= 1;
  return capital ? letters >= 5 : letters >= 3;
}

/** Creates a segmenter. */
export function createSegmenter(options: SegmenterOptions): Segmenter {
  const window = options.window;
  let buffer = '';
  // Natural cuts are searched from here on; everything before was already found to have none.
  let scanned = 1;

  const next = (final: boolean): string | undefined => {
    const limit = Math.min(buffer.length, window);
    for (let i = Math.max(1, scanned); i <= limit; i++) {
      if (!naturalCut(buffer, i)) continue;
      if (options.markup && openConstructStart(buffer.slice(0, i)) >= 0) continue;
      return take(i, false);
    }
    scanned = Math.max(1, limit + 1);
    if (buffer.length >= window + forcedCutLookahead) return take(forcedCut(buffer.slice(0, window + forcedCutLookahead)), true);
    if (final && buffer.length > 0) {
      if (buffer.length > window) return take(forcedCut(buffer), true);
      return take(buffer.length, false);
    }
    return undefined;
  };

  const take = (at: number, forced: boolean): string => {
    let part = buffer.slice(0, at);
    buffer = buffer.slice(at);
    scanned = 1;
    if (forced && options.markup && openConstructStart(part) >= 0) part = defuseOpenConstructs(part);
    return part;
  };

  /** The last space in the second half of the window that no identifier spans; the window's end if none. */
  const forcedCut = (text: string): number => {
    const spans = options.spans(text);
    const inside = (i: number): boolean => spans.some((s) => s.start < i && i < s.end);
    const upper = Math.min(window, text.length);
    for (let i = upper; i > window / 2; i--) {
      const prev = text[i - 1] as string;
      const boundary = /\s/.test(prev) || (!options.markup && /[,:]/.test(prev));
      if (boundary && !inside(i)) return i;
    }
    return upper;
  };

  return {
    push(chunk) {
      buffer += chunk;
      const parts: string[] = [];
      for (let part = next(false); part !== undefined; part = next(false)) parts.push(part);
      return parts;
    },
    flush() {
      const parts: string[] = [];
      for (let part = next(true); part !== undefined; part = next(true)) parts.push(part);
      return parts;
    },
  };
}
