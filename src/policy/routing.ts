// SPDX-License-Identifier: Apache-2.0
/**
 * The routing decision: for one request, which endpoints may serve it and in which form the
 * payload leaves — raw, Safe Harbor de-identified (45 CFR 164.514(b)(2)) or pseudonymised — or a
 * refusal with a reason code. Pure: the registry facts (BAA coverage at this moment, data
 * residency) are computed by the caller and passed in, so the same function is tested over its
 * whole input space (routing.test.ts) and called by the protect step.
 *
 * The rules, in the order they apply (the first refusal wins):
 *
 *  1. No use case named and `policy.requireUseCase` on → `use_case_required`.
 *  2. With a use case: none of the caller's roles is among the use case's roles → `permission_denied`.
 *  3. With a use case: the requested model is not among its models → `model_not_allowed_for_use_case`.
 *  4. No endpoint serves the model → `model_not_found`.
 *  5. With a use case: only self-hosted endpoints and endpoints of the use case's vendors remain
 *     (none left → `vendor_not_allowed_for_use_case`); when the use case pins the model's upstream
 *     version, only endpoints serving exactly that version remain (none → `model_not_allowed_for_use_case`).
 *  6. Sensitive categories (42 CFR Part 2 substance-use records, psychotherapy notes, genetic
 *     data, and HIV unless `policy.hivRequiresSelfHosted` is off): each must be allowed by the use
 *     case (no use case allows none) → else `sensitive_category_not_allowed`; then only
 *     self-hosted endpoints remain → none: `sensitive_data_requires_self_hosted`.
 *  7. By deployment pattern:
 *     - none (no use case): today's behaviour — the first endpoint is the primary; cleared for
 *       PHI → the payload goes as sent, otherwise Safe Harbor de-identified.
 *     - `phi_free`: any remaining endpoint, always Safe Harbor de-identified, never raw or pseudonymised.
 *     - `baa_covered`: only endpoints cleared for PHI (self-hosted, or BAA-covered now within
 *       data residency); none → `baa_not_in_force` when the first endpoint's BAA has lapsed
 *       (expired, terminated, not yet effective), else `no_baa_covered_endpoint`.
 *     - `private`: only self-hosted endpoints; none → `no_self_hosted_endpoint`.
 *     A route cleared for PHI carries it `raw`, or `pseudonymised` when the configured
 *     de-identification policy is a pseudonymisation (surrogates, date shift): the deployer chose
 *     that PHI-cleared vendors see surrogates, never real identifiers. Pseudonymised text is still
 *     PHI, so it goes only where raw PHI may.
 *  8. Fallbacks: the endpoints the primary names as fallbacks, in its order, that remain and
 *     have the primary's clearance — a failure never moves a payload somewhere less protected.
 *  9. Form: `raw`, `pseudonymised`, or for Safe Harbor `deidentified` — `phi_free` when the
 *     detection pass found no PHI at all.
 */
import type { EndpointConfig } from '../config/schema.js';
import type { ErrorCode } from '../kernel/errors.js';
import type { Coverage } from '../registry/baa.js';
import { clearanceFrom, endpointClearance, endpointRegionOf, type Clearance, type ClearanceReason } from '../registry/endpoints.js';
import type { RegistrySnapshot } from '../registry/registry-view.js';
import { sensitiveCategories, type SensitiveCategory, type UseCaseSpec } from '../registry/use-case-spec.js';
import type { OutboundForm } from './outbound.js';

/** What is done to the payload before it leaves. */
export type RouteTransform = 'raw' | 'safe_harbor' | 'pseudonymised';

/** The configured de-identification policy, by kind: a Safe Harbor method, or a pseudonymisation. */
export type DeidPolicyKind = 'safe_harbor' | 'pseudonymisation';

/** The kind of a configured `deid.policy`. */
export function deidPolicyKind(policy: 'tokens' | 'redact' | 'generalise' | 'surrogates' | 'date-shift'): DeidPolicyKind {
  return policy === 'surrogates' || policy === 'date-shift' ? 'pseudonymisation' : 'safe_harbor';
}

