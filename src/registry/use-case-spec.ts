// SPDX-License-Identifier: Apache-2.0
/**
 * The use-case record: what an AI use case is for, what data it may see, where that data may go,
 * and what its answers need before a person relies on them. One version of a use case is one
 * immutable `UseCaseSpec`; any change makes a new version that must be approved before it serves
 * traffic (registry/governance.ts). The schema is shared by the store, the admin API, the
 * policy-as-code YAML, the routing decision and the context/safety steps.
 *
 * Decision-support source attributes follow ONC's HTI-1 final rule, 45 CFR 170.315(b)(11)
 * (source attributes of predictive and evidence-based decision support interventions).
 */
import { z } from 'zod';
import { purposeOfUseCodes } from '../gateway/headers.js';
import { vendorId } from './vendor-spec.js';

export const useCaseIdPattern = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const useCaseId = z.string().regex(useCaseIdPattern, 'lowercase letters, digits, ".", "_" or "-" (at most 64)');

export const classifications = ['administrative', 'clinical_decision_support', 'autonomous_clinical_action'] as const;
export type Classification = (typeof classifications)[number];

export const riskLevels = ['low', 'medium', 'high'] as const;
export type RiskLevel = (typeof riskLevels)[number];

/**
 * Where a use case's data may go: `phi_free` (only Safe Harbor de-identified text leaves, to any
 * allowed endpoint), `baa_covered` (raw or pseudonymised PHI to endpoints under a signed BAA, or
 * self-hosted), `private` (self-hosted endpoints only).
 */
export const deploymentPatterns = ['phi_free', 'baa_covered', 'private'] as const;
export type DeploymentPattern = (typeof deploymentPatterns)[number];

/**
 * Categories the law protects beyond HIPAA's baseline. They go only to self-hosted endpoints, and
 * only for use cases that allow them. Header and FHIR security-label codes map onto these
 * (registry/sensitivity.ts): 42 CFR Part 2 substance-use records (HL7 ETH, SUD), psychotherapy
 * notes (PSYTHPN, 45 CFR 164.501), genetic information (GDIS, GINA), HIV/AIDS (HIV) where state
 * law requires.
 */
export const sensitiveCategories = ['substance_use_part2', 'psychotherapy_notes', 'genetic', 'hiv'] as const;
export type SensitiveCategory = (typeof sensitiveCategories)[number];

const fhirResourceType = z.string().regex(/^[A-Z][A-Za-z]{1,63}$/, 'a FHIR resource type such as Observation');
/** A top-level element name or a dotted path into it (`code`, `valueQuantity`, `dosage.text`). */
const fhirElement = z.string().regex(/^[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)*(\[x\])?$/, 'a FHIR element such as code or valueQuantity');

export const fhirScopeSchema = z.strictObject({
  resourceType: fhirResourceType,
  /** Elements kept after projection (minimum necessary); `id` and `resourceType` are always kept. */
  elements: z.array(fhirElement).min(1),
  /** Extra FHIR search parameters, e.g. { category: "laboratory", _sort: "-date" }. */
  search: z.record(z.string().regex(/^[a-z_][a-z0-9_:.-]*$/), z.string().max(200)).default({}),
  /** At most this many resources of this type. */
  limit: z.number().int().min(1).max(200).default(20),
});
export type FhirScope = z.infer<typeof fhirScopeSchema>;

export const hti1SourceAttributesSchema = z.strictObject({
  developer: z.string().min(1).max(500),
  intendedUse: z.string().min(1).max(2000),
  /** Description of the training data, its populations and collection period. */
  trainingData: z.string().min(1).max(4000),
  /** How it was validated (external/internal, measures, populations). */
  validation: z.string().min(1).max(4000),
  knownRisks: z.string().min(1).max(4000),
  limitations: z.string().min(1).max(4000),
  /** Fairness, ongoing maintenance and update schedule, when known. */
  fairness: z.string().max(4000).optional(),
  maintenance: z.string().max(4000).optional(),
});
export type Hti1SourceAttributes = z.infer<typeof hti1SourceAttributesSchema>;

