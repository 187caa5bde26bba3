// SPDX-License-Identifier: Apache-2.0
/**
 * The one door out. Every payload bound for a vendor passes `authorizeEgress` right before the
 * call, with a registry snapshot read at that moment, and only then is sealed as an `Outbound`
 * value — the only type a provider accepts (outbound.ts; only this module seals).
 *
 * - Raw and pseudonymised payloads go only to endpoints cleared for PHI now: self-hosted, or
 *   under a vendor BAA that covers the endpoint's service today, within its data residency.
 *   A revoked or lapsed BAA therefore stops the very next call, fallbacks included.
 * - Sensitive categories (42 CFR Part 2, psychotherapy notes, genetic data, HIV where the
 *   option says state law requires it) go only to self-hosted endpoints, whatever the form.
 * - De-identified and PHI-free payloads get a second detection pass over every text field —
 *   messages, tool-call arguments, tool definitions, response schemas, stop sequences,
 *   embeddings input. phigate's own markers (`[NAME_1]`, `[REDACTED]`, `[NAME]`) are not PHI;
 *   anything else the detector finds refuses the call (`phi_egress_denied`, reason
 *   `residual_phi`): the door fails closed.
 *
 * Refusals name endpoint ids, forms, reasons and PHI categories — never the payload.
 */
import type { EndpointConfig } from '../config/schema.js';
import type { Deidentifier } from '../deid/deidentify.js';
import { tokenPattern, parseToken } from '../deid/tokens.js';
import type { DeidPolicy } from '../deid/transforms/apply.js';
import { phiCategories, type KnownPhi, type PhiCategory, type Span } from '../deid/types.js';
import { GatewayError, type ErrorCode } from '../kernel/errors.js';
import type { ChatRequest, EmbedRequest } from '../providers/types.js';
import { endpointClearance, type EndpointClearance } from '../registry/endpoints.js';
import type { RegistrySnapshot } from '../registry/registry-view.js';
import type { SensitiveCategory } from '../registry/use-case-spec.js';
import { sealOutbound, type Outbound, type OutboundForm } from './outbound.js';
import { restrictingCategories } from './routing.js';

/** The detection engine as the door uses it: spans of identifying text (never the text itself). */
export interface ResidualDetector {
  detect(text: string, knownPhi: KnownPhi | undefined): Promise<readonly Span[]> | readonly Span[];
}

const detectOnly: DeidPolicy = { default: 'keep' };

/** The second pass runs the same engine as the de-identification itself, detecting only (nothing is replaced or stored). */
export function createResidualDetector(deidentifier: Deidentifier): ResidualDetector {
  return {
    detect: async (text, knownPhi) =>
      (await deidentifier.deidentify(text, { conversationId: 'egress-check', policy: detectOnly, ...(knownPhi === undefined ? {} : { knownPhi }) })).spans,
  };
}

/** What the destination check needs besides the endpoint and the form. */
export interface DestinationFacts {
  readonly clearance: EndpointClearance;
  /** Sensitive categories the payload carries. */
  readonly sensitivity: readonly SensitiveCategory[];
  readonly hivRequiresSelfHosted: boolean;
}

export type DestinationCheck =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly code: Extract<ErrorCode, 'phi_egress_denied' | 'baa_not_in_force'>; readonly reason: string };

const lapsed = new Set(['baa_expired', 'baa_terminated', 'baa_not_yet_effective']);

/**
 * Whether a payload in `form` may go to `endpoint` given its clearance and the payload's
 * sensitivity. Pure; the pipeline's egress step and `authorizeEgress` share it.
 */
export function checkDestination(endpoint: EndpointConfig, form: OutboundForm, facts: DestinationFacts): DestinationCheck {
  const sensitive = restrictingCategories(facts.sensitivity, facts.hivRequiresSelfHosted);
  if (sensitive.length > 0 && !endpoint.selfHosted) return { allowed: false, code: 'phi_egress_denied', reason: 'sensitive_requires_self_hosted' };
  switch (form) {
    case 'raw':
    case 'pseudonymised':
      // Surrogates and shifted dates are still PHI under HIPAA: only BAA-covered or self-hosted.
      if (facts.clearance.cleared) return { allowed: true };
      return { allowed: false, code: lapsed.has(facts.clearance.reason) ? 'baa_not_in_force' : 'phi_egress_denied', reason: facts.clearance.reason };
    case 'deidentified':
    case 'phi_free':
      return { allowed: true };
  }
}

/** Everything `authorizeEgress` reads at call time. */
export interface EgressContext {
  /** The registry as of this call (read right before it, not at the start of the request). */
  readonly snapshot: RegistrySnapshot;
  readonly now: number;
  readonly sensitivity: readonly SensitiveCategory[];
  readonly hivRequiresSelfHosted: boolean;
  /** The detection engine for the second pass over de-identified payloads. */
  readonly detector: ResidualDetector;
  /** The patient's own identifiers: always looked for in the second pass. */
  readonly knownPhi?: KnownPhi | undefined;
}

/** A sealed payload and the registry facts it was approved on (for the disclosure record). */
export interface EgressApproval<T> {
  readonly outbound: Outbound<T>;
  readonly clearance: EndpointClearance;
}

