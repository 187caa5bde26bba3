// SPDX-License-Identifier: Apache-2.0
/**
 * Clinical safeguards on an answer (DESIGN §1 step 7): the label every decision-support answer
 * carries, its citations to the documents retrieved into the prompt, the model's own confidence
 * when it states one, and the use case's HTI-1 source attributes (ONC HTI-1,
 * 45 CFR 170.315(b)(11): source attributes of decision support interventions are returned
 * with the intervention's output).
 *
 * The annotation travels in a `phigate` object beside OpenAI's fields (the official SDKs keep
 * unknown fields), and the label is also the first line of the text unless the caller asked for
 * JSON output. Confidence is read from the answer, never made up: a numeric `confidence` member
 * of a JSON answer, or a "Confidence: 80%" line. Anything else means no confidence field.
 */
import type { Citation } from '../gateway/pipeline/context.js';
import type { ChatDelta, ChatRequest, ChatResult } from '../providers/types.js';
import type { Hti1SourceAttributes } from '../registry/use-case-spec.js';

/** The label, exactly as the issue states it. */
export const clinicalLabel = 'AI-generated suggestion — clinical judgment required';

/** What precedes the answer's own text when the label is shown in it. */
export const clinicalLabelPrefix = `${clinicalLabel}\n\n`;

/** The review state the caller sees (`pending` while queued or claimed). */
export type PublicReviewStatus = 'pending' | 'approved' | 'edited' | 'rejected';

/** HTI-1 source attributes in the wire's snake_case. */
export interface WireSourceAttributes {
  readonly developer: string;
  readonly intended_use: string;
  readonly training_data: string;
  readonly validation: string;
  readonly known_risks: string;
  readonly limitations: string;
  readonly fairness?: string;
  readonly maintenance?: string;
}

/** The `phigate` object on a completion, a chunk or a fetched review. */
export interface PhigateAnnotation {
  /** Present (always {@link clinicalLabel}) when the answer is labelled. */
  readonly label?: string;
  readonly citations?: readonly { readonly document_id: string; readonly chunk_id: string; readonly label?: string }[];
  /** 0–1, only when the model stated one. */
  readonly confidence?: number;
  readonly use_case?: { readonly id: string; readonly version: number };
  readonly source_attributes?: WireSourceAttributes;
  readonly review?: {
    readonly id: string;
    readonly status: PublicReviewStatus;
    readonly reviewed_by?: string;
    /** Unix seconds. */
    readonly decided_at?: number;
  };
}

/** A chat result or chunk with the annotation beside OpenAI's fields. */
export type Annotated<T> = T & { readonly phigate: PhigateAnnotation };

/** Whether the caller asked for JSON output, which the label must not break. */
export function isJsonMode(request: Pick<ChatRequest, 'response_format'> | undefined): boolean {
  const type = request?.response_format?.type;
  return type === 'json_object' || type === 'json_schema';
}

/** The wire form of the use case's HTI-1 source attributes. */
export function toWireSourceAttributes(attributes: Hti1SourceAttributes): WireSourceAttributes {
  return {
    developer: attributes.developer,
    intended_use: attributes.intendedUse,
    training_data: attributes.trainingData,
    validation: attributes.validation,
    known_risks: attributes.knownRisks,
    limitations: attributes.limitations,
    ...(attributes.fairness === undefined ? {} : { fairness: attributes.fairness }),
    ...(attributes.maintenance === undefined ? {} : { maintenance: attributes.maintenance }),
  };
}

/** Citations in the wire's snake_case, in rank order. */
export function toWireCitations(citations: readonly Citation[]): NonNullable<PhigateAnnotation['citations']> {
  return citations.map((c) => ({ document_id: c.documentId, chunk_id: c.chunkId, ...(c.label === undefined ? {} : { label: c.label }) }));
}

const round = (value: number): number => Math.round(value * 10_000) / 10_000;

/** A stated number as a 0–1 confidence: fractions as they are, percentages divided by 100. */
function normalise(value: number, percent: boolean): number | undefined {
  if (!Number.isFinite(value) || value < 0) return undefined;
  if (percent) return value <= 100 ? round(value / 100) : undefined;
  if (value <= 1) return round(value);
  // "Confidence: 85" reads as a percentage; larger numbers are not a confidence at all.
  return value <= 100 ? round(value / 100) : undefined;
}

function fromJson(text: string): number | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const confidence = (value as Record<string, unknown>).confidence;
  if (typeof confidence === 'number') return normalise(confidence, false);
  if (typeof confidence === 'string') {
    const match = /^\s*(\d{1,3}(?:\.\d+)?)\s*(%)?\s*$/.exec(confidence);
    if (match) return normalise(Number(match[1]), match[2] !== undefined);
  }
  return undefined;
}

