// SPDX-License-Identifier: Apache-2.0
/**
 * Step 4 — protect: decide where the payload may go and in which form, and make it so.
 *
 * 1. A detection pass over every piece of free text the caller sent (and the context gathered
 *    for them) finds whether any PHI is present, with the patient's own identifiers as known PHI.
 * 2. The routing decision (policy/routing.ts) is made from the live use case, the caller's roles,
 *    the endpoints serving the model with their BAA coverage as of now, what was found, the
 *    sensitivity labels and the configured de-identification policy. A refusal stops here.
 * 3. The payload is transformed as decided: `raw` leaves it as sent; `safe_harbor` replaces PHI
 *    with the configured Safe Harbor method (typed tokens `[NAME_1]` by default; tokens when the
 *    configured policy is a pseudonymisation); `pseudonymised` applies the configured
 *    surrogates or date shift. What cannot be de-identified — images, audio, files — is refused
 *    before anything leaves, and fields that only identify people (`name`, `user`) are dropped.
 */
import { deidPolicies, type DeidPolicy, type DeidResult } from '../../deid/transforms/apply.js';
import { isDeidError } from '../../deid/transforms/deid-error.js';
import type { PhiCategory } from '../../deid/types.js';
import { GatewayError } from '../../kernel/errors.js';
import { decideRoute, deidPolicyKind, toRouteCandidate } from '../../policy/routing.js';
import { needsRegistry, unreadRegistry } from '../../registry/endpoints.js';
import type { ChatMessage, ChatRequest, ContentPart, EmbedRequest, TextPart, ToolCall } from '../../providers/types.js';
import { invokingRoles, readRegistry } from './authorize.js';
import type { PipelineContext, RouteTarget } from './context.js';
import { conversationHeader, conversationKey } from './conversation.js';

type DeidPolicyName = keyof typeof deidPolicies;

/** The Safe Harbor method used where a payload may not carry PHI: the configured one, or typed tokens. */
export function safeHarborMethod(policy: DeidPolicyName): DeidPolicyName {
  return deidPolicyKind(policy) === 'safe_harbor' ? policy : 'tokens';
}

/** Detection only: spans are counted, nothing is replaced or stored. */
const detectOnly: DeidPolicy = { default: 'keep' };

export async function protect(ctx: PipelineContext): Promise<void> {
  const targets = ctx.targets;
  if (!targets || targets.length === 0 || !ctx.principal || ctx.operation === 'local' || !ctx.request) throw new GatewayError('internal_error');
  const { deps } = ctx;
  // The registry is read once per request when anything depends on it (authorize may have read it already).
  const snapshot = ctx.useCase !== undefined || targets.some((target) => needsRegistry(target.endpoint)) ? (ctx.registrySnapshot ??= await readRegistry(deps)) : unreadRegistry;
  const now = deps.clock.now();
  const found = await guarded(() => walk(ctx, createDetector(ctx)));
  const decision = decideRoute({
    useCase: ctx.useCase?.spec,
    requireUseCase: deps.config.policy.requireUseCase,
    roles: invokingRoles(ctx.principal),
    model: ctx.request.model,
    candidates: targets.map((target) => toRouteCandidate(target.endpoint, target.upstreamModel, snapshot, now)),
    phiFound: found.phi,
    sensitivity: ctx.sensitivity ?? [],
    deidPolicy: deidPolicyKind(deps.config.deid.policy),
    hivRequiresSelfHosted: deps.config.policy.hivRequiresSelfHosted,
  });
  if (!decision.allow) throw new GatewayError(decision.code, { detail: { reason: decision.reason } });
  ctx.targets = decision.endpoints.map((chosen) => targets.find((target) => target.endpoint.id === chosen.id) as RouteTarget);
  ctx.phiFound = found.counts;
  if (decision.transform === 'raw') {
    ctx.form = 'raw';
    return;
  }
  ctx.conversationId = conversationKey(ctx, ctx.meta.header(conversationHeader));
  const policyName = decision.transform === 'pseudonymised' ? deps.config.deid.policy : safeHarborMethod(deps.config.deid.policy);
  const protector = createTransformer(ctx, deidPolicies[policyName]);
  await guarded(() => walk(ctx, protector));
  // A Safe Harbor route must end in Safe Harbor form; a pseudonymising result there is refused.
  if (decision.transform === 'safe_harbor' && protector.pseudonymised) throw new GatewayError('phi_egress_denied', { detail: { reason: 'not_safe_harbor' } });
  ctx.form = decision.transform === 'pseudonymised' ? 'pseudonymised' : decision.form;
  ctx.phiFound = protector.counts;
}

async function guarded<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (isDeidError(err)) throw new GatewayError('request_too_large', { cause: err, detail: { reason: 'deidentification_limit' } });
    throw err;
  }
}

/** Runs `protector` over every text the caller sent; the transformed request replaces the original. */
async function walk(ctx: PipelineContext, protector: TextProtector): Promise<{ phi: boolean; counts: Partial<Record<PhiCategory, number>> }> {
  if (ctx.operation === 'embeddings' && ctx.request) {
    const request = await protectEmbeddings(ctx.request, protector);
    if (protector.replaces) ctx.request = request;
  } else if (ctx.operation === 'chat' && ctx.request) {
    const request = await protectChat(ctx.request, protector);
    if (protector.replaces) ctx.request = request;
  }
  return { phi: protector.found, counts: protector.counts };
}

