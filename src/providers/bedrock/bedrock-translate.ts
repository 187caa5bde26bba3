// SPDX-License-Identifier: Apache-2.0
/**
 * Canonical chat ↔ Bedrock Converse. Bedrock has no response_format, so a requested JSON
 * schema is written into the system prompt; images must travel as bytes (no URLs).
 */
import { z } from 'zod';
import { parseArguments, parseDataUrl, textOf, unsupported, usageOf } from '../shared/common.js';
import { badResponse } from '../shared/errors.js';
import type { ChatRequest, ChatResult, ContentPart, FinishReason, ToolCall } from '../types.js';

type Block = Record<string, unknown>;

const imageFormats: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/jpg': 'jpeg', 'image/gif': 'gif', 'image/webp': 'webp' };

function userBlocks(content: string | readonly ContentPart[]): Block[] {
  if (typeof content === 'string') return [{ text: content }];
  return content.map((part): Block => {
    switch (part.type) {
      case 'text':
        return { text: part.text };
      case 'image_url': {
        const inline = parseDataUrl(part.image_url.url);
        if (!inline) return unsupported('image_url_not_supported');
        const format = imageFormats[inline.mediaType];
        if (!format) return unsupported('image_format_not_supported');
        return { image: { format, source: { bytes: inline.data } } };
      }
      case 'file': {
        const inline = part.file.file_data === undefined ? undefined : parseDataUrl(part.file.file_data);
        if (inline?.mediaType !== 'application/pdf') return unsupported('unsupported_file_reference');
        return { document: { format: 'pdf', name: (part.file.filename ?? 'document').replace(/[^A-Za-z0-9 ()[\]-]/g, '-').slice(0, 200), source: { bytes: inline.data } } };
      }
      case 'input_audio':
        return unsupported('audio_not_supported');
    }
  });
}

/** The Converse request body (the model id travels in the path). */
export function toConverseBody(request: ChatRequest): Record<string, unknown> {
  const system: string[] = [];
  const messages: { role: 'user' | 'assistant'; content: Block[] }[] = [];
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
        push('user', [{ toolResult: { toolUseId: message.tool_call_id, content: [{ text: textOf(message.content) }], status: 'success' } }]);
        break;
      case 'assistant': {
        const blocks: Block[] = [];
        const text = textOf(message.content);
        if (text !== '') blocks.push({ text });
        for (const call of message.tool_calls ?? []) {
          blocks.push({ toolUse: { toolUseId: call.id, name: call.function.name, input: parseArguments(call.function.arguments) } });
        }
        if (blocks.length > 0) push('assistant', blocks);
        break;
      }
    }
  }
  const format = request.response_format;
  if (format?.type === 'json_schema' && format.json_schema.schema) {
    system.push(`Respond only with JSON that conforms to this JSON schema: ${JSON.stringify(format.json_schema.schema)}`);
  } else if (format?.type === 'json_object') {
    system.push('Respond only with a single JSON object.');
  }
  const inference: Record<string, unknown> = {};
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  if (maxTokens != null) inference.maxTokens = maxTokens;
  if (request.temperature != null) inference.temperature = Math.min(1, request.temperature);
  if (request.top_p != null) inference.topP = request.top_p;
  if (request.stop != null) inference.stopSequences = typeof request.stop === 'string' ? [request.stop] : request.stop;
  const body: Record<string, unknown> = { messages };
  if (system.length > 0) body.system = system.map((text) => ({ text }));
  if (Object.keys(inference).length > 0) body.inferenceConfig = inference;
  if (request.tools && request.tools.length > 0) {
    const choice = request.tool_choice;
    // Converse has no "none"; omitting toolChoice leaves the model free, which is the closest.
    const toolChoice =
      choice === 'required' ? { any: {} } : typeof choice === 'object' ? { tool: { name: choice.function.name } } : choice === 'none' ? undefined : { auto: {} };
    body.toolConfig = {
      tools: request.tools.map((tool) => ({
        toolSpec: {
          name: tool.function.name,
          ...(tool.function.description === undefined ? {} : { description: tool.function.description }),
          inputSchema: { json: tool.function.parameters ?? { type: 'object', properties: {} } },
        },
      })),
      ...(toolChoice ? { toolChoice } : {}),
    };
  }
  return body;
}

/** Converse stop reasons → canonical finish reasons. */
export function toFinishReason(reason: string | null | undefined): FinishReason {
  switch (reason ?? '') {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'guardrail_intervened':
    case 'content_filtered':
      return 'content_filter';
    default:
      return 'stop';
  }
}

export const bedrockUsageSchema = z.object({ inputTokens: z.number(), outputTokens: z.number(), totalTokens: z.number().optional() });

const converseSchema = z.object({
  output: z.object({
    message: z.object({
      content: z.array(
        z.object({
          text: z.string().optional(),
          toolUse: z.object({ toolUseId: z.string(), name: z.string(), input: z.unknown() }).optional(),
        }),
      ),
    }),
  }),
  stopReason: z.string(),
  usage: bedrockUsageSchema.optional(),
});

/** Reads a Converse response (as `unknown`) into a canonical result. */
export function fromConverse(json: unknown, model: string, id: string, created: number): ChatResult {
  const parsed = converseSchema.safeParse(json);
  if (!parsed.success) throw badResponse('unexpected_shape', parsed.error);
  let text = '';
  const toolCalls: ToolCall[] = [];
  for (const block of parsed.data.output.message.content) {
    if (block.text !== undefined) text += block.text;
    if (block.toolUse) toolCalls.push({ id: block.toolUse.toolUseId, type: 'function', function: { name: block.toolUse.name, arguments: JSON.stringify(block.toolUse.input ?? {}) } });
  }
  const usage = parsed.data.usage;
  return {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text === '' && toolCalls.length > 0 ? null : text, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) },
        finish_reason: toFinishReason(parsed.data.stopReason),
        logprobs: null,
      },
    ],
    ...(usage ? { usage: usageOf(usage.inputTokens, usage.outputTokens) } : {}),
  };
}
