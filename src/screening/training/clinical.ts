// SPDX-License-Identifier: Apache-2.0
/**
 * Benign clinical prompts for the user-prompt (`direct`) channel, made from the MTSamples notes in
 * ../shared/data/notes (read in place). The injection data has no clinical text at all, and
 * deepset labels many "write a …" requests as injections, so without these a clinician's
 * "Any penicillin allergy?" or "Write a letter to the patient …" reads as an attack.
 *
 * The notes are split **by a hash of the note id** into a training part (about three in four)
 * and a held-out part (the rest). Only training-part notes become training rows; the held-out
 * part is used by `npm run bench:injection` for measurement only. From each note,
 * `clinicalPrompts` builds a few clinician-style prompts out of the note's own text with generic
 * templates — a sentence as written, a question about a phrase, and short requests ("Summarise
 * …", "Write a letter to the patient about …", "What is the ICD-10 code for …") — chosen by a
 * generator seeded from the note id, so the rows are the same on every run.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom } from '../../kernel/random.js';
import { loadInjectionRows, type InjectionRow } from './dataset.js';

export interface ClinicalNote {
  readonly id: string;
  readonly specialty: string;
  readonly title: string;
  readonly text: string;
}

/** The notes file under ../shared/data/notes that the clinical prompts are made from. */
export const clinicalNotesFile = 'mtsamples.jsonl';

/** Every MTSamples note in `dir` (../shared/data/notes), in file order. */
export function loadClinicalNotes(dir: string): ClinicalNote[] {
  return readFileSync(join(dir, clinicalNotesFile), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const raw = JSON.parse(line) as Partial<ClinicalNote>;
      if (typeof raw.id !== 'string' || typeof raw.text !== 'string') throw new Error(`malformed note row: ${line.slice(0, 60)}`);
      return { id: raw.id, specialty: String(raw.specialty ?? ''), title: String(raw.title ?? ''), text: raw.text };
    });
}

/** Which part a note belongs to: a hash of its id, one in four held out. */
export function clinicalSplit(noteId: string): 'train' | 'heldout' {
  return createHash('sha256').update(`clinical-split:${noteId}`).digest().readUInt32BE(0) % 4 === 0 ? 'heldout' : 'train';
}

/**
 * The sentences of a note, 20–220 characters. The Kaggle scrape turned line breaks into commas
 * (`SUBJECTIVE:,  This …,MEDICATIONS: , Her …`); section headers become breaks first.
 */
export function noteSentences(text: string): string[] {
  const lines = text
    .replace(/,?\s*([A-Z][A-Z0-9 /&()-]{2,40}):\s*,/g, '\n$1: ')
    // Numbered lists lost their breaks too: "…effusion.,6.  Mild …".
    .replace(/\.?,\s*\d{1,2}\.\s+/g, '. ')
    .replace(/\s+/g, ' ')
    .replace(/ ([A-Z][A-Z0-9 /&()-]{2,40}): /g, '\n$1: ');
  const out: string[] = [];
  for (const line of lines.split('\n')) {
    for (const sentence of line.split(/(?<=[.?!])\s+(?=[A-Z0-9])/)) {
      const s = sentence.replace(/^[,\s]+|[,\s]+$/g, '').replace(/^[A-Z][A-Z0-9 /&()-]{2,40}: /, '');
      if (s.length >= 20 && s.length <= 220 && /[a-z]/.test(s)) out.push(s);
    }
  }
  return out;
}

/** A phrase from a sentence for a template: its first letter lowered, the final stop removed, at most `maxWords` words. */
function phraseOf(sentence: string, maxWords = 12): string {
  const words = sentence.replace(/[.?!]+$/, '').split(' ').slice(0, maxWords).join(' ');
  return /^[A-Z][a-z]/.test(words) ? words[0]?.toLowerCase() + words.slice(1) : words;
}

/** Generic clinician requests around a phrase of the note (`{p}`), its title (`{t}`) or a sentence (`{s}`). */
const templates: readonly string[] = [
  'Summarise this: {s}',
  'Summarize the findings for {t}.',
  'Write a letter to the patient explaining {t}.',
  'Write a letter to the patient about {p}.',
  'Write a referral letter to the specialist about {p}.',
  'Draft discharge instructions for {t}.',
  'What is the ICD-10 code for {t}?',
  'Which CPT code fits {t}?',
  'Explain {t} in plain language for the patient.',
  'Rewrite this in plain English for the patient: {s}',
  'List the medications mentioned here: {s}',
  'What follow-up is needed after {t}?',
  'Create a problem list from this: {s}',
  'Is it documented that {p}?',
  'Does the note say {p}?',
  'Can you check the dose? {s}',
  'Turn this into a SOAP note: {s}',
  'Give me a one-line summary: {s}',
  'Any contraindications to note for {t}?',
  'What should I tell the patient about {t}?',
  'Order labs to follow up {t}.',
  'Please shorten this for the handover: {s}',
];

/** Prompts made from one note: two of its sentences as written and two templated requests (fewer for a short note). */
export function clinicalPrompts(note: ClinicalNote, perNote = { sentences: 2, requests: 2 }): string[] {
  const random = seededRandom(createHash('sha256').update(note.id).digest().readInt32BE(0));
  const sentences = noteSentences(note.text);
  if (sentences.length === 0) return [];
  const pick = (): string => sentences[Math.floor(random() * sentences.length)] as string;
  const out: string[] = [];
  for (let i = 0; i < perNote.sentences; i++) out.push(pick());
  const title = note.title.trim() === '' ? phraseOf(pick(), 6) : note.title.trim().replace(/\s*-\s*\d+$/, '');
  for (let i = 0; i < perNote.requests; i++) {
    const template = templates[Math.floor(random() * templates.length)] as string;
    out.push(template.replace('{s}', pick()).replace('{p}', phraseOf(pick())).replace('{t}', title));
  }
  return [...new Set(out)];
}

/**
 * Benign direct rows from the notes of one part. Training-part rows have split `train` and ids
 * `clinical-train-<note>-<n>`; held-out rows have split `test`. Each note is one group (its prompts
 * share a cross-validation fold); texts repeated across notes are kept once.
 */
export function clinicalPromptRows(notes: readonly ClinicalNote[], part: 'train' | 'heldout'): InjectionRow[] {
  const seen = new Set<string>();
  const rows: InjectionRow[] = [];
  for (const note of notes) {
    if (clinicalSplit(note.id) !== part) continue;
    clinicalPrompts(note).forEach((text, n) => {
      if (seen.has(text)) return;
      seen.add(text);
      rows.push({ id: `clinical-${part}-${note.id}-${n}`, text, label: 'benign', split: part === 'train' ? 'train' : 'test', channel: 'direct', group: `note:${note.id}` });
    });
  }
  return rows;
}

/** The train rows of the injection data plus the training-part clinical prompts: everything the model and thresholds are chosen from. */
export function loadScreeningTrainingRows(injectionDir: string, notesDir: string): InjectionRow[] {
  return [...loadInjectionRows(injectionDir).filter((row) => row.split === 'train'), ...clinicalPromptRows(loadClinicalNotes(notesDir), 'train')];
}

/** Whether a row is one of the generated clinical prompts. */
export function isClinicalRow(row: InjectionRow): boolean {
  return row.id.startsWith('clinical-');
}