/** One endpoint that serves the requested model, with the registry facts routing needs. */
export interface RouteCandidate {
  readonly id: string;
  readonly vendor: string | undefined;
  readonly selfHosted: boolean;
  readonly region: string | undefined;
  /** The vendor's model version this endpoint serves the requested name as. */
  readonly upstream: string;
  /** Endpoint ids this one names as fallbacks, in order. */
  readonly fallbacks: readonly string[];
  /** The vendor's BAA coverage of the endpoint's service at decision time; undefined when it names no vendor or service. */
  readonly coverage: Coverage | undefined;
  /** The BAA's data residency (empty: unrestricted). */
  readonly residency: readonly string[];
}

/** The parts of a live use-case version the decision reads. */
export type RouteUseCase = Pick<UseCaseSpec, 'deploymentPattern' | 'roles' | 'vendors' | 'models' | 'sensitiveCategories'>;

export interface RouteInput {
  /** The live use-case version the request named; undefined when it named none. */
  readonly useCase: RouteUseCase | undefined;
  readonly requireUseCase: boolean;
  /** The roles that invoke the use case (a service acting for a user: the user's). */
  readonly roles: readonly string[];
  /** The model name the caller asked for. */
  readonly model: string;
  /** Every endpoint serving the model, in preference order (EndpointDirectory.routesFor). */
  readonly candidates: readonly RouteCandidate[];
  /** Whether the detection pass found any PHI in the payload. */
  readonly phiFound: boolean;
  /** Sensitive categories the payload carries (caller's header and gathered FHIR labels). */
  readonly sensitivity: readonly SensitiveCategory[];
  readonly deidPolicy: DeidPolicyKind;
  readonly hivRequiresSelfHosted: boolean;
}

export type RouteRefusalCode = Extract<
  ErrorCode,
  | 'use_case_required'
  | 'permission_denied'
  | 'model_not_allowed_for_use_case'
  | 'model_not_found'
  | 'vendor_not_allowed_for_use_case'
  | 'sensitive_category_not_allowed'
  | 'sensitive_data_requires_self_hosted'
  | 'baa_not_in_force'
  | 'no_baa_covered_endpoint'
  | 'no_self_hosted_endpoint'
>;

/** Reason codes (PHI-free) that go with a refusal's code. */
export type RouteRefusalReason =
  | 'use_case_required'
  | 'role_not_allowed_for_use_case'
  | 'model_not_in_use_case'
  | 'upstream_pin_mismatch'
  | 'no_endpoint_serves_model'
  | 'vendor_not_in_use_case'
  | 'private_use_case'
  | SensitiveCategory
  | Exclude<ClearanceReason, 'self_hosted' | 'covered'>;

export type RouteDecision =
  | {
      readonly allow: true;
      /** The primary, then its eligible fallbacks. */
      readonly endpoints: readonly RouteCandidate[];
      readonly transform: RouteTransform;
      readonly form: OutboundForm;
      /** Whether the chosen endpoints are cleared for PHI (they all share the primary's clearance). */
      readonly cleared: boolean;
    }
  | { readonly allow: false; readonly code: RouteRefusalCode; readonly reason: RouteRefusalReason };

/** BAA states that mean "there was a BAA, and it is not in force now". */
const lapsed: ReadonlySet<ClearanceReason> = new Set(['baa_expired', 'baa_terminated', 'baa_not_yet_effective']);

function refuse(code: RouteRefusalCode, reason: RouteRefusalReason): RouteDecision {
  return { allow: false, code, reason };
}

/** A candidate's PHI clearance (registry/endpoints.ts holds the rule). */
export function candidateClearance(candidate: RouteCandidate): Clearance {
  return clearanceFrom(candidate.selfHosted, candidate.coverage, candidate.region, candidate.residency);
}

/** The sensitive categories that restrict routing: all of them, HIV only where state law requires it (the option). */
export function restrictingCategories(sensitivity: readonly SensitiveCategory[], hivRequiresSelfHosted: boolean): SensitiveCategory[] {
  return sensitiveCategories.filter((category) => sensitivity.includes(category) && (category !== 'hiv' || hivRequiresSelfHosted));
}

/**
 * Decides the route. See the module comment for the rules.
 *
 * @example
 * const decision = decideRoute({ useCase: live.spec, requireUseCase: false, roles: ['physician'], model: 'gpt-4o',
 *   candidates, phiFound: true, sensitivity: [], deidPolicy: 'safe_harbor', hivRequiresSelfHosted: true });
 * if (!decision.allow) throw new GatewayError(decision.code, { detail: { reason: decision.reason } });
 */
