// SPDX-License-Identifier: Apache-2.0
/**
 * Use-case governance, pure: the lifecycle transition tables, the committee rules and the
 * go-live checks. The service (registry/use-cases.ts) and the policy-as-code import
 * (registry/policy-as-code.ts) both decide through these functions, so a change made at the
 * console, at the CLI or from a YAML file obeys the same rules.
 *
 * Use case: draft → submitted → approved → live → suspended; suspended → live; any state but
 * retired → retired. A submitted use case whose version is rejected (or withdrawn by a newer
 * proposal) goes back to draft.
 *
 * Version: draft → submitted → approved | rejected; approved → superseded. A draft or submitted
 * version is superseded when a newer proposal replaces it; a superseded version that was once
 * approved comes back (→ approved) only by a rollback.
 *
 * Committee: every required seat approves; one person fills at most one seat; the submitter of a
 * version decides nothing about it; any rejection rejects the version. The clinical champion's
 * seat (`when: clinical`) is required only for use cases classified other than administrative.
 *
 * Go-live (FDA and ONC HTI-1, 45 CFR 170.315(b)(11)): an autonomous clinical action needs an FDA
 * clearance reference; clinical decision support needs a recorded regulatory assessment; both
 * need the HTI-1 source attributes.
 */
import { GatewayError } from '../kernel/errors.js';
import type { UseCaseState, VersionState } from './registry-view.js';
import type { CommitteeSeat } from './governance-config.js';
import type { Classification, UseCaseSpec } from './use-case-spec.js';

/** Every allowed use-case state change; anything not listed is refused. */
export const useCaseTransitions: Readonly<Record<UseCaseState, readonly UseCaseState[]>> = {
  draft: ['submitted', 'retired'],
  submitted: ['approved', 'draft', 'retired'],
  approved: ['live', 'retired'],
  live: ['suspended', 'retired'],
  suspended: ['live', 'retired'],
  retired: [],
};

/** Every allowed version state change; anything not listed is refused. */
export const versionTransitions: Readonly<Record<VersionState, readonly VersionState[]>> = {
  draft: ['submitted', 'superseded'],
  submitted: ['approved', 'rejected', 'superseded'],
  approved: ['superseded'],
  rejected: [],
  superseded: ['approved'],
};

/** Whether a use case may move from one state to another in one step. */
export function canTransitionUseCase(from: UseCaseState, to: UseCaseState): boolean {
  return useCaseTransitions[from].includes(to);
}

/** Whether a version may move from one state to another in one step. */
export function canTransitionVersion(from: VersionState, to: VersionState): boolean {
  return versionTransitions[from].includes(to);
}

