// SPDX-License-Identifier: Apache-2.0
/**
 * The human review queue for treatment-affecting use cases (`output.humanReview`). The answer
 * the model gave is held — encrypted, never released — until a clinician decides:
 *
 * ```
 *   queued ──claim──▶ claimed ──approve──▶ approved   (released as the model wrote it)
 *     ▲                 │  │  ──edit─────▶ edited     (released as the reviewer rewrote it; both kept)
 *     └──unclaim────────┘  │  ──reject───▶ rejected   (withheld, with a reason)
 *        (or the lease     └──claim by another reviewer once the lease has run out
 *         runs out)
 * ```
 *
 * Rules, checked on every call:
 * - the reviewer is a person holding `review:decide` who may see the patient through the care
 *   team or the unit for the purpose the answer was requested for (access/decision.ts); no
 *   break-glass, and never the requester (four eyes);
 * - a decision needs an unexpired claim held by the decider, on the version they read;
 * - only the requester fetches the decided answer, and only while they may still see the patient.
 *
 * Every call is audited (`review.*`, review/audit.ts), refusals included; reads of held content
 * are durable in the audit log before the content is returned. Each decision records a FHIR R4
 * Provenance resource (review/provenance.ts).
 *
 * ```ts
 * const queue = reviewQueueFor(deps);
 * const held = await queue.hold({ ... });                  // from the pipeline
 * await queue.claim(reviewer, held.id);
 * await queue.edit(reviewer, held.id, { content: 'Start metformin 500 mg once daily.' });
 * const released = await queue.fetch(requester, held.id); // the requester's copy
 * ```
 */
import type { AuditWriter } from '../audit/writer.js';
import type { AccessService, AccessDeps } from '../access/service.js';
import { accessServiceFor } from '../access/service.js';
import { decideAccess } from '../access/decision.js';
import { hasPermission, adminActions, requestActions } from '../access/rbac.js';
import type { PurposeOfUse } from '../gateway/headers.js';
import type { Citation } from '../gateway/pipeline/context.js';
import type { Clock } from '../kernel/clock.js';
import { GatewayError, errors, isGatewayError } from '../kernel/errors.js';
import { uuidv7 } from '../kernel/ids.js';
import type { ChatResult } from '../providers/types.js';
import type { LiveUseCase } from '../registry/registry-view.js';
import type { Hti1SourceAttributes } from '../registry/use-case-spec.js';
import { needsClinicalLabel } from '../registry/use-case-spec.js';
import { createReviewRepo, type ReviewDecision, type ReviewItem, type ReviewRepo, type ReviewStatus } from '../store/repos/review-repo.js';
import { extractConfidence } from './clinical-label.js';
import { reviewAuditEvent, reviewAuditEventTypes, type ReviewActor, type ReviewAuditEventType, type ReviewRequest } from './audit.js';
import type { ReviewConfig } from './config-schema.js';
import { toFhirProvenance, type FhirProvenance } from './provenance.js';

export type { ReviewActor, ReviewRequest } from './audit.js';

/** What is kept (encrypted) with a held answer: the answer and what its release needs. */
export interface HeldAnswer {
  readonly result: ChatResult;
  readonly citations: readonly Citation[];
  /** Stated by the model in its answer, when it stated one. */
  readonly confidence?: number;
  readonly labelled: boolean;
  readonly jsonMode: boolean;
  readonly sourceAttributes?: Hti1SourceAttributes;
}

/** An answer to hold, from the pipeline. */
export interface HoldInput {
  readonly request: ReviewRequest;
  /** The user whose patient access was decided for the request. */
  readonly subjectUserId: string;
  readonly patient?: string | undefined;
  readonly purpose?: string | undefined;
  readonly useCase: LiveUseCase;
  /** The audit event type of the surface that asked. */
  readonly surface: string;
  readonly endpoint: { readonly id: string; readonly vendor?: string | undefined };
  readonly upstreamModel: string;
  readonly result: ChatResult;
  readonly citations: readonly Citation[];
  readonly jsonMode: boolean;
}

/** A queue entry as reviewers list it: ids, states and times, no content. */
export type ReviewSummary = Omit<ReviewItem, 'answerHmac' | 'hasPatient'>;

