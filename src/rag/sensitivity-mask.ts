// SPDX-License-Identifier: Apache-2.0
/**
 * Sensitive categories as bits, so the search filters them in SQL on both databases with one
 * integer test: a chunk may be ranked only when `(sensitivity_mask & disallowed) = 0`.
 *
 * The bit of each category is fixed here by name, never derived from the order of
 * `sensitiveCategories`: stored masks must keep their meaning when a category is added. A new
 * category fails to compile until it has a bit.
 */
import { sensitiveCategories, type SensitiveCategory } from '../registry/use-case-spec.js';

const bits: Readonly<Record<SensitiveCategory, number>> = {
  substance_use_part2: 1,
  psychotherapy_notes: 2,
  genetic: 4,
  hiv: 8,
};

/** Every category's bit. */
export const allSensitivityBits = sensitiveCategories.reduce((mask, category) => mask | bits[category], 0);

/** The mask of a set of categories. */
export function sensitivityMask(categories: readonly SensitiveCategory[]): number {
  return categories.reduce((mask, category) => mask | bits[category], 0);
}

/** The categories a mask holds, in the registry's order. */
export function categoriesOfMask(mask: number): SensitiveCategory[] {
  return sensitiveCategories.filter((category) => (mask & bits[category]) !== 0);
}

/** The bits a scope may not see: every category the use case does not allow. */
export function disallowedMask(allowed: readonly SensitiveCategory[]): number {
  return allSensitivityBits & ~sensitivityMask(allowed);
}
