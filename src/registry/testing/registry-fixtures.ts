// SPDX-License-Identifier: Apache-2.0
/** Synthetic vendor and use-case records for tests (no real contract data, no PHI). */
import type { UseCaseSpec } from '../use-case-spec.js';

/** A vendor with a signed BAA covering its chat service (zod input form). */
export function sampleVendor(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'acme-ai',
    legalName: 'Acme AI, Inc.',
    services: [
      { id: 'acme-chat', name: 'Acme Chat API', category: 'llm', eligibility: 'baa_available' },
      { id: 'acme-consumer', name: 'Acme for Home', category: 'consumer_app', eligibility: 'never' },
    ],
    baa: {
      status: 'signed',
      effectiveDate: '2025-01-01',
      expiryDate: '2027-12-31',
      coveredServices: ['acme-chat'],
      dataResidency: ['us'],
      zeroDataRetention: true,
      noTrainingOnCustomerData: true,
    },
    subprocessors: [],
    ...overrides,
  };
}

/** An administrative, PHI-free use case (zod input form). */
export function adminSpec(overrides: Partial<Record<keyof UseCaseSpec, unknown>> = {}): Record<string, unknown> {
  return {
    name: 'Prior authorisation letter drafts',
    owner: 'u-owner',
    description: 'Drafts prior authorisation letters from de-identified order details.',
    classification: 'administrative',
    deploymentPattern: 'phi_free',
    purposes: ['COVAUTH'],
    roles: ['care_coordinator'],
    vendors: ['acme-ai'],
    models: [{ name: 'acme-large', upstream: 'acme-large-2025-06-01' }],
    ...overrides,
  };
}

/** HTI-1 source attributes as a decision-support use case would record them. */
export const sampleSourceAttributes = {
  developer: 'Acme AI, Inc.',
  intendedUse: 'Suggests differential diagnoses for review by the treating clinician.',
  trainingData: 'Synthetic and licensed clinical text, 2015-2024, adult inpatients.',
  validation: 'Retrospective external validation at two sites; top-5 accuracy reported.',
  knownRisks: 'May omit rare conditions; may over-weight recent notes.',
  limitations: 'Not validated for paediatric patients.',
} as const;

/** A clinical decision support use case with source attributes and an assessment (zod input form). */
export function cdsSpec(overrides: Partial<Record<keyof UseCaseSpec, unknown>> = {}): Record<string, unknown> {
  return {
    name: 'Differential diagnosis suggestions',
    owner: 'u-owner',
    description: 'Suggests differentials from the problem list and recent labs.',
    classification: 'clinical_decision_support',
    deploymentPattern: 'baa_covered',
    data: { fhir: [{ resourceType: 'Condition', elements: ['code', 'onsetDateTime'] }], freeText: true },
    purposes: ['TREAT'],
    roles: ['physician'],
    vendors: ['acme-ai'],
    models: [{ name: 'acme-large', upstream: 'acme-large-2025-06-01' }],
    output: { clinicalLabel: true, humanReview: false },
    sourceAttributes: sampleSourceAttributes,
    regulatory: { assessment: 'Non-device CDS assessment NDCDS-2025-04, on file with compliance.' },
    ...overrides,
  };
}
