// SPDX-License-Identifier: Apache-2.0
/**
 * Generic training-set augmentation for the user-prompt (`direct`) rows, so the classifier learns
 * what an attack looks like rather than how one data set spells it:
 *
 * - **typo variants**: a copy of each row with about one word in seven changed by one keystroke
 *   (a letter dropped, replaced, swapped with its neighbour or inserted) — people and attackers
 *   misspell, and a misspelt override is still an override;
 * - **prefixed variants**: a copy of each row behind a benign prompt of the same training set —
 *   an instruction appended to an innocent question is still an injection, and a benign prompt
 *   after another benign prompt is still benign.
 *
 * Variants keep their row's label and count as much as a row. A fixed-seed generator makes
 * them the same on every run, so training stays byte-for-byte reproducible.
 */
import type { InjectionRow } from './dataset.js';
import { seededRandom } from '../../kernel/random.js';

export interface AugmentedText {
  readonly text: string;
  readonly label: InjectionRow['label'];
  /** Loss weight relative to an original row. */
  readonly weight: number;
}

/** Weight of each generated variant relative to a real row. */
export const variantWeight = 1;
const typoRate = 0.15;
const letters = 'abcdefghijklmnopqrstuvwxyz';

/** `text` with about `rate` of its words of four or more letters changed by one keystroke (never the first letter). */
export function withTypos(text: string, random: () => number, rate = typoRate): string {
  return text.replace(/\p{L}{4,}/gu, (word) => {
    if (random() >= rate) return word;
    const at = 1 + Math.floor(random() * (word.length - 1));
    const letter = letters[Math.floor(random() * letters.length)] as string;
    switch (Math.floor(random() * 4)) {
      case 0:
        return word.slice(0, at) + word.slice(at + 1);
      case 1:
        return word.slice(0, at) + letter + word.slice(at + 1);
      case 2:
        return at + 1 < word.length ? word.slice(0, at) + (word[at + 1] as string) + (word[at] as string) + word.slice(at + 2) : word;
      default:
        return word.slice(0, at) + letter + word.slice(at);
    }
  });
}

/**
 * One typo variant and one prefixed variant of every direct row of the injection data, in row
 * order; then, when generated clinical prompts (training/clinical.ts) are among the rows, one
 * more variant of every direct injection with a clinical prompt in front — an attack behind a
 * clinical question is still an attack. The clinical prompts themselves get no variants.
 */
export function augmentDirectRows(rows: readonly InjectionRow[], seed = 42): AugmentedText[] {
  const random = seededRandom(seed);
  const isClinical = (row: InjectionRow): boolean => row.id.startsWith('clinical-');
  const direct = rows.filter((row) => row.channel === 'direct' && !isClinical(row));
  const benign = direct.filter((row) => row.label === 'benign');
  const out: AugmentedText[] = [];
  for (const row of direct) out.push({ text: withTypos(row.text, random), label: row.label, weight: variantWeight });
  if (benign.length > 0) {
    for (const row of direct) {
      const prefix = benign[Math.floor(random() * benign.length)] as InjectionRow;
      if (prefix.id !== row.id) out.push({ text: `${prefix.text} ${row.text}`, label: row.label, weight: variantWeight });
    }
  }
  const clinical = rows.filter(isClinical);
  if (clinical.length > 0) {
    for (const row of direct) {
      if (row.label !== 'injection') continue;
      const prefix = clinical[Math.floor(random() * clinical.length)] as InjectionRow;
      out.push({ text: `${prefix.text} ${row.text}`, label: row.label, weight: variantWeight });
    }
  }
  return out;
}
