// SPDX-License-Identifier: Apache-2.0
/**
 * Whether a registry change widens PHI access. Pure: the policy-as-code import refuses a widening
 * change unless it carries the approvals governance asks for, and applies a narrowing one
 * directly.
 *
 * Vendor (BAA) widening: a BAA newly signed; extended (later expiry, earlier effective date, or
 * a date removed); covering more services; residency widened (a region added, or the list
 * emptied, which means unrestricted); weaker data terms (zero retention or no-training turned
 * off); a service made BAA-eligible; a subprocessor dropped, newly signed, extended or applied to
 * fewer services (each of which can turn a service's coverage on).
 *
 * Use-case widening, comparing the serving spec before and after: the deployment pattern moved
 * toward more PHI (phi_free < private < baa_covered: a private use case never leaves the
 * building, so it is narrower than baa_covered for cloud egress); more vendors, models (a new
 * name or a new upstream pin), purposes, roles, sensitive categories, FHIR resource types or
 * elements, a higher FHIR limit or changed FHIR search, documents retrieval turned on or given
 * more chunks, automatic context turned on; free text turned on; human review, leak blocking or
 * the clinical label turned off; the classification changed; inference content kept longer; a
 * lower effective risk by a changed risk override. A use case going live or resuming widens from nothing.
 */
import { dayStart } from './baa.js';
import { effectiveRisk, riskLevels, type DeploymentPattern, type UseCaseSpec } from './use-case-spec.js';
import type { BaaStatus, HipaaEligibility, Vendor } from './vendor-spec.js';

export interface WideningFinding {
  /** `vendor:<id>` or `use_case:<id>`. */
  readonly subject: string;
  /** The field path that widened. */
  readonly path: string;
  /** The rule, e.g. `baa_newly_signed`, `roles_added`. */
  readonly rule: string;
  /** New list members, when the rule is about a list (ids, codes, names: never free text). */
  readonly added?: readonly string[];
}

const patternRank: Readonly<Record<DeploymentPattern, number>> = { phi_free: 0, private: 1, baa_covered: 2 };
const eligibilityRank: Readonly<Record<HipaaEligibility, number>> = { never: 0, none: 1, baa_available: 2 };

const gained = (before: readonly string[], after: readonly string[]): string[] => [...new Set(after.filter((x) => !before.includes(x)))].sort();

/** Epoch ms of the end of the expiry day; +Infinity without an expiry date. */
const expiryEnd = (day: string | undefined): number => (day === undefined ? Number.POSITIVE_INFINITY : dayStart(day) + 86_400_000);
const effectiveStart = (day: string | undefined): number => (day === undefined ? Number.NEGATIVE_INFINITY : dayStart(day));

/** Subprocessor services as a set; empty means every service of the vendor. */
function subprocessorReachesAll(services: readonly string[]): boolean {
  return services.length === 0;
}

/** Widening from `before` (undefined: the vendor is new) to `after`. */
export function vendorWidening(before: Vendor | undefined, after: Vendor): WideningFinding[] {
  const subject = `vendor:${after.id}`;
  const out: WideningFinding[] = [];
  const push = (path: string, rule: string, added?: readonly string[]) => out.push({ subject, path, rule, ...(added === undefined ? {} : { added }) });
  const signed = (s: BaaStatus) => s === 'signed';
  if (!before) {
    if (signed(after.baa.status)) push('baa.status', 'baa_newly_signed');
    return out;
  }
  const b = before.baa;
  const a = after.baa;
  if (!signed(b.status) && signed(a.status)) push('baa.status', 'baa_newly_signed');
  if (signed(a.status) && signed(b.status)) {
    if (expiryEnd(a.expiryDate) > expiryEnd(b.expiryDate)) push('baa.expiryDate', 'baa_extended');
    if (effectiveStart(a.effectiveDate) < effectiveStart(b.effectiveDate)) push('baa.effectiveDate', 'baa_extended');
  }
  const services = gained(b.coveredServices, a.coveredServices);
  if (services.length > 0) push('baa.coveredServices', 'baa_services_added', services);
  if (b.dataResidency.length > 0) {
    if (a.dataResidency.length === 0) push('baa.dataResidency', 'residency_unrestricted');
    else {
      const regions = gained(b.dataResidency, a.dataResidency);
      if (regions.length > 0) push('baa.dataResidency', 'residency_widened', regions);
    }
  }
  if (b.zeroDataRetention && !a.zeroDataRetention) push('baa.zeroDataRetention', 'zero_retention_dropped');
  if (b.noTrainingOnCustomerData && !a.noTrainingOnCustomerData) push('baa.noTrainingOnCustomerData', 'no_training_dropped');
  for (const service of after.services) {
    const old = before.services.find((s) => s.id === service.id);
    if (old && eligibilityRank[service.eligibility] > eligibilityRank[old.eligibility]) push(`services[${service.id}].eligibility`, 'service_made_eligible');
  }
  for (const oldSub of before.subprocessors) {
    const sub = after.subprocessors.find((s) => s.name === oldSub.name);
    const path = `subprocessors[${oldSub.name}]`;
    if (!sub) {
      push(path, 'subprocessor_removed');
      continue;
    }
    if (!signed(oldSub.baa.status) && signed(sub.baa.status)) push(`${path}.baa.status`, 'subprocessor_baa_signed');
    if (signed(oldSub.baa.status) && signed(sub.baa.status) && expiryEnd(sub.baa.expiryDate) > expiryEnd(oldSub.baa.expiryDate)) push(`${path}.baa.expiryDate`, 'subprocessor_baa_extended');
    // Fewer services behind the subprocessor means its BAA gates fewer services.
    const narrowed = subprocessorReachesAll(oldSub.services)
      ? !subprocessorReachesAll(sub.services)
      : !subprocessorReachesAll(sub.services) && oldSub.services.some((s) => !sub.services.includes(s));
    if (narrowed) push(`${path}.services`, 'subprocessor_scope_narrowed');
  }
  return out;
}