export function decideRoute(input: RouteInput): RouteDecision {
  const spec = input.useCase;
  if (spec === undefined && input.requireUseCase) return refuse('use_case_required', 'use_case_required');
  let pin: string | undefined;
  if (spec !== undefined) {
    if (!input.roles.some((role) => spec.roles.includes(role))) return refuse('permission_denied', 'role_not_allowed_for_use_case');
    const entry = spec.models.find((m) => m.name === input.model);
    if (entry === undefined) return refuse('model_not_allowed_for_use_case', 'model_not_in_use_case');
    pin = entry.upstream;
  }
  if (input.candidates.length === 0) return refuse('model_not_found', 'no_endpoint_serves_model');

  let pool = input.candidates;
  if (spec !== undefined) {
    pool = pool.filter((c) => c.selfHosted || (c.vendor !== undefined && spec.vendors.includes(c.vendor)));
    if (pool.length === 0) return refuse('vendor_not_allowed_for_use_case', 'vendor_not_in_use_case');
    if (pin !== undefined) {
      const pinned = pin;
      pool = pool.filter((c) => c.upstream === pinned);
      if (pool.length === 0) return refuse('model_not_allowed_for_use_case', 'upstream_pin_mismatch');
    }
  }

  const sensitive = restrictingCategories(input.sensitivity, input.hivRequiresSelfHosted);
  if (sensitive.length > 0) {
    const notAllowed = sensitive.find((category) => spec === undefined || !spec.sensitiveCategories.includes(category));
    if (notAllowed !== undefined) return refuse('sensitive_category_not_allowed', notAllowed);
    pool = pool.filter((c) => c.selfHosted);
    if (pool.length === 0) return refuse('sensitive_data_requires_self_hosted', sensitive[0] as SensitiveCategory);
  }

  const rated = pool.map((candidate) => ({ candidate, cleared: candidateClearance(candidate) }));
  const phiTransform: RouteTransform = input.deidPolicy === 'pseudonymisation' ? 'pseudonymised' : 'raw';
  let eligible = rated;
  let transform: RouteTransform;
  switch (spec?.deploymentPattern) {
    case undefined:
      transform = (rated[0] as (typeof rated)[number]).cleared.cleared ? phiTransform : 'safe_harbor';
      break;
    case 'phi_free':
      transform = 'safe_harbor';
      break;
    case 'baa_covered': {
      eligible = rated.filter((r) => r.cleared.cleared);
      if (eligible.length === 0) {
        const first = (rated[0] as (typeof rated)[number]).cleared.reason as Exclude<ClearanceReason, 'self_hosted' | 'covered'>;
        return refuse(lapsed.has(first) ? 'baa_not_in_force' : 'no_baa_covered_endpoint', first);
      }
      transform = phiTransform;
      break;
    }
    case 'private':
      eligible = rated.filter((r) => r.candidate.selfHosted);
      if (eligible.length === 0) return refuse('no_self_hosted_endpoint', 'private_use_case');
      transform = phiTransform;
      break;
  }

  const primary = eligible[0] as (typeof eligible)[number];
  const chosen: RouteCandidate[] = [primary.candidate];
  for (const id of primary.candidate.fallbacks) {
    const fallback = eligible.find((r) => r.candidate.id === id);
    if (!fallback || chosen.includes(fallback.candidate) || fallback.cleared.cleared !== primary.cleared.cleared) continue;
    chosen.push(fallback.candidate);
  }
  const form: OutboundForm = transform === 'safe_harbor' ? (input.phiFound ? 'deidentified' : 'phi_free') : transform;
  return { allow: true, endpoints: chosen, transform, form, cleared: primary.cleared.cleared };
}

/** The routing facts of one endpoint serving `upstream`, read from `snapshot` at `now`. */
export function toRouteCandidate(endpoint: EndpointConfig, upstream: string, snapshot: RegistrySnapshot, now: number): RouteCandidate {
  const clearance = endpointClearance(endpoint, snapshot, now);
  return {
    id: endpoint.id,
    vendor: endpoint.vendor,
    selfHosted: endpoint.selfHosted,
    region: endpointRegionOf(endpoint),
    upstream,
    fallbacks: endpoint.fallbacks,
    coverage: clearance.coverage,
    residency: clearance.residency,
  };
}
