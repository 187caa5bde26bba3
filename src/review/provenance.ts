// SPDX-License-Identifier: Apache-2.0
/**
 * FHIR R4 Provenance (https://hl7.org/fhir/R4/provenance.html) for a reviewed AI answer, in the
 * shape of HL7's AI Transparency on FHIR IG (AI Provenance): the AI is an `author` agent (a
 * contained Device naming vendor, model and use-case version), phigate the `assembler` that put
 * the prompt together, the clinician the `verifier`; the retrieved documents are `source`
 * entities; the answer is tagged AIAST ("Artificial Intelligence asserted").
 *
 * One resource per decision: `activity` CREATE when the answer was approved as the model wrote
 * it, UPDATE ("revise") when the reviewer edited it (the model's version is then a `revision`
 * entity), NULLIFY when it was rejected and never released. The resource names no patient and
 * carries no text of the answer; it is still stored encrypted, since document ids point at a
 * patient's record.
 */
import type { Citation } from '../gateway/pipeline/context.js';
import type { ReviewDecision } from '../store/repos/review-repo.js';

export const provenanceSystems = {
  participantType: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
  dataOperation: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation',
  actReason: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
  observationValue: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  npi: 'http://hl7.org/fhir/sid/us-npi',
  reviewAnswer: 'urn:phigate:review-answer',
  document: 'urn:phigate:document',
  user: 'urn:phigate:user',
  instance: 'urn:phigate:instance',
  endpoint: 'urn:phigate:endpoint',
} as const;

/** The AI Transparency IG's profile for AI provenance. */
export const aiProvenanceProfile = 'http://hl7.org/fhir/uv/aitransparency/StructureDefinition/AI-Provenance';

interface Coding {
  readonly system: string;
  readonly code: string;
  readonly display?: string;
}
interface Identifier {
  readonly system: string;
  readonly value: string;
}
interface Reference {
  readonly reference?: string;
  readonly type?: string;
  readonly identifier?: Identifier;
  readonly display?: string;
}

/** The subset of R4 Provenance phigate writes (plain JSON). */
export interface FhirProvenance {
  readonly resourceType: 'Provenance';
  readonly id: string;
  readonly meta: { readonly profile: readonly string[]; readonly security: readonly Coding[] };
  readonly contained: readonly Record<string, unknown>[];
  readonly target: readonly Reference[];
  readonly occurredDateTime: string;
  readonly recorded: string;
  readonly policy: readonly string[];
  readonly reason?: readonly { readonly coding: readonly Coding[] }[];
  readonly activity: { readonly coding: readonly Coding[]; readonly text: string };
  readonly agent: readonly { readonly type: { readonly coding: readonly Coding[] }; readonly role?: readonly { readonly text: string }[]; readonly who: Reference }[];
  readonly entity?: readonly { readonly role: 'source' | 'revision'; readonly what: Reference }[];
}

export interface ProvenanceInput {
  readonly reviewId: string;
  readonly decision: ReviewDecision;
  /** When the model answered and when the reviewer decided, epoch ms. */
  readonly answeredAt: number;
  readonly decidedAt: number;
  readonly useCase: { readonly id: string; readonly version: number };
  /** The HL7 PurposeOfUse the answer was requested for. */
  readonly purpose: string | null;
  readonly ai: { readonly vendor: string | null; readonly endpointId: string; readonly model: string };
  readonly instance: string;
  readonly reviewer: { readonly userId: string; readonly npi?: string | null | undefined };
  readonly citations: readonly Citation[];
}

const participant = (code: 'author' | 'assembler' | 'verifier', display: string) => ({ coding: [{ system: provenanceSystems.participantType, code, display }] });

const activityOf: Record<ReviewDecision, { coding: Coding[]; text: string }> = {
  approved: { coding: [{ system: provenanceSystems.dataOperation, code: 'CREATE', display: 'create' }], text: 'AI-generated answer approved by a clinician and released' },
  edited: { coding: [{ system: provenanceSystems.dataOperation, code: 'UPDATE', display: 'revise' }], text: 'AI-generated answer revised by a clinician and released' },
  rejected: { coding: [{ system: provenanceSystems.dataOperation, code: 'NULLIFY', display: 'nullify' }], text: 'AI-generated answer rejected by a clinician and withheld' },
};

