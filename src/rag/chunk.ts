// SPDX-License-Identifier: Apache-2.0
/**
 * The note splitter: sections first (Markdown headings, upper-case headings such as
 * `HISTORY OF PRESENT ILLNESS:`, including the `,HEADER:,` form that transcriptions flattened to
 * one line carry), then paragraphs, then sentences, then words — each level used only for a piece
 * that is still too long. Small neighbouring sections are packed together up to the size bound.
 * A section split across chunks repeats the tail of the previous chunk (the overlap, snapped to a
 * sentence or word boundary) so a sentence is never seen without its lead-in; chunks that start
 * at a section boundary have no overlap.
 *
 * Chunks are ranges into the input, so detection spans over the whole note can be clipped to each
 * chunk. The function is pure: the same text and options always give the same chunks.
 */

export interface ChunkOptions {
  /** Upper bound on a chunk's length in UTF-16 code units, overlap included. Default 1500. */
  readonly maxChars?: number;
  /** Characters of the previous chunk repeated when a section continues. Default 200; at most half of `maxChars`. */
  readonly overlapChars?: number;
}

/** One chunk: `text` is `input.slice(start, end)`, trimmed of surrounding white space. */
export interface TextChunk {
  readonly ordinal: number;
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

export const defaultChunkChars = 1500;
export const defaultOverlapChars = 200;

interface Piece {
  readonly start: number;
  readonly end: number;
  readonly section: number;
}

// Headings: Markdown (`# Allergies`), an upper-case line with or without a colon, or an upper-case
// label followed by a colon (`ASSESSMENT: stable`, `,PLAN:, …` in comma-flattened transcriptions).
const markdownHeading = /^[ \t]*#{1,6}[ \t]+\S/gm;
const capsLine = /^[ \t]*[A-Z][A-Z0-9 /&(),'-]{2,60}:?[ \t]*$/gm;
const capsLabel = /(^|[\n,])[ \t]*([A-Z][A-Z0-9 /&()'-]{1,60}[A-Z)]):/g;

const abbreviations = new Set(['dr', 'mr', 'mrs', 'ms', 'st', 'vs', 'no', 'nos', 'approx', 'fig', 'e.g', 'i.e', 'etc', 'pt', 'sr', 'jr', 'mt', 'ft', 'inc']);

function isSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\f' || ch === '\v' || ch === '\u00a0';
}

/** Section start offsets (always including 0), sorted and unique. */
function sectionStarts(text: string): number[] {
  const starts = new Set<number>([0]);
  for (const m of text.matchAll(markdownHeading)) starts.add(m.index);
  for (const m of text.matchAll(capsLine)) {
    // A line of upper-case words is a heading only if it has a letter run of three or more.
    if (/[A-Z]{3}/.test(m[0])) starts.add(m.index);
  }
  for (const m of text.matchAll(capsLabel)) {
    const lead = m[1] ?? '';
    if (/[A-Z]{3}/.test(m[2] ?? '')) starts.add(m.index + lead.length);
  }
  return [...starts].filter((s) => s < text.length).sort((a, b) => a - b);
}

/** Cut points inside [start, end) where a paragraph begins (after a blank line). */
function paragraphCuts(text: string, start: number, end: number): number[] {
  const cuts: number[] = [];
  const re = /\n[ \t\r]*\n\s*/g;
  re.lastIndex = start;
  for (let m = re.exec(text); m !== null && m.index < end; m = re.exec(text)) {
    const cut = m.index + m[0].length;
    if (cut > start && cut < end) cuts.push(cut);
  }
  return cuts;
}

/** Cut points inside [start, end) where a sentence or a line begins. */
function sentenceCuts(text: string, start: number, end: number): number[] {
  const cuts: number[] = [];
  for (let i = start + 1; i < end; i++) {
    const prev = text[i - 1];
    const ch = text[i];
    if (prev === '\n' && !isSpace(ch)) {
      cuts.push(i);
      continue;
    }
    if (!isSpace(prev) || isSpace(ch)) continue;
    // Walk back over the white space to the character that ended the previous sentence.
    let j = i - 1;
    while (j > start && isSpace(text[j])) j--;
    const end = text[j];
    if (end !== '.' && end !== '!' && end !== '?' && end !== ';') continue;
    if (!/[A-Z0-9"'([#-]/.test(ch ?? '')) continue;
    if (end === '.') {
      let w = j;
      while (w > start && /[A-Za-z.]/.test(text[w - 1] ?? '')) w--;
      const word = text.slice(w, j).toLowerCase();
      if (abbreviations.has(word) || /^[a-z]$/.test(word)) continue;
    }
    cuts.push(i);
  }
  return cuts;
}

/** Splits [start, end) at white space so no piece exceeds `budget` (a longer word is cut hard). */
function wordPieces(text: string, start: number, end: number, budget: number, section: number, out: Piece[]): void {
  let at = start;
  while (end - at > budget) {
    let cut = at + budget;
    while (cut > at && !isSpace(text[cut - 1])) cut--;
    if (cut === at) cut = at + budget;
    out.push({ start: at, end: cut, section });
    at = cut;
  }
  if (end > at) out.push({ start: at, end, section });
}

/** Splits a range at the given cut points into contiguous sub-ranges. */
function between(start: number, end: number, cuts: readonly number[]): [number, number][] {
  const ranges: [number, number][] = [];
  let at = start;
  for (const cut of cuts) {
    if (cut <= at || cut >= end) continue;
    ranges.push([at, cut]);
    at = cut;
  }
  ranges.push([at, end]);
  return ranges;
}

function splitRange(text: string, start: number, end: number, budget: number, section: number, level: 0 | 1 | 2, out: Piece[]): void {
  if (end - start <= budget) {
    out.push({ start, end, section });
    return;
  }
  if (level === 2) {
    wordPieces(text, start, end, budget, section, out);
    return;
  }
  const cuts = level === 0 ? paragraphCuts(text, start, end) : sentenceCuts(text, start, end);
  const next = (level + 1) as 1 | 2;
  if (cuts.length === 0) {
    splitRange(text, start, end, budget, section, next, out);
    return;
  }
  for (const [s, e] of between(start, end, cuts)) splitRange(text, s, e, budget, section, next, out);
}

/** The first sentence start (else word start) at or after `from`, before `limit`; `limit` when none. */
function snapForward(text: string, from: number, limit: number): number {
  for (const cut of sentenceCuts(text, Math.max(0, from - 1), limit)) if (cut >= from) return cut;
  for (let i = from; i < limit; i++) if (isSpace(text[i - 1]) && !isSpace(text[i])) return i;
  return limit;
}

function trimmed(text: string, start: number, end: number): [number, number] {
  let s = start;
  let e = end;
  while (s < e && isSpace(text[s])) s++;
  while (e > s && isSpace(text[e - 1])) e--;
  return [s, e];
}

/**
 * Splits a note into bounded, overlapping chunks.
 *
 * @example
 * chunkText('# Allergies\nNone.\n\n# Plan\nFollow up in 2 weeks.', { maxChars: 1500 });
 * // one chunk: both sections fit together
 */
export function chunkText(text: string, options: ChunkOptions = {}): TextChunk[] {
  const maxChars = options.maxChars ?? defaultChunkChars;
  if (!Number.isSafeInteger(maxChars) || maxChars < 16) throw new RangeError('maxChars must be an integer of at least 16');
  const overlap = Math.min(options.overlapChars ?? defaultOverlapChars, Math.floor(maxChars / 2));
  if (!Number.isSafeInteger(overlap) || overlap < 0) throw new RangeError('overlapChars must be a non-negative integer');
  if (text.length === 0) return [];

  const starts = sectionStarts(text);
  const pieces: Piece[] = [];
  starts.forEach((start, section) => {
    const end = starts[section + 1] ?? text.length;
    // A section that fits stays whole; a longer one is split small enough to take an overlap in front.
    if (end - start <= maxChars) pieces.push({ start, end, section });
    else splitRange(text, start, end, maxChars - overlap, section, 0, pieces);
  });

  const ranges: [number, number][] = [];
  // `sectionStart`: where the chunk's last section begins inside it, so an overlap never reaches back into another section.
  let current: { start: number; end: number; section: number; sectionStart: number } | undefined;
  for (const piece of pieces) {
    // White space alone joins the chunk before it (trimmed away below), never starting a chunk of its own.
    if (current !== undefined && text.slice(piece.start, piece.end).trim() === '') {
      current.end = piece.end;
      continue;
    }
    if (current !== undefined && piece.end - current.start <= maxChars) {
      if (piece.section !== current.section) current.sectionStart = piece.start;
      current.end = piece.end;
      current.section = piece.section;
      continue;
    }
    let start = piece.start;
    if (current !== undefined) {
      ranges.push([current.start, current.end]);
      if (overlap > 0 && piece.section === current.section) {
        // Strictly after the previous chunk's first character: an overlap never repeats a whole chunk.
        const floor = Math.max(current.sectionStart, current.end - overlap, piece.end - maxChars, trimmed(text, current.start, current.end)[0] + 1);
        const snapped = snapForward(text, floor, piece.start);
        if (snapped < piece.start) start = snapped;
      }
    }
    current = { start, end: piece.end, section: piece.section, sectionStart: start };
  }
  if (current !== undefined) ranges.push([current.start, current.end]);

  const chunks: TextChunk[] = [];
  for (const [s, e] of ranges) {
    const [start, end] = trimmed(text, s, e);
    if (end > start) chunks.push({ ordinal: chunks.length, start, end, text: text.slice(start, end) });
  }
  return chunks;
}