const modelKey = (m: { readonly name: string; readonly upstream?: string | undefined }): string => (m.upstream === undefined ? m.name : `${m.name}@${m.upstream}`);

/** Widening of a use case's serving spec from `before` to `after`. */
export function useCaseSpecWidening(id: string, before: UseCaseSpec, after: UseCaseSpec): WideningFinding[] {
  const subject = `use_case:${id}`;
  const out: WideningFinding[] = [];
  const push = (path: string, rule: string, added?: readonly string[]) => out.push({ subject, path, rule, ...(added === undefined ? {} : { added }) });
  const list = (path: string, rule: string, b: readonly string[], a: readonly string[]) => {
    const added = gained(b, a);
    if (added.length > 0) push(path, rule, added);
  };
  if (before.classification !== after.classification) push('classification', 'classification_changed');
  if (patternRank[after.deploymentPattern] > patternRank[before.deploymentPattern]) push('deploymentPattern', 'deployment_pattern_widened');
  list('vendors', 'vendors_added', before.vendors, after.vendors);
  list('models', 'models_added', before.models.map(modelKey), after.models.map(modelKey));
  list('purposes', 'purposes_added', before.purposes, after.purposes);
  list('roles', 'roles_added', before.roles, after.roles);
  list('sensitiveCategories', 'sensitive_categories_added', before.sensitiveCategories, after.sensitiveCategories);
  for (const scope of after.data.fhir) {
    const old = before.data.fhir.find((s) => s.resourceType === scope.resourceType);
    const path = `data.fhir[${scope.resourceType}]`;
    if (!old) {
      push(path, 'fhir_types_added', [scope.resourceType]);
      continue;
    }
    list(`${path}.elements`, 'fhir_elements_added', old.elements, scope.elements);
    if (scope.limit > old.limit) push(`${path}.limit`, 'fhir_limit_raised');
    const searchKeys = [...new Set([...Object.keys(old.search), ...Object.keys(scope.search)])];
    if (searchKeys.some((k) => old.search[k] !== scope.search[k])) push(`${path}.search`, 'fhir_search_changed');
  }
  if (!before.data.freeText && after.data.freeText) push('data.freeText', 'free_text_enabled');
  if (after.data.documents !== undefined) {
    if (before.data.documents === undefined) push('data.documents', 'documents_enabled');
    else if (after.data.documents.k > before.data.documents.k) push('data.documents.k', 'documents_k_raised');
  }
  if (!before.data.autoContext && after.data.autoContext) push('data.autoContext', 'auto_context_enabled');
  if (before.output.humanReview && !after.output.humanReview) push('output.humanReview', 'review_disabled');
  if (before.output.blockOnLeak && !after.output.blockOnLeak) push('output.blockOnLeak', 'leak_blocking_disabled');
  if (before.output.clinicalLabel && !after.output.clinicalLabel) push('output.clinicalLabel', 'clinical_label_disabled');
  if (after.inferenceLogRetentionDays > before.inferenceLogRetentionDays) push('inferenceLogRetentionDays', 'content_retention_raised');
  // A lower risk from narrower data is no widening; a lower risk by a new override is.
  const overrideChanged = before.riskOverride?.level !== after.riskOverride?.level || before.riskOverride?.justification !== after.riskOverride?.justification;
  if (overrideChanged && riskLevels.indexOf(effectiveRisk(after)) < riskLevels.indexOf(effectiveRisk(before))) push('riskOverride', 'risk_lowered');
  return out;
}
