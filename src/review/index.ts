// SPDX-License-Identifier: Apache-2.0
/** Clinical safeguards and the human review queue: the label, held answers, reviewers' decisions, Provenance. */
export { reviewActorOf, reviewAuditEvent, reviewAuditEventTypes, type ReviewActor, type ReviewAuditEventType, type ReviewRequest } from './audit.js';
export {
  buildAnnotation, clinicalLabel, clinicalLabelPrefix, extractConfidence, isJsonMode, labelResult, labelStream, releasedResult,
  type Annotated, type AnnotationBase, type PhigateAnnotation, type PublicReviewStatus, type ReleaseInput,
} from './clinical-label.js';
export { reviewConfigSchema, type ReviewConfig } from './config-schema.js';
export { aiProvenanceProfile, provenanceSystems, toFhirProvenance, type FhirProvenance, type ProvenanceInput } from './provenance.js';
export {
  createReviewQueue, maxEditLength, maxReasonLength, reviewIdPattern, reviewQueueFor,
  type HeldAnswer, type HoldInput, type ReleasedReview, type ReviewDetail, type ReviewListFilter, type ReviewQueue, type ReviewQueueDeps, type ReviewSummary,
} from './queue.js';