/** A held answer opened by a reviewer. */
export interface ReviewDetail extends ReviewSummary {
  readonly patient: string | null;
  readonly answer: HeldAnswer;
  /** The reviewer's version, when approved with edits. */
  readonly edited: string | null;
  readonly reason: string | null;
}

/** What the requester gets back. */
export interface ReleasedReview {
  readonly item: ReviewSummary;
  /** Present once approved or edited. */
  readonly answer?: HeldAnswer;
  /** The reviewer's text, when edited. */
  readonly edited?: string;
  /** Present when rejected. */
  readonly reason?: string;
}

export interface ReviewListFilter {
  /** Default: queued and claimed. */
  readonly statuses?: readonly ReviewStatus[];
  readonly useCaseId?: string;
  /** Only items this reviewer holds. */
  readonly mine?: boolean;
  readonly limit?: number;
}

export interface ReviewQueue {
  /** Holds an answer; returns the new (queued) item. Audited as `review.create`. */
  hold(input: HoldInput): Promise<ReviewSummary>;
  /** Items the reviewer may decide (their patients, not their own requests), oldest first. */
  list(req: ReviewRequest, filter?: ReviewListFilter): Promise<readonly ReviewSummary[]>;
  /** Opens a held answer for the reviewer. Audited as a PHI read before it is returned. */
  show(req: ReviewRequest, id: string): Promise<ReviewDetail>;
  claim(req: ReviewRequest, id: string): Promise<ReviewSummary>;
  /** Claims the oldest item the reviewer may decide; undefined when there is none. */
  claimNext(req: ReviewRequest, filter?: { readonly useCaseId?: string }): Promise<ReviewSummary | undefined>;
  unclaim(req: ReviewRequest, id: string, options?: { readonly version?: number }): Promise<ReviewSummary>;
  approve(req: ReviewRequest, id: string, options?: { readonly version?: number }): Promise<ReviewSummary>;
  edit(req: ReviewRequest, id: string, input: { readonly content: string; readonly version?: number }): Promise<ReviewSummary>;
  reject(req: ReviewRequest, id: string, input: { readonly reason: string; readonly version?: number }): Promise<ReviewSummary>;
  /** The Provenance resource recorded with the decision. */
  provenance(req: ReviewRequest, id: string): Promise<FhirProvenance>;
  /** The requester's view: the decided answer (or its pending state). Audited as a PHI read. */
  fetch(req: ReviewRequest, id: string): Promise<ReleasedReview>;
}

export interface ReviewQueueDeps extends AccessDeps {
  readonly config: AccessDeps['config'] & { readonly review?: ReviewConfig };
  readonly audit: Pick<AuditWriter, 'append'>;
  readonly clock: Clock;
}

export interface ReviewQueueOptions {
  /** Defaults to the repository over `deps.store`. */
  readonly repo?: ReviewRepo;
  /** Defaults to the access service of `deps.store`. */
  readonly access?: Pick<AccessService, 'policy' | 'relationship' | 'activeBreakGlass' | 'careTeams'>;
}

/** Review ids are UUIDv7s; anything else names no item (and is never echoed into a record). */
export const reviewIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Longest edited answer a reviewer may submit (characters). */
export const maxEditLength = 100_000;
/** Longest rejection reason (characters). */
export const maxReasonLength = 2_000;

const openStatuses: readonly ReviewStatus[] = ['queued', 'claimed'];
const noGlass = { active: false, eligible: false } as const;
const isDecided = (status: ReviewStatus): status is ReviewDecision => status === 'approved' || status === 'edited' || status === 'rejected';
const decisionEvent: Record<ReviewDecision, ReviewAuditEventType> = {
  approved: reviewAuditEventTypes.approve,
  edited: reviewAuditEventTypes.edit,
  rejected: reviewAuditEventTypes.reject,
};

const summaryOf = (item: ReviewItem): ReviewSummary => {
  const { answerHmac: _hmac, hasPatient: _has, ...summary } = item;
  return summary;
};

function parseHeld(json: string): HeldAnswer {
  const value = JSON.parse(json) as Partial<HeldAnswer> & { v?: number };
  if (value.v !== 1 || value.result === undefined || !Array.isArray(value.citations)) throw new GatewayError('internal_error', { detail: { reason: 'review_answer_unreadable' } });
  return value as HeldAnswer;
}