const documentReference = /^DocumentReference\/[A-Za-z0-9\-.]{1,64}$/;

/** A citation's document: a FHIR reference when it is one, else phigate's document identifier. */
function documentOf(citation: Citation): Reference {
  const base = documentReference.test(citation.documentId)
    ? { reference: citation.documentId }
    : { type: 'DocumentReference', identifier: { system: provenanceSystems.document, value: citation.documentId } };
  return citation.label === undefined ? base : { ...base, display: citation.label };
}

/** FHIR instants need a timezone; ISO strings from Date are UTC with milliseconds. */
const instant = (ms: number): string => new Date(ms).toISOString();

/** Builds the Provenance resource for one review decision. Pure. */
export function toFhirProvenance(input: ProvenanceInput): FhirProvenance {
  const vendor = input.ai.vendor ?? input.ai.endpointId;
  const useCaseLabel = `use case ${input.useCase.id} v${input.useCase.version}`;
  const device = {
    resourceType: 'Device',
    id: 'ai',
    identifier: [{ system: provenanceSystems.endpoint, value: input.ai.endpointId }],
    manufacturer: vendor,
    deviceName: [{ name: input.ai.model, type: 'model-name' }],
    type: { text: 'Large language model' },
    version: [
      { type: { text: 'model' }, value: input.ai.model },
      { type: { text: 'use case' }, value: `${input.useCase.id} v${input.useCase.version}` },
    ],
  };
  const reviewer: Reference =
    input.reviewer.npi != null && input.reviewer.npi !== ''
      ? { type: 'Practitioner', identifier: { system: provenanceSystems.npi, value: input.reviewer.npi }, display: input.reviewer.userId }
      : { type: 'Practitioner', identifier: { system: provenanceSystems.user, value: input.reviewer.userId } };
  const agent: FhirProvenance['agent'][number][] = [
    { type: participant('author', 'Author'), role: [{ text: 'Artificial Intelligence' }], who: { reference: '#ai', display: `${vendor} ${input.ai.model} (${useCaseLabel})` } },
    { type: participant('assembler', 'Assembler'), who: { type: 'Device', identifier: { system: provenanceSystems.instance, value: input.instance }, display: 'phigate' } },
    { type: participant('verifier', 'Verifier'), who: reviewer },
  ];
  // The clinician who rewrote the answer authored the released version.
  if (input.decision === 'edited') agent.push({ type: participant('author', 'Author'), role: [{ text: 'reviewing clinician' }], who: reviewer });

  const seen = new Set<string>();
  const entity: NonNullable<FhirProvenance['entity']>[number][] = [];
  for (const citation of input.citations) {
    if (seen.has(citation.documentId)) continue;
    seen.add(citation.documentId);
    entity.push({ role: 'source', what: documentOf(citation) });
  }
  if (input.decision === 'edited') {
    entity.push({ role: 'revision', what: { type: 'Communication', identifier: { system: provenanceSystems.reviewAnswer, value: `${input.reviewId}/model` }, display: 'the answer as the model wrote it' } });
  }

  return {
    resourceType: 'Provenance',
    id: input.reviewId,
    meta: { profile: [aiProvenanceProfile], security: [{ system: provenanceSystems.observationValue, code: 'AIAST', display: 'Artificial Intelligence asserted' }] },
    contained: [device],
    target: [
      {
        type: 'Communication',
        identifier: { system: provenanceSystems.reviewAnswer, value: input.decision === 'edited' ? `${input.reviewId}/reviewed` : `${input.reviewId}/model` },
        display: input.decision === 'rejected' ? 'AI-generated answer (withheld)' : 'AI-generated answer (released)',
      },
    ],
    occurredDateTime: instant(input.answeredAt),
    recorded: instant(input.decidedAt),
    policy: [`urn:phigate:use-case:${input.useCase.id}:v${input.useCase.version}`],
    ...(input.purpose === null ? {} : { reason: [{ coding: [{ system: provenanceSystems.actReason, code: input.purpose }] }] }),
    activity: activityOf[input.decision],
    agent,
    ...(entity.length === 0 ? {} : { entity }),
  };
}