interface TextProtector {
  protect(text: string): Promise<string>;
  /** A photograph, recording or file: none can be scanned or de-identified here. */
  nonText(part: ContentPart): void;
  /** Whether the walk's output replaces the request (false for the detection pass). */
  readonly replaces: boolean;
  readonly counts: Partial<Record<PhiCategory, number>>;
  /** Whether anything identifying was found (or could not be scanned). */
  readonly found: boolean;
  readonly pseudonymised: boolean;
}

function tally(counts: Partial<Record<PhiCategory, number>>, result: DeidResult): void {
  for (const [category, count] of Object.entries(result.counts) as [PhiCategory, number][]) counts[category] = (counts[category] ?? 0) + count;
}

function createDetector(ctx: PipelineContext): TextProtector {
  const { deidentifier } = ctx.deps.deid;
  const counts: Partial<Record<PhiCategory, number>> = {};
  const state = { found: false };
  return {
    async protect(text) {
      if (text === '') return text;
      const result = await deidentifier.deidentify(text, {
        conversationId: 'detection-pass',
        policy: detectOnly,
        ...(ctx.patientPhi === undefined ? {} : { knownPhi: ctx.patientPhi }),
      });
      if (result.spans.length > 0) state.found = true;
      tally(counts, result);
      return text;
    },
    nonText() {
      state.found = true;
    },
    replaces: false,
    counts,
    get found() {
      return state.found;
    },
    pseudonymised: false,
  };
}

function createTransformer(ctx: PipelineContext, policy: DeidPolicy): TextProtector {
  const { deidentifier } = ctx.deps.deid;
  const conversationId = ctx.conversationId as string;
  const counts: Partial<Record<PhiCategory, number>> = {};
  const state = { pseudonymised: false, found: false };
  return {
    async protect(text) {
      if (text === '') return text;
      const result = await deidentifier.deidentify(text, {
        conversationId,
        policy,
        ...(ctx.headers?.patient === undefined ? {} : { patientId: ctx.headers.patient }),
        ...(ctx.patientPhi === undefined ? {} : { knownPhi: ctx.patientPhi }),
      });
      tally(counts, result);
      if (result.spans.length > 0) state.found = true;
      if (result.pseudonymised) state.pseudonymised = true;
      return result.text;
    },
    nonText(part) {
      throw new GatewayError('phi_egress_denied', { detail: { reason: 'non_text_content', part: part.type } });
    },
    replaces: true,
    counts,
    get found() {
      return state.found;
    },
    get pseudonymised() {
      return state.pseudonymised;
    },
  };
}

async function protectChat(request: ChatRequest, protector: TextProtector): Promise<ChatRequest> {
  const messages: ChatMessage[] = [];
  for (const message of request.messages) messages.push(await protectMessage(message, protector));
  const { user: _user, ...rest } = request;
  return { ...rest, messages };
}

async function protectMessage(message: ChatMessage, protector: TextProtector): Promise<ChatMessage> {
  switch (message.role) {
    case 'system':
    case 'developer':
      return { role: message.role, content: await protectTextContent(message.content, protector) };
    case 'user':
      return { role: 'user', content: await protectUserContent(message.content, protector) };
    case 'tool':
      return { role: 'tool', tool_call_id: message.tool_call_id, content: await protectTextContent(message.content, protector) };
    case 'assistant': {
      const toolCalls: ToolCall[] | undefined = message.tool_calls
        ? await Promise.all(
            message.tool_calls.map(async (call) => ({ ...call, function: { name: call.function.name, arguments: await protector.protect(call.function.arguments) } })),
          )
        : undefined;
      return {
        role: 'assistant',
        content: message.content === null || message.content === undefined ? message.content : await protectTextContent(message.content, protector),
        ...(toolCalls ? { tool_calls: toolCalls } : {}),
        ...(message.refusal === undefined || message.refusal === null ? {} : { refusal: await protector.protect(message.refusal) }),
      };
    }
  }
}

async function protectTextContent(content: string | readonly TextPart[], protector: TextProtector): Promise<string | TextPart[]> {
  if (typeof content === 'string') return protector.protect(content);
  const parts: TextPart[] = [];
  for (const part of content) parts.push({ type: 'text', text: await protector.protect(part.text) });
  return parts;
}

async function protectUserContent(content: string | readonly ContentPart[], protector: TextProtector): Promise<string | ContentPart[]> {
  if (typeof content === 'string') return protector.protect(content);
  const parts: ContentPart[] = [];
  for (const part of content) {
    if (part.type !== 'text') {
      protector.nonText(part);
      parts.push(part);
      continue;
    }
    parts.push({ type: 'text', text: await protector.protect(part.text) });
  }
  return parts;
}

async function protectEmbeddings(request: EmbedRequest, protector: TextProtector): Promise<EmbedRequest> {
  const { user: _user, ...rest } = request;
  if (typeof request.input === 'string') return { ...rest, input: await protector.protect(request.input) };
  const input: string[] = [];
  for (const text of request.input) input.push(await protector.protect(text));
  return { ...rest, input };
}