export const useCaseSpecSchema = z.strictObject({
  name: z.string().min(1).max(200),
  /** The accountable person (user id or name). */
  owner: z.string().min(1).max(200),
  description: z.string().min(1).max(4000),
  classification: z.enum(classifications),
  /** Overrides the derived risk; needs a justification the committee reads. */
  riskOverride: z.strictObject({ level: z.enum(riskLevels), justification: z.string().min(20).max(2000) }).optional(),
  deploymentPattern: z.enum(deploymentPatterns),
  data: z
    .strictObject({
      /** FHIR resource types and elements the use case may see. Empty: no FHIR context. */
      fhir: z.array(fhirScopeSchema).default([]),
      /** Whether free text (the caller's own messages, notes) may be sent at all. */
      freeText: z.boolean().default(true),
      /** Notes retrieval: the k best chunks of the patient's documents the caller may see. */
      documents: z.strictObject({ k: z.number().int().min(1).max(50).default(5) }).optional(),
      /** Fetch the FHIR scope and retrieve documents for every request automatically. */
      autoContext: z.boolean().default(false),
    })
    .prefault({}),
  /** HL7 PurposeOfUse codes the use case may be invoked for. */
  purposes: z.array(z.enum(purposeOfUseCodes)).min(1),
  /** Roles that may invoke it. */
  roles: z.array(z.string().min(1).max(64)).min(1),
  /** Vendors (registry ids) whose endpoints may serve it; self-hosted endpoints need no vendor. */
  vendors: z.array(vendorId).default([]),
  /** Model names callers may ask for, each pinned to the upstream model version it was approved with. */
  models: z.array(z.strictObject({ name: z.string().min(1).max(128), upstream: z.string().min(1).max(256).optional() })).min(1),
  /** Sensitive categories this use case may receive (still self-hosted endpoints only). */
  sensitiveCategories: z.array(z.enum(sensitiveCategories)).default([]),
  output: z
    .strictObject({
      /** Label answers "AI-generated suggestion — clinical judgment required" (always on for decision support). */
      clinicalLabel: z.boolean().default(false),
      /** Hold answers in the human review queue before release (treatment-affecting use cases). */
      humanReview: z.boolean().default(false),
      /** Block the whole answer, not just redact, when it names another patient. */
      blockOnLeak: z.boolean().default(false),
    })
    .prefault({}),
  /** Days inference content (prompt and answer) is kept, encrypted; 0 = not kept. */
  inferenceLogRetentionDays: z.number().int().min(0).max(3650).default(0),
  /** The system prompt template; `{{context}}` is replaced by the rendered FHIR and document context. */
  promptTemplate: z.string().max(20_000).optional(),
  /** HTI-1 source attributes; required for clinical decision support and autonomous actions. */
  sourceAttributes: hti1SourceAttributesSchema.optional(),
  regulatory: z
    .strictObject({
      /** FDA clearance reference (510(k) K-number, De Novo DEN-number or PMA P-number); required for autonomous actions. */
      fdaClearance: z.string().regex(/^(K\d{6}|DEN\d{6}|P\d{6})$/, 'a 510(k) K-number, De Novo DEN-number or PMA P-number').optional(),
      /** Reference to the recorded regulatory assessment (e.g. non-device CDS under FD&C Act 520(o)(1)(E)); required for decision support. */
      assessment: z.string().min(1).max(2000).optional(),
    })
    .prefault({}),
});
export type UseCaseSpec = z.infer<typeof useCaseSpecSchema>;

/** Risk from classification and data, before any override. */
export function derivedRisk(spec: Pick<UseCaseSpec, 'classification' | 'deploymentPattern' | 'sensitiveCategories' | 'output'>): RiskLevel {
  if (spec.classification === 'autonomous_clinical_action') return 'high';
  if (spec.classification === 'clinical_decision_support') {
    return spec.sensitiveCategories.length > 0 || spec.output.humanReview ? 'high' : 'medium';
  }
  if (spec.sensitiveCategories.length > 0) return 'high';
  return spec.deploymentPattern === 'phi_free' ? 'low' : 'medium';
}

/** The risk the committee reviews: the override when given, else the derived level. */
export function effectiveRisk(spec: UseCaseSpec): RiskLevel {
  return spec.riskOverride?.level ?? derivedRisk(spec);
}

/** Decision-support answers always carry the clinical label. */
export function needsClinicalLabel(spec: UseCaseSpec): boolean {
  return spec.output.clinicalLabel || spec.classification !== 'administrative';
}