/** Whether `to` can be reached from `from` through allowed transitions (zero or more steps). */
export function canReachUseCaseState(from: UseCaseState, to: UseCaseState): boolean {
  const seen = new Set<UseCaseState>([from]);
  const queue: UseCaseState[] = [from];
  while (queue.length > 0) {
    const state = queue.shift() as UseCaseState;
    if (state === to) return true;
    for (const next of useCaseTransitions[state]) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return false;
}

/** Throws `use_case_invalid_transition` unless the use-case transition is allowed. */
export function assertUseCaseTransition(from: UseCaseState, to: UseCaseState, action: string): void {
  if (!canTransitionUseCase(from, to)) throw new GatewayError('use_case_invalid_transition', { detail: { action, from, to, subject: 'use_case' } });
}

/** Throws `use_case_invalid_transition` unless the version transition is allowed. */
export function assertVersionTransition(from: VersionState, to: VersionState, action: string): void {
  if (!canTransitionVersion(from, to)) throw new GatewayError('use_case_invalid_transition', { detail: { action, from, to, subject: 'version' } });
}

/** Whether a classification counts as clinical (needs the clinical champion's seat). */
export function isClinical(classification: Classification): boolean {
  return classification !== 'administrative';
}

/** The seats that must approve a version of this classification, in configured order. */
export function requiredSeats(committee: readonly CommitteeSeat[], classification: Classification): readonly CommitteeSeat[] {
  return committee.filter((seat) => seat.when === 'always' || isClinical(classification));
}

export type Decision = 'approve' | 'reject';

/** One recorded committee decision on a version. */
export interface CommitteeDecision {
  readonly seat: string;
  readonly userId: string;
  readonly decision: Decision;
  /** The roles the person held when checked: at decision time, or now for an import. */
  readonly roles: readonly string[];
}

/** Why a decision does not count. */
export type DecisionProblem =
  | 'submitter_cannot_decide'
  | 'seat_not_required'
  | 'role_not_held'
  | 'seat_filled'
  | 'already_decided';

export interface ApprovalEvaluation {
  /** `rejected` when any valid rejection exists; `approved` when every required seat has a valid approval. */
  readonly status: 'pending' | 'approved' | 'rejected';
  /** Seat → the person who approved in it. */
  readonly filled: Readonly<Record<string, string>>;
  /** Required seats still open, in configured order. */
  readonly missing: readonly string[];
  /** Decisions that do not count, by their index in the input, with the reason. */
  readonly invalid: readonly { readonly index: number; readonly problem: DecisionProblem }[];
}

export interface ApprovalFacts {
  readonly committee: readonly CommitteeSeat[];
  readonly classification: Classification;
  /** Who submitted the version (undefined when nobody did, e.g. an import of a version's history). */
  readonly submittedBy: string | undefined;
}

/** The problem with one more decision given the ones already counted, or undefined when it counts. */
function problemOf(
  facts: ApprovalFacts,
  seats: readonly CommitteeSeat[],
  counted: readonly CommitteeDecision[],
  decision: CommitteeDecision,
): DecisionProblem | undefined {
  if (facts.submittedBy !== undefined && decision.userId === facts.submittedBy) return 'submitter_cannot_decide';
  const seat = seats.find((s) => s.seat === decision.seat);
  if (!seat) return 'seat_not_required';
  if (!decision.roles.includes(seat.role)) return 'role_not_held';
  if (counted.some((d) => d.userId === decision.userId)) return 'already_decided';
  if (decision.decision === 'approve' && counted.some((d) => d.decision === 'approve' && d.seat === decision.seat)) return 'seat_filled';
  return undefined;
}

/**
 * Evaluates a version's decisions, in the order they were made. A decision that breaks a rule
 * does not count (and is reported); the rest decide the outcome.
 */
export function evaluateApprovals(facts: ApprovalFacts, decisions: readonly CommitteeDecision[]): ApprovalEvaluation {
  const seats = requiredSeats(facts.committee, facts.classification);
  const counted: CommitteeDecision[] = [];
  const invalid: { index: number; problem: DecisionProblem }[] = [];
  decisions.forEach((decision, index) => {
    const problem = problemOf(facts, seats, counted, decision);
    if (problem === undefined) counted.push(decision);
    else invalid.push({ index, problem });
  });
  const filled: Record<string, string> = {};
  for (const d of counted) if (d.decision === 'approve') filled[d.seat] = d.userId;
  const missing = seats.filter((s) => filled[s.seat] === undefined).map((s) => s.seat);
  const status = counted.some((d) => d.decision === 'reject') ? 'rejected' : missing.length === 0 ? 'approved' : 'pending';
  return { status, filled, missing, invalid };
}

/**
 * The seat a new decision by `actor` goes in, checked against the decisions already recorded.
 * With `seat` given, that seat; otherwise the first required seat (in configured order) whose
 * role the actor holds and that is still open (for a rejection: any seat whose role they hold).
 * Throws `use_case_approval_refused` naming the rule that stops it.
 */
export function seatForDecision(
  facts: ApprovalFacts,
  recorded: readonly CommitteeDecision[],
  actor: { readonly userId: string; readonly roles: readonly string[] },
  decision: Decision,
  seat?: string,
): string {
  const seats = requiredSeats(facts.committee, facts.classification);
  const invalid = new Set(evaluateApprovals(facts, recorded).invalid.map((i) => i.index));
  const counted = recorded.filter((_, index) => !invalid.has(index));
  const refuse = (problem: DecisionProblem | 'no_seat_for_roles'): never => {
    throw new GatewayError('use_case_approval_refused', { detail: { rule: problem, ...(seat === undefined ? {} : { seat }) } });
  };
  const candidates = seat !== undefined ? [seat] : seats.filter((s) => actor.roles.includes(s.role)).map((s) => s.seat);
  if (candidates.length === 0) refuse('no_seat_for_roles');
  let firstProblem: DecisionProblem | undefined;
  for (const candidate of candidates) {
    const problem = problemOf(facts, seats, counted, { seat: candidate, userId: actor.userId, decision, roles: actor.roles });
    if (problem === undefined) return candidate;
    firstProblem ??= problem;
  }
  return refuse(firstProblem ?? 'no_seat_for_roles');
}

/** What stops a spec from going live. */
export type GoLiveProblem = 'fda_clearance_required' | 'regulatory_assessment_required' | 'source_attributes_required';

/** The go-live checks for a version's spec; empty when it may go live. */
export function goLiveProblems(spec: Pick<UseCaseSpec, 'classification' | 'regulatory' | 'sourceAttributes'>): readonly GoLiveProblem[] {
  const problems: GoLiveProblem[] = [];
  if (spec.classification === 'autonomous_clinical_action' && spec.regulatory.fdaClearance === undefined) problems.push('fda_clearance_required');
  if (spec.classification === 'clinical_decision_support' && spec.regulatory.assessment === undefined) problems.push('regulatory_assessment_required');
  if (spec.classification !== 'administrative' && spec.sourceAttributes === undefined) problems.push('source_attributes_required');
  return problems;
}

/** Throws `use_case_go_live_blocked` listing the problems, if any. */
export function assertGoLive(spec: Pick<UseCaseSpec, 'classification' | 'regulatory' | 'sourceAttributes'>): void {
  const problems = goLiveProblems(spec);
  if (problems.length > 0) throw new GatewayError('use_case_go_live_blocked', { detail: { problems } });
}
