// SPDX-License-Identifier: Apache-2.0
// The splitter on the shared notes (read in place) and on generated text: bounded, covering,
// deterministic, sections first, overlap only inside a section.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sharedDataPath } from '../../test/support/shared-data.js';
import { chunkText, type TextChunk } from './chunk.js';

interface Note {
  readonly id: string;
  readonly text: string;
}

function readNotes(file: string): Note[] {
  return readFileSync(sharedDataPath('notes', file), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Note);
}

const mtsamples = readNotes('mtsamples.jsonl');
const synthea = readNotes('synthea-notes.jsonl');

/** Every non-space character of the text lies inside some chunk. */
function uncovered(text: string, chunks: readonly TextChunk[]): number {
  const covered = new Uint8Array(text.length);
  for (const c of chunks) covered.fill(1, c.start, c.end);
  let missing = 0;
  for (let i = 0; i < text.length; i++) if (covered[i] === 0 && !/\s/.test(text[i] as string)) missing++;
  return missing;
}

function checkInvariants(text: string, chunks: readonly TextChunk[], maxChars: number): void {
  let previous: TextChunk | undefined;
  for (const [i, c] of chunks.entries()) {
    expect(c.ordinal).toBe(i);
    expect(c.text).toBe(text.slice(c.start, c.end));
    expect(c.text.length).toBeGreaterThan(0);
    expect(c.text.length).toBeLessThanOrEqual(maxChars);
    expect(c.text).toBe(c.text.trim());
    if (previous) {
      // In order; an overlap repeats only the tail of the previous chunk.
      expect(c.start).toBeGreaterThan(previous.start);
      expect(c.end).toBeGreaterThan(previous.end);
    }
    previous = c;
  }
  expect(uncovered(text, chunks)).toBe(0);
}

describe('chunkText on the shared notes', () => {
  it('reads the notes in place', () => {
    expect(mtsamples).toHaveLength(500);
    expect(synthea).toHaveLength(1215);
  });

  it('figure: every note of both sets is covered, in order, and every chunk fits (default and small sizes)', () => {
    let chunks = 0;
    let largest = 0;
    for (const maxChars of [1500, 400]) {
      for (const note of [...mtsamples, ...synthea]) {
        const result = chunkText(note.text, { maxChars, overlapChars: Math.floor(maxChars / 8) });
        checkInvariants(note.text, result, maxChars);
        chunks += result.length;
        for (const c of result) largest = Math.max(largest, c.text.length);
      }
    }
    expect(largest).toBeLessThanOrEqual(1500);
    process.stdout.write(`chunker: ${mtsamples.length + synthea.length} notes × 2 sizes → ${chunks} chunks, largest ${largest} chars\n`);
  });

  it('is deterministic', () => {
    for (const note of mtsamples.slice(0, 50)) expect(chunkText(note.text)).toEqual(chunkText(note.text));
  });

  it('keeps Synthea sections whole and packs small ones together', () => {
    const note = synthea.find((n) => n.text.includes('# Assessment and Plan')) as Note;
    const big = chunkText(note.text, { maxChars: 1500 });
    expect(big).toHaveLength(note.text.trim().length <= 1500 ? 1 : big.length);
    // Small enough to need several chunks: each starts at a heading (or the note's first line), none mid-section.
    const small = chunkText(note.text, { maxChars: 320, overlapChars: 40 });
    expect(small.length).toBeGreaterThan(1);
    for (const c of small.slice(1)) expect(c.text.startsWith('#')).toBe(true);
    expect(small.some((c) => c.text.includes('# Allergies') && c.text.includes('# Medications'))).toBe(true);
  });

  it('splits comma-flattened transcriptions at their upper-case headings', () => {
    const note = mtsamples.find((n) => n.text.includes(',PROCEDURE IN DETAIL:')) as Note;
    const chunks = chunkText(note.text, { maxChars: 600, overlapChars: 100 });
    const detail = chunks.find((c) => c.text.startsWith('PROCEDURE IN DETAIL:'));
    expect(detail).toBeDefined();
  });

  it('repeats the tail of the previous chunk only when a section continues', () => {
    const note = mtsamples.find((n) => n.text.length > 6000) as Note;
    const chunks = chunkText(note.text, { maxChars: 600, overlapChars: 120 });
    let overlaps = 0;
    for (let i = 1; i < chunks.length; i++) {
      const prev = chunks[i - 1] as TextChunk;
      const cur = chunks[i] as TextChunk;
      if (cur.start < prev.end) {
        overlaps++;
        expect(prev.end - cur.start).toBeLessThanOrEqual(120);
        // The overlap never starts inside another section: no heading in the repeated text.
        expect(/(^|[\n,])[ \t]*[A-Z][A-Z /&()'-]{2,}:/.test(note.text.slice(cur.start + 1, prev.end))).toBe(false);
      } else {
        expect(/^[A-Z][A-Z0-9 /&()'-]+:/.test(cur.text) || cur.start >= prev.end).toBe(true);
      }
    }
    expect(overlaps).toBeGreaterThan(0);
  });
});

describe('chunkText on generated text', () => {
  const word = fc.stringMatching(/^[A-Za-z]{1,12}$/);
  const sentence = fc.array(word, { minLength: 1, maxLength: 30 }).map((words) => `${words.join(' ')}.`);
  const paragraph = fc.array(sentence, { minLength: 1, maxLength: 8 }).map((s) => s.join(' '));
  const heading = fc.constantFrom('# History', 'PLAN:', 'ASSESSMENT:', '## Medications', 'SOCIAL HISTORY');
  const block = fc.oneof(paragraph, fc.tuple(heading, paragraph).map(([h, p]) => `${h}\n${p}`));
  const note = fc.array(block, { minLength: 1, maxLength: 12 }).map((blocks) => blocks.join('\n\n'));

  it('property: bounded, covering, ordered and deterministic for any note and any size', () => {
    fc.assert(
      fc.property(note, fc.integer({ min: 16, max: 800 }), fc.integer({ min: 0, max: 400 }), (text, maxChars, overlapChars) => {
        const chunks = chunkText(text, { maxChars, overlapChars });
        checkInvariants(text, chunks, maxChars);
        expect(chunkText(text, { maxChars, overlapChars })).toEqual(chunks);
      }),
      { numRuns: 300 },
    );
  });

  it('cuts a word longer than the bound instead of exceeding it', () => {
    const text = `start ${'x'.repeat(5000)} end`;
    const chunks = chunkText(text, { maxChars: 100, overlapChars: 10 });
    checkInvariants(text, chunks, 100);
  });

  it('returns nothing for empty or blank text and refuses a silly bound', () => {
    expect(chunkText('')).toEqual([]);
    expect(chunkText('  \n\n ')).toEqual([]);
    expect(() => chunkText('text', { maxChars: 4 })).toThrow(RangeError);
  });
});