/** Facts an audit record of one call can name, gathered as the call proceeds. */
interface CallFacts {
  reviewId?: string;
  patient?: string | null;
  purpose?: string | null;
  useCase?: string;
  responseHmac?: string;
  detail: Record<string, string | number | boolean | undefined>;
}

export function createReviewQueue(deps: ReviewQueueDeps, options: ReviewQueueOptions = {}): ReviewQueue {
  const repo = options.repo ?? createReviewRepo(deps.store.db, deps.store.fieldCrypto);
  const access = options.access ?? accessServiceFor(deps);
  const leaseMs = (deps.config.review?.leaseMinutes ?? 15) * 60_000;
  const now = (): number => deps.clock.now();
  const patientHash = (patient: string | null | undefined): string | undefined => (patient == null ? undefined : deps.keyedHash(patient, 'audit-patient'));

  async function record(type: ReviewAuditEventType, req: ReviewRequest, facts: CallFacts, outcome: { ok: true } | { ok: false; err: unknown }): Promise<void> {
    const failure = outcome.ok ? undefined : isGatewayError(outcome.err) ? outcome.err.code : 'internal_error';
    const status = failure === undefined ? 200 : errors[failure].status;
    await deps.audit.append(
      reviewAuditEvent({
        type,
        now: now(),
        request: req,
        instance: deps.instanceId,
        outcome: failure === undefined ? 'success' : status >= 500 ? 'failure' : 'denied',
        status,
        errorCode: failure,
        patientHash: patientHash(facts.patient),
        purpose: facts.purpose ?? undefined,
        useCase: facts.useCase,
        responseHmac: facts.responseHmac,
        detail: { reviewId: facts.reviewId, ...facts.detail },
      }),
    );
  }

  /**
   * Runs one call and audits it, refusals included. The record is durable before the result is
   * returned, so a read's content is never released unaudited; a change is recorded once made.
   */
  async function audited<T>(type: ReviewAuditEventType, req: ReviewRequest, reviewId: string | undefined, body: (facts: CallFacts) => Promise<T>): Promise<T> {
    const facts: CallFacts = { ...(reviewId === undefined ? {} : { reviewId }), detail: {} };
    let result: T;
    try {
      result = await body(facts);
    } catch (err) {
      try {
        await record(type, req, facts, { ok: false, err });
      } catch (auditErr) {
        throw new GatewayError('audit_unavailable', { cause: auditErr });
      }
      throw err;
    }
    try {
      await record(type, req, facts, { ok: true });
    } catch (auditErr) {
      throw new GatewayError('audit_unavailable', { cause: auditErr });
    }
    return result;
  }

  async function load(id: string, facts: CallFacts): Promise<{ item: ReviewItem; patient: string | null }> {
    const item = await repo.findById(id);
    if (item === undefined) throw new GatewayError('review_not_found');
    facts.useCase = item.useCaseId;
    facts.purpose = item.purpose;
    const patient = item.hasPatient ? ((await repo.patient(id)) ?? null) : null;
    facts.patient = patient;
    return { item, patient };
  }

  /** A person holding `review:decide` (service accounts never review). */
  function requireRole(actor: ReviewActor): void {
    if (actor.kind !== 'user' || actor.onBehalfOf !== undefined) throw new GatewayError('permission_denied', { detail: { reason: 'reviewer_must_be_a_person' } });
    const role = decideAccess({ policy: access.policy, roles: actor.roles, action: requestActions.reviewDecide, breakGlass: noGlass });
    if (!role.allow) throw new GatewayError(role.code, { detail: { permission: requestActions.reviewDecide } });
  }

  /** The reviewer's standing: a person with `review:decide` on their patient, not the requester. */
  async function requireReviewer(actor: ReviewActor, item: ReviewItem, patient: string | null): Promise<void> {
    requireRole(actor);
    if (actor.userId === item.requesterId || actor.userId === item.subjectUserId) throw new GatewayError('review_self_decision');
    if (patient === null) return;
    const relationship = await access.relationship(actor.userId, patient);
    // Care team or unit only: break-glass grants emergency reads, not the authority to release answers.
    const decision = decideAccess({
      policy: access.policy,
      roles: actor.roles,
      action: requestActions.phiRead,
      patient: { relationship: relationship.relationship },
      purpose: (item.purpose ?? undefined) as PurposeOfUse | undefined,
      breakGlass: noGlass,
    });
    if (!decision.allow) throw new GatewayError(decision.code, { detail: { reason: decision.reason } });
  }

  async function mayReview(actor: ReviewActor, item: ReviewItem, patient: string | null): Promise<boolean> {
    try {
      await requireReviewer(actor, item, patient);
      return true;
    } catch (err) {
      if (isGatewayError(err)) return false;
      throw err;
    }
  }

  /** Why a claimed-only call cannot go ahead, checked in the order a reviewer can act on. */
  function requireClaim(actor: ReviewActor, item: ReviewItem, at: number, version: number | undefined): void {
    if (isDecided(item.status)) throw new GatewayError('review_already_decided');
    if (item.status !== 'claimed' || item.claimedBy !== actor.userId) throw new GatewayError('review_claim_required');
    if ((item.leaseUntil ?? 0) <= at) throw new GatewayError('review_lease_expired');
    if (version !== undefined && version !== item.version) throw new GatewayError('review_version_conflict');
  }

  function transitionDetail(facts: CallFacts, from: ReviewItem, to: ReviewItem): void {
    facts.detail.fromStatus = from.status;
    facts.detail.toStatus = to.status;
    facts.detail.version = to.version;
    facts.detail.useCaseVersion = to.useCaseVersion;
  }

  async function decide(req: ReviewRequest, id: string, decision: ReviewDecision, input: { version?: number | undefined; content?: string; reason?: string }): Promise<ReviewSummary> {
    return audited(decisionEvent[decision], req, id, async (facts) => {
      if (decision === 'edited' && (input.content === undefined || input.content.trim() === '' || input.content.length > maxEditLength)) {
        throw new GatewayError('invalid_request', { detail: { field: 'content', expected: `1-${maxEditLength} characters` } });
      }
      if (decision === 'rejected' && (input.reason === undefined || input.reason.trim() === '' || input.reason.length > maxReasonLength)) {
        throw new GatewayError('invalid_request', { detail: { field: 'reason', expected: `1-${maxReasonLength} characters` } });
      }
      const { item, patient } = await load(id, facts);
      // Access is checked again at the decision: a care-team assignment may have ended since the claim.
      await requireReviewer(req.actor, item, patient);
      const at = now();
      requireClaim(req.actor, item, at, input.version);
      const content = await repo.content(id);
      if (content === undefined) throw new GatewayError('review_not_found');
      const held = parseHeld(content.answer);
      const profile = await access.careTeams.getProfile(req.actor.userId);
      const provenance = toFhirProvenance({
        reviewId: id,
        decision,
        answeredAt: item.createdAt,
        decidedAt: at,
        useCase: { id: item.useCaseId, version: item.useCaseVersion },
        purpose: item.purpose,
        ai: { vendor: item.vendor, endpointId: item.endpointId, model: item.model },
        instance: deps.instanceId,
        reviewer: { userId: req.actor.userId, npi: profile?.npi ?? null },
        citations: held.citations,
      });
      const decided = await repo.decide(id, {
        decision,
        reviewerId: req.actor.userId,
        at,
        expectedVersion: item.version,
        ...(decision === 'edited' ? { edited: JSON.stringify({ content: input.content }) } : {}),
        ...(decision === 'rejected' ? { reason: input.reason } : {}),
        provenance: JSON.stringify(provenance),
      });
      if (decided === undefined) throw new GatewayError('review_version_conflict');
      transitionDetail(facts, item, decided);
      facts.detail.provenanceId = provenance.id;
      facts.responseHmac = decision === 'edited' ? deps.keyedHash(input.content ?? '', 'audit-response') : item.answerHmac;
      return summaryOf(decided);
    });
  }

  return {
    async hold(input) {
      const id = uuidv7(now());
      return audited(reviewAuditEventTypes.create, input.request, id, async (facts) => {
        const labelled = needsClinicalLabel(input.useCase.spec);
        const confidence = extractConfidence(input.result.choices[0]?.message.content);
        const held = {
          v: 1,
          result: input.result,
          citations: input.citations,
          ...(confidence === undefined ? {} : { confidence }),
          labelled,
          jsonMode: input.jsonMode,
          ...(input.useCase.spec.sourceAttributes === undefined ? {} : { sourceAttributes: input.useCase.spec.sourceAttributes }),
        };
        const answerHmac = deps.keyedHash(JSON.stringify(input.result.choices), 'audit-response');
        facts.patient = input.patient ?? null;
        facts.purpose = input.purpose ?? null;
        facts.useCase = input.useCase.id;
        facts.responseHmac = answerHmac;
        const item = await repo.create({
          id,
          requestId: input.request.requestId,
          useCaseId: input.useCase.id,
          useCaseVersion: input.useCase.version,
          requesterId: input.request.actor.userId,
          subjectUserId: input.subjectUserId,
          patient: input.patient ?? null,
          purpose: input.purpose ?? null,
          surface: input.surface,
          endpointId: input.endpoint.id,
          vendor: input.endpoint.vendor ?? null,
          model: input.upstreamModel,
          answerHmac,
          answer: JSON.stringify(held),
          createdAt: now(),
        });
        facts.detail.toStatus = item.status;
        facts.detail.version = item.version;
        facts.detail.useCaseVersion = item.useCaseVersion;
        facts.detail.citations = input.citations.length;
        return summaryOf(item);
      });
    },

    async list(req, filter = {}) {
      return audited(reviewAuditEventTypes.list, req, undefined, async (facts) => {
        // The role check refuses outright; other patients and own requests are filtered out quietly.
        requireRole(req.actor);
        const statuses = filter.statuses ?? openStatuses;
        const rows = await repo.list({
          statuses,
          ...(filter.useCaseId === undefined ? {} : { useCaseId: filter.useCaseId }),
          ...(filter.mine ? { claimedBy: req.actor.userId } : {}),
          limit: filter.limit ?? 100,
        });
        const visible: ReviewSummary[] = [];
        for (const item of rows) {
          const patient = item.hasPatient ? ((await repo.patient(item.id)) ?? null) : null;
          if (await mayReview(req.actor, item, patient)) visible.push(summaryOf(item));
        }
        facts.detail.statuses = statuses.join(',');
        facts.detail.count = visible.length;
        facts.detail.hidden = rows.length - visible.length;
        return visible;
      });
    },

    async show(req, id) {
      return audited(reviewAuditEventTypes.read, req, id, async (facts) => {
        const { item, patient } = await load(id, facts);
        await requireReviewer(req.actor, item, patient);
        const content = await repo.content(id);
        if (content === undefined) throw new GatewayError('review_not_found');
        facts.detail.status = item.status;
        facts.detail.version = item.version;
        facts.responseHmac = item.answerHmac;
        return {
          ...summaryOf(item),
          patient,
          answer: parseHeld(content.answer),
          edited: content.edited === null ? null : (JSON.parse(content.edited) as { content: string }).content,
          reason: content.reason,
        };
      });
    },

    async claim(req, id) {
      return audited(reviewAuditEventTypes.claim, req, id, async (facts) => {
        const { item, patient } = await load(id, facts);
        await requireReviewer(req.actor, item, patient);
        if (isDecided(item.status)) throw new GatewayError('review_already_decided');
        const at = now();
        const claimed = await repo.claim(id, { reviewerId: req.actor.userId, at, leaseUntil: at + leaseMs });
        if (claimed === undefined) throw new GatewayError('review_not_claimable');
        transitionDetail(facts, item, claimed);
        facts.detail.leaseUntil = claimed.leaseUntil ?? undefined;
        if (item.claimedBy !== null && item.claimedBy !== req.actor.userId) facts.detail.takenOverFrom = item.claimedBy;
        return summaryOf(claimed);
      });
    },

    async claimNext(req, filter = {}) {
      return audited(reviewAuditEventTypes.claim, req, undefined, async (facts) => {
        const at = now();
        requireRole(req.actor);
        const candidates = await repo.list({ claimableAt: at, ...(filter.useCaseId === undefined ? {} : { useCaseId: filter.useCaseId }), limit: 200 });
        const allowed: string[] = [];
        for (const item of candidates) {
          const patient = item.hasPatient ? ((await repo.patient(item.id)) ?? null) : null;
          if (await mayReview(req.actor, item, patient)) allowed.push(item.id);
        }
        const claimed = await repo.claimNext(allowed, { reviewerId: req.actor.userId, at, leaseUntil: at + leaseMs });
        facts.detail.claimed = claimed !== undefined;
        if (claimed === undefined) return undefined;
        const before = candidates.find((c) => c.id === claimed.id);
        facts.reviewId = claimed.id;
        facts.useCase = claimed.useCaseId;
        facts.purpose = claimed.purpose;
        facts.patient = claimed.hasPatient ? ((await repo.patient(claimed.id)) ?? null) : null;
        if (before !== undefined) transitionDetail(facts, before, claimed);
        facts.detail.leaseUntil = claimed.leaseUntil ?? undefined;
        return summaryOf(claimed);
      });
    },

    async unclaim(req, id, options = {}) {
      return audited(reviewAuditEventTypes.unclaim, req, id, async (facts) => {
        const { item } = await load(id, facts);
        requireClaim(req.actor, item, now(), options.version);
        const released = await repo.unclaim(id, { reviewerId: req.actor.userId, at: now(), expectedVersion: item.version });
        if (released === undefined) throw new GatewayError('review_version_conflict');
        transitionDetail(facts, item, released);
        return summaryOf(released);
      });
    },

    approve: (req, id, options = {}) => decide(req, id, 'approved', { version: options.version }),
    edit: (req, id, input) => decide(req, id, 'edited', { version: input.version, content: input.content }),
    reject: (req, id, input) => decide(req, id, 'rejected', { version: input.version, reason: input.reason }),

    async provenance(req, id) {
      return audited(reviewAuditEventTypes.provenance, req, id, async (facts) => {
        const { item, patient } = await load(id, facts);
        // Auditors read the record of who decided; reviewers read it for their own patients.
        if (!hasPermission(access.policy, req.actor.roles, adminActions.auditRead)) await requireReviewer(req.actor, item, patient);
        const content = await repo.content(id);
        if (content?.provenance == null) throw new GatewayError('review_not_decided');
        return JSON.parse(content.provenance) as FhirProvenance;
      });
    },

    async fetch(req, id) {
      return audited(reviewAuditEventTypes.fetch, req, id, async (facts) => {
        const item = await repo.findById(id);
        // Anyone but the requester is told the item does not exist.
        const actor = req.actor;
        const isRequester = item !== undefined && actor.userId === item.requesterId && (item.subjectUserId === item.requesterId || actor.onBehalfOf?.userId === item.subjectUserId);
        if (item === undefined || !isRequester) throw new GatewayError('review_not_found');
        const { patient } = await load(id, facts);
        facts.detail.status = item.status;
        if (item.status === 'queued' || item.status === 'claimed') return { item: summaryOf(item) };
        if (patient !== null) {
          // The answer is PHI: release it only while the requester may still see the patient.
          const roles = actor.onBehalfOf?.roles ?? actor.roles;
          const [relationship, session] = await Promise.all([access.relationship(item.subjectUserId, patient), access.activeBreakGlass(item.subjectUserId, patient)]);
          const decision = decideAccess({
            policy: access.policy,
            roles,
            action: requestActions.phiRead,
            patient: { relationship: relationship.relationship },
            purpose: (item.purpose ?? undefined) as PurposeOfUse | undefined,
            breakGlass: { active: session !== undefined, eligible: relationship.breakGlassEligible },
          });
          if (!decision.allow) throw new GatewayError(decision.code, { detail: { reason: decision.reason } });
        }
        const content = await repo.content(id);
        if (content === undefined) throw new GatewayError('review_not_found');
        if (item.status === 'rejected') return { item: summaryOf(item), ...(content.reason === null ? {} : { reason: content.reason }) };
        const answer = parseHeld(content.answer);
        const edited = content.edited === null ? undefined : (JSON.parse(content.edited) as { content: string }).content;
        facts.responseHmac = edited === undefined ? item.answerHmac : deps.keyedHash(edited, 'audit-response');
        return { item: summaryOf(item), answer, ...(edited === undefined ? {} : { edited }) };
      });
    },
  };
}

const queues = new WeakMap<object, ReviewQueue>();

/** The queue for these deps' store, made once; the pipeline, the admin API and the CLI share it. */
export function reviewQueueFor(deps: ReviewQueueDeps): ReviewQueue {
  let queue = queues.get(deps.store);
  if (queue === undefined) {
    queue = createReviewQueue(deps);
    queues.set(deps.store, queue);
  }
  return queue;
}