const markerCategories = new Set<string>(phiCategories);

/** Offsets of phigate's own markers in `text`: tokens, `[REDACTED]`, typed redactions `[NAME]`. */
function markerRanges(text: string): [number, number][] {
  const ranges: [number, number][] = [];
  for (const m of text.matchAll(tokenPattern())) if (parseToken(m[0])) ranges.push([m.index, m.index + m[0].length]);
  for (const m of text.matchAll(/\[([A-Z_]{2,20})\]/g)) if (m[1] === 'REDACTED' || markerCategories.has(m[1] as string)) ranges.push([m.index, m.index + m[0].length]);
  return ranges;
}

/** Words that identify nobody, left over when a detector's context rule fires beside a marker ("working at The [ORGANIZATION_1]"). */
const closedClassWords = new Set(['the', 'a', 'an']);

/**
 * The spans of `text` that are identifying once phigate's markers are set aside: a span counts
 * unless every letter or digit in it lies inside a marker, or what lies outside is only an article.
 */
export function residualSpans(text: string, spans: readonly Span[]): Span[] {
  const markers = markerRanges(text);
  return spans.filter((span) => {
    let outside = '';
    for (let i = span.start; i < span.end; i++) {
      if (!markers.some(([a, b]) => i >= a && i < b)) outside += text[i];
    }
    const words = outside.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
    return words.some((word) => !closedClassWords.has(word));
  });
}

/** Every text field of a payload that reaches the vendor, in order. */
export function payloadTexts(payload: ChatRequest | EmbedRequest): string[] {
  const out: string[] = [];
  const add = (value: string | null | undefined): void => {
    if (typeof value === 'string' && value !== '') out.push(value);
  };
  const addDeep = (value: unknown): void => {
    if (typeof value === 'string') add(value);
    else if (Array.isArray(value)) for (const item of value) addDeep(item);
    else if (value !== null && typeof value === 'object') for (const item of Object.values(value)) addDeep(item);
  };
  add(payload.user);
  if ('input' in payload) {
    if (typeof payload.input === 'string') add(payload.input);
    else for (const text of payload.input) add(text);
    return out;
  }
  for (const message of payload.messages) {
    if ('name' in message) add(message.name);
    const content = message.content;
    if (typeof content === 'string') add(content);
    else if (Array.isArray(content)) {
      for (const part of content as readonly { readonly type: string; readonly text?: string }[]) if (part.type === 'text') add(part.text);
    }
    if (message.role === 'assistant') {
      add(message.refusal);
      for (const call of message.tool_calls ?? []) {
        add(call.function.name);
        add(call.function.arguments);
      }
    }
  }
  for (const tool of payload.tools ?? []) {
    add(tool.function.name);
    add(tool.function.description);
    addDeep(tool.function.parameters);
  }
  if (payload.response_format?.type === 'json_schema') {
    add(payload.response_format.json_schema.description);
    addDeep(payload.response_format.json_schema.schema);
  }
  if (typeof payload.stop === 'string') add(payload.stop);
  else for (const stop of payload.stop ?? []) add(stop);
  return out;
}

/** Runs the second detection pass; refuses when anything identifying remains. */
async function assertNoResidualPhi(endpoint: EndpointConfig, payload: ChatRequest | EmbedRequest, form: OutboundForm, context: EgressContext): Promise<void> {
  const found = new Map<PhiCategory, number>();
  for (const text of payloadTexts(payload)) {
    const spans = await context.detector.detect(text, context.knownPhi);
    for (const span of residualSpans(text, spans)) found.set(span.type, (found.get(span.type) ?? 0) + 1);
  }
  if (found.size === 0) return;
  throw new GatewayError('phi_egress_denied', {
    detail: { endpoint: endpoint.id, form, reason: 'residual_phi', categories: [...found.keys()].sort(), count: [...found.values()].reduce((a, b) => a + b, 0) },
  });
}

/**
 * Checks the destination against the registry as it is now and the payload against its form,
 * then seals. Refuses with `phi_egress_denied` or `baa_not_in_force`, naming the endpoint id.
 *
 * @example
 * const snapshot = await deps.registry.snapshot();
 * const { outbound, clearance } = await authorizeEgress(endpoint, payload, 'deidentified', { snapshot, now, sensitivity, hivRequiresSelfHosted, detector });
 * await provider.chat(outbound, call);
 */
export async function authorizeEgress<T extends ChatRequest | EmbedRequest>(endpoint: EndpointConfig, payload: T, form: OutboundForm, context: EgressContext): Promise<EgressApproval<T>> {
  const clearance = endpointClearance(endpoint, context.snapshot, context.now);
  const check = checkDestination(endpoint, form, { clearance, sensitivity: context.sensitivity, hivRequiresSelfHosted: context.hivRequiresSelfHosted });
  if (!check.allowed) throw new GatewayError(check.code, { detail: { endpoint: endpoint.id, form, reason: check.reason } });
  if (form === 'deidentified' || form === 'phi_free') await assertNoResidualPhi(endpoint, payload, form, context);
  return { outbound: sealOutbound(payload, endpoint.id, form), clearance };
}
