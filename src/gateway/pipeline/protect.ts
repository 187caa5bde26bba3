// SPDX-License-Identifier: Apache-2.0
/**
 * Step 4 — protect: decide the form the payload leaves in, and make it so. Endpoints cleared
 * for PHI (signed BAA or self-hosted) receive it raw. For every other endpoint, each piece of
 * free text the caller sent is de-identified with the configured policy (typed tokens by
 * default, a Safe Harbor method); what cannot be de-identified — images, audio, files — is
 * refused before anything leaves, and fields that only identify people (`name`, `user`) are
 * dropped.
 */
import { GatewayError } from '../../kernel/errors.js';
import { isDeidError } from '../../deid/transforms/deid-error.js';
import type { DeidResult } from '../../deid/transforms/apply.js';
import type { PhiCategory } from '../../deid/types.js';
import { phiClearance } from '../../registry/endpoints.js';
import type { ChatMessage, ChatRequest, ContentPart, EmbedRequest, TextPart, ToolCall } from '../../providers/types.js';
import type { PipelineContext } from './context.js';
import { conversationHeader, conversationKey } from './conversation.js';

export async function protect(ctx: PipelineContext): Promise<void> {
  const primary = ctx.targets?.[0];
  if (!primary || ctx.operation === 'local' || !ctx.request) throw new GatewayError('internal_error');
  if (phiClearance(primary.endpoint) === 'phi') {
    ctx.form = 'raw';
    return;
  }
  ctx.conversationId = conversationKey(ctx, ctx.meta.header(conversationHeader));
  const protector = createTextProtector(ctx);
  try {
    if (ctx.operation === 'embeddings') ctx.request = await protectEmbeddings(ctx.request, protector);
    else ctx.request = await protectChat(ctx.request, protector);
  } catch (err) {
    if (isDeidError(err)) throw new GatewayError('request_too_large', { cause: err, detail: { reason: 'deidentification_limit' } });
    throw err;
  }
  ctx.form = protector.pseudonymised ? 'pseudonymised' : 'deidentified';
  ctx.phiFound = protector.counts;
}

interface TextProtector {
  protect(text: string): Promise<string>;
  readonly counts: Partial<Record<PhiCategory, number>>;
  readonly pseudonymised: boolean;
}

function createTextProtector(ctx: PipelineContext): TextProtector {
  const { deidentifier } = ctx.deps.deid;
  const conversationId = ctx.conversationId as string;
  const counts: Partial<Record<PhiCategory, number>> = {};
  const state = { pseudonymised: false };
  return {
    async protect(text) {
      if (text === '') return text;
      const result: DeidResult = await deidentifier.deidentify(text, {
        conversationId,
        ...(ctx.headers?.patient === undefined ? {} : { patientId: ctx.headers.patient }),
      });
      for (const [category, count] of Object.entries(result.counts) as [PhiCategory, number][]) counts[category] = (counts[category] ?? 0) + count;
      if (result.pseudonymised) state.pseudonymised = true;
      return result.text;
    },
    counts,
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
    // A photograph, recording or file can carry a face, a voice or a whole record; none can be de-identified here.
    if (part.type !== 'text') throw new GatewayError('phi_egress_denied', { detail: { reason: 'non_text_content', part: part.type } });
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
