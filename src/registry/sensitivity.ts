// SPDX-License-Identifier: Apache-2.0
/**
 * Sensitivity labels: the codes callers and EHRs use for specially protected information, mapped
 * onto phigate's sensitive categories. Callers send them in `x-phigate-sensitivity` (comma
 * separated); FHIR resources carry them in `meta.security` (HL7 v3 ActCode, system
 * http://terminology.hl7.org/CodeSystem/v3-ActCode).
 *
 * Codes: ETH (substance abuse information sensitivity), SUD, 42CFRPart2 → substance_use_part2;
 * PSYTHPN (psychotherapy note) → psychotherapy_notes; GDIS (genetic disease information
 * sensitivity), GENETIC → genetic; HIV → hiv. phigate's own category names are accepted too.
 */
import { GatewayError } from '../kernel/errors.js';
import { sensitiveCategories, type SensitiveCategory } from './use-case-spec.js';

export const sensitivityHeader = 'x-phigate-sensitivity';

export const actCodeSystem = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

const codeToCategory: Readonly<Record<string, SensitiveCategory>> = {
  ETH: 'substance_use_part2',
  SUD: 'substance_use_part2',
  '42CFRPART2': 'substance_use_part2',
  PSYTHPN: 'psychotherapy_notes',
  GDIS: 'genetic',
  GENETIC: 'genetic',
  HIV: 'hiv',
  ...Object.fromEntries(sensitiveCategories.map((c) => [c.toUpperCase(), c])),
};

/** The category a label code stands for, or undefined for codes that are not sensitivity labels. */
export function categoryOfCode(code: string): SensitiveCategory | undefined {
  return codeToCategory[code.trim().toUpperCase()];
}

/** Parses `x-phigate-sensitivity`; an unknown code is refused (naming the header, not the value). */
export function parseSensitivityHeader(value: string | undefined): readonly SensitiveCategory[] {
  if (value === undefined || value.trim() === '') return [];
  const out = new Set<SensitiveCategory>();
  for (const code of value.split(',')) {
    if (code.trim() === '') continue;
    const category = categoryOfCode(code);
    if (!category) throw new GatewayError('invalid_header', { detail: { header: sensitivityHeader, expected: 'ETH, SUD, 42CFRPart2, PSYTHPN, GDIS, HIV or a phigate category' } });
    out.add(category);
  }
  return [...out];
}

/** Categories named by a FHIR resource's `meta.security` labels (unknown codes are ignored). */
export function categoriesOfSecurityLabels(labels: readonly { readonly system?: string; readonly code?: string }[] | undefined): readonly SensitiveCategory[] {
  const out = new Set<SensitiveCategory>();
  for (const label of labels ?? []) {
    if (label.code === undefined || (label.system !== undefined && label.system !== actCodeSystem)) continue;
    const category = categoryOfCode(label.code);
    if (category) out.add(category);
  }
  return [...out];
}