// A line or sentence that states the confidence: "Confidence: 80%", "**Confidence level:** 0.8",
// "… in 3 months. Confidence = 7/10".
const confidenceLine = /(?:^|(?<=[.!?;]\s))[\s>*_#-]*confidence(?:\s+(?:level|score))?[\s*_]*[:=][\s*_]*(\d{1,3}(?:\.\d+)?)\s*(%|percent|\/\s*10(?:0)?)?/gim;

function fromText(text: string): number | undefined {
  let found: number | undefined;
  for (const match of text.matchAll(confidenceLine)) {
    const value = Number(match[1]);
    const unit = match[2]?.replace(/\s+/g, '').toLowerCase();
    let confidence: number | undefined;
    if (unit === '/10') confidence = value <= 10 ? round(value / 10) : undefined;
    else if (unit === '/100') confidence = value <= 100 ? round(value / 100) : undefined;
    else confidence = normalise(value, unit === '%' || unit === 'percent');
    // The last statement wins: models put the summary line at the end.
    if (confidence !== undefined) found = confidence;
  }
  return found;
}

/**
 * The confidence the model stated in `text`, as a number from 0 to 1, or undefined when it
 * stated none (or stated something that is not a confidence, such as 150%).
 */
export function extractConfidence(text: string | null | undefined): number | undefined {
  if (text === null || text === undefined || text === '') return undefined;
  return fromJson(text) ?? fromText(text);
}

/** The annotation parts known before the answer is read. */
export interface AnnotationBase {
  readonly labelled: boolean;
  readonly citations: readonly Citation[];
  readonly useCase: { readonly id: string; readonly version: number };
  readonly sourceAttributes?: Hti1SourceAttributes | undefined;
}

/** The `phigate` object for an answer, with the confidence when one was stated. */
export function buildAnnotation(base: AnnotationBase, confidence?: number): PhigateAnnotation {
  return {
    ...(base.labelled ? { label: clinicalLabel } : {}),
    ...(base.citations.length > 0 || base.labelled ? { citations: toWireCitations(base.citations) } : {}),
    ...(confidence === undefined ? {} : { confidence }),
    use_case: { id: base.useCase.id, version: base.useCase.version },
    ...(base.sourceAttributes === undefined ? {} : { source_attributes: toWireSourceAttributes(base.sourceAttributes) }),
  };
}

/** Puts the label on the first line of a message's text; messages without text are left alone. */
export function labelText(content: string | null): string | null {
  return content === null ? null : clinicalLabelPrefix + content;
}

/**
 * A labelled result: the label in each choice's text (unless `jsonMode`) and the annotation,
 * whose confidence is read from the first choice.
 */
export function labelResult(result: ChatResult, base: AnnotationBase, jsonMode: boolean): Annotated<ChatResult> {
  const confidence = extractConfidence(result.choices[0]?.message.content);
  const visible = base.labelled && !jsonMode;
  const choices = visible ? result.choices.map((choice) => ({ ...choice, message: { ...choice.message, content: labelText(choice.message.content) } })) : result.choices;
  return { ...result, choices, phigate: buildAnnotation(base, confidence) };
}

/**
 * The streamed form of {@link labelResult}: the first chunk carries the annotation (and, unless
 * `jsonMode`, the label as the first text of each choice); the chunk that finishes choice 0 —
 * or an extra chunk with no choices, if the stream ends without one — carries the annotation
 * again, now with the confidence read from the whole streamed text.
 */
export async function* labelStream(deltas: AsyncIterable<ChatDelta>, base: AnnotationBase, jsonMode: boolean): AsyncGenerator<ChatDelta | Annotated<ChatDelta>> {
  const visible = base.labelled && !jsonMode;
  const started = new Set<number>();
  const text: string[] = [];
  let first = true;
  let finalSent = false;
  let last: ChatDelta | undefined;
  for await (const delta of deltas) {
    last = delta;
    let finishing = false;
    const choices = delta.choices.map((choice) => {
      if (choice.index === 0 && typeof choice.delta.content === 'string') text.push(choice.delta.content);
      if (choice.index === 0 && choice.finish_reason !== null) finishing = true;
      if (!visible || started.has(choice.index)) return choice;
      started.add(choice.index);
      // A first delta that opens with tool calls has no text to label.
      if (choice.delta.tool_calls !== undefined && !choice.delta.content) return choice;
      return { ...choice, delta: { ...choice.delta, content: clinicalLabelPrefix + (choice.delta.content ?? '') } };
    });
    let out: ChatDelta | Annotated<ChatDelta> = { ...delta, choices };
    if (finishing && !finalSent) {
      finalSent = true;
      out = { ...out, phigate: buildAnnotation(base, extractConfidence(text.join(''))) };
    } else if (first) {
      out = { ...out, phigate: buildAnnotation(base) };
    }
    first = false;
    yield out;
  }
  if (!finalSent && last !== undefined) {
    yield { id: last.id, object: 'chat.completion.chunk', created: last.created, model: last.model, choices: [], phigate: buildAnnotation(base, extractConfidence(text.join(''))) };
  }
}

/** What the requester's copy of a decided answer is made from. */
export interface ReleaseInput {
  readonly result: ChatResult;
  /** The reviewer's text, which replaces the model's answer (one choice, no tool calls). */
  readonly edited?: string | undefined;
  readonly labelled: boolean;
  readonly jsonMode: boolean;
  readonly citations: readonly Citation[];
  /** The model's stated confidence; it describes the model's text, so an edited answer has none. */
  readonly confidence?: number | undefined;
  readonly sourceAttributes?: Hti1SourceAttributes | undefined;
  readonly useCase: { readonly id: string; readonly version: number };
  readonly review: NonNullable<PhigateAnnotation['review']>;
}

/** The decided answer as a chat completion: labelled like any decision-support answer, with its review. */
export function releasedResult(input: ReleaseInput): Annotated<ChatResult> {
  const base: AnnotationBase = { labelled: input.labelled, citations: input.citations, useCase: input.useCase, sourceAttributes: input.sourceAttributes };
  const visible = input.labelled && !input.jsonMode;
  const choices =
    input.edited === undefined
      ? input.result.choices
      : [{ index: 0, message: { role: 'assistant' as const, content: input.edited }, finish_reason: 'stop' as const, logprobs: null }];
  return {
    ...input.result,
    choices: visible ? choices.map((choice) => ({ ...choice, message: { ...choice.message, content: labelText(choice.message.content) } })) : choices,
    phigate: { ...buildAnnotation(base, input.edited === undefined ? input.confidence : undefined), review: input.review },
  };
}
