// SPDX-License-Identifier: Apache-2.0
/**
 * Canonical (OpenAI-shaped) chat ↔ Anthropic Messages API. System and developer messages
 * become `system`; tool messages become `tool_result` blocks in a user turn; assistant tool
 * calls become `tool_use` blocks; consecutive turns of one role are merged, as the API expects.
 */
import { z } from 'zod';
import { parseArguments, parseDataUrl, textOf, unsupported, usageOf } from '../shared/common.js';
import { badResponse } from '../shared/errors.js';
import type { ChatRequest, ChatResult, ContentPart, FinishReason, ToolCall, Usage } from '../types.js';

type Block = Record<string, unknown>;
interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

/** Beta flag for native JSON-schema output. */
export const structuredOutputsBeta = 'structured-outputs-2025-11-13';

function userBlocks(content: string | readonly ContentPart[]): Block[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return content.map((part): Block => {
    switch (part.type) {
      case 'text':
        return { type: 'text', text: part.text };
      case 'image_url': {
        const inline = parseDataUrl(part.image_url.url);
        return inline
          ? { type: 'image', source: { type: 'base64', media_type: inline.mediaType, data: inline.data } }
          : { type: 'image', source: { type: 'url', url: part.image_url.url } };
      }
      case 'file': {
        const inline = part.file.file_data === undefined ? undefined : parseDataUrl(part.file.file_data);
        if (!inline) return unsupported('unsupported_file_reference');
        return { type: 'document', source: { type: 'base64', media_type: inline.mediaType, data: inline.data } };
      }
      case 'input_audio':
        return unsupported('audio_not_supported');
    }
  });
}

/** Builds the Messages API body and whether the structured-outputs beta is needed. */
export function toAnthropicBody(request: ChatRequest, model: string, defaultMaxTokens: number, stream: boolean): { body: Record<string, unknown>; beta: string | undefined } {
  const system: string[] = [];
  const messages: AnthropicMessage[] = [];
  const push = (role: 'user' | 'assistant', blocks: Block[]): void => {
    const last = messages.at(-1);
    if (last?.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  for (const message of request.messages) {
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(textOf(message.content));
        break;
      case 'user':
        push('user', userBlocks(message.content));
        break;
      case 'tool':
        push('user', [{ type: 'tool_result', tool_use_id: message.tool_call_id, content: textOf(message.content) }]);
        break;
      case 'assistant': {
        const blocks: Block[] = [];
        const text = textOf(message.content);
        if (text !== '') blocks.push({ type: 'text', text });
        for (const call of message.tool_calls ?? []) {
          blocks.push({ type: 'tool_use', id: call.id, name: call.function.name, input: parseArguments(call.function.arguments) });
        }
        if (blocks.length > 0) push('assistant', blocks);
        break;
      }
    }
  }
  let beta: string | undefined;
  const body: Record<string, unknown> = {
    model,
    max_tokens: request.max_completion_tokens ?? request.max_tokens ?? defaultMaxTokens,
    messages,
  };
  const format = request.response_format;
  if (format?.type === 'json_schema' && format.json_schema.schema) {
    body.output_format = { type: 'json_schema', schema: format.json_schema.schema };
    beta = structuredOutputsBeta;
  } else if (format?.type === 'json_object') {
    system.push('Respond with a single JSON object and nothing else.');
  }
  if (system.length > 0) body.system = system.join('\n\n');
  // Anthropic's temperature range is 0–1 where OpenAI's is 0–2.
  if (request.temperature != null) body.temperature = Math.min(1, request.temperature);
  if (request.top_p != null) body.top_p = request.top_p;
  if (request.stop != null) body.stop_sequences = typeof request.stop === 'string' ? [request.stop] : request.stop;
  if (request.user !== undefined) body.metadata = { user_id: request.user };
  if (request.tools && request.tools.length > 0 && request.tool_choice !== 'none') {
    body.tools = request.tools.map((tool) => ({
      name: tool.function.name,
      ...(tool.function.description === undefined ? {} : { description: tool.function.description }),
      input_schema: tool.function.parameters ?? { type: 'object', properties: {} },
    }));
    const choice = request.tool_choice;
    const base =
      choice === undefined || choice === 'auto'
        ? { type: 'auto' }
        : choice === 'required'
          ? { type: 'any' }
          : { type: 'tool', name: choice.function.name };
    body.tool_choice = request.parallel_tool_calls === false ? { ...base, disable_parallel_tool_use: true } : base;
  }
  if (stream) body.stream = true;
  return { body, beta };
}

/** Anthropic stop reasons → canonical finish reasons. */
export function toFinishReason(reason: string | null | undefined): FinishReason {
  switch (reason ?? '') {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop';
  }
}

export const anthropicUsageSchema = z.object({
  input_tokens: z.number().nullish(),
  output_tokens: z.number().nullish(),
  cache_creation_input_tokens: z.number().nullish(),
  cache_read_input_tokens: z.number().nullish(),
});
type AnthropicUsage = z.infer<typeof anthropicUsageSchema>;

/** Cached prompt tokens still count as prompt tokens for budgets and audit. */
export function inputTokens(usage: AnthropicUsage): number {
  return (usage.input_tokens ?? 0) + (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0);
}

const messageSchema = z.object({
  id: z.string(),
  content: z.array(
    z.union([
      z.object({ type: z.literal('text'), text: z.string() }),
      z.object({ type: z.literal('tool_use'), id: z.string(), name: z.string(), input: z.unknown() }),
      z.object({ type: z.string() }),
    ]),
  ),
  stop_reason: z.string().nullish(),
  usage: anthropicUsageSchema,
});

/** Reads a Messages API response (as `unknown`) into a canonical result. */
export function fromAnthropicMessage(json: unknown, model: string, created: number): ChatResult {
  const parsed = messageSchema.safeParse(json);
  if (!parsed.success) throw badResponse('unexpected_shape', parsed.error);
  const message = parsed.data;
  let text = '';
  const toolCalls: ToolCall[] = [];
  for (const block of message.content) {
    if ('text' in block && block.type === 'text') text += block.text;
    else if ('id' in block && block.type === 'tool_use') {
      toolCalls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } });
    }
  }
  const usage: Usage = usageOf(inputTokens(message.usage), message.usage.output_tokens ?? 0);
  return {
    id: message.id,
    object: 'chat.completion',
    created,
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text === '' && toolCalls.length > 0 ? null : text, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) },
        finish_reason: toFinishReason(message.stop_reason),
        logprobs: null,
      },
    ],
    usage,
  };
}
