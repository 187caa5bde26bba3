// SPDX-License-Identifier: Apache-2.0
/**
 * Canonical chat ↔ Gemini generateContent. System text becomes `systemInstruction`,
 * assistant turns become `model` turns, tool calls become `functionCall` parts and tool
 * results `functionResponse` parts (named by looking the call id up in earlier turns, since
 * Gemini matches responses by function name).
 */
import { z } from 'zod';
import { mediaTypeFromUrl, newToolCallId, parseArguments, parseDataUrl, textOf, unsupported, usageOf } from '../shared/common.js';
import { badResponse } from '../shared/errors.js';
import type { ChatRequest, ChatResult, ContentPart, FinishReason, ToolCall, Usage } from '../types.js';

type Part = Record<string, unknown>;

function userParts(content: string | readonly ContentPart[]): Part[] {
  if (typeof content === 'string') return [{ text: content }];
  return content.map((part): Part => {
    switch (part.type) {
      case 'text':
        return { text: part.text };
      case 'image_url': {
        const inline = parseDataUrl(part.image_url.url);
        return inline ? { inlineData: { mimeType: inline.mediaType, data: inline.data } } : { fileData: { mimeType: mediaTypeFromUrl(part.image_url.url), fileUri: part.image_url.url } };
      }
      case 'input_audio':
        return { inlineData: { mimeType: part.input_audio.format === 'mp3' ? 'audio/mpeg' : 'audio/wav', data: part.input_audio.data } };
      case 'file': {
        const inline = part.file.file_data === undefined ? undefined : parseDataUrl(part.file.file_data);
        if (!inline) return unsupported('unsupported_file_reference');
        return { inlineData: { mimeType: inline.mediaType, data: inline.data } };
      }
    }
  });
}

/** The generateContent request body. */
export function toGeminiBody(request: ChatRequest): Record<string, unknown> {
  const system: string[] = [];
  const contents: { role: 'user' | 'model'; parts: Part[] }[] = [];
  const toolNames = new Map<string, string>();
  const push = (role: 'user' | 'model', parts: Part[]): void => {
    const last = contents.at(-1);
    if (last?.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };
  for (const message of request.messages) {
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(textOf(message.content));
        break;
      case 'user':
        push('user', userParts(message.content));
        break;
      case 'tool':
        push('user', [{ functionResponse: { name: toolNames.get(message.tool_call_id) ?? message.tool_call_id, response: { content: textOf(message.content) } } }]);
        break;
      case 'assistant': {
        const parts: Part[] = [];
        const text = textOf(message.content);
        if (text !== '') parts.push({ text });
        for (const call of message.tool_calls ?? []) {
          toolNames.set(call.id, call.function.name);
          parts.push({ functionCall: { name: call.function.name, args: parseArguments(call.function.arguments) } });
        }
        if (parts.length > 0) push('model', parts);
        break;
      }
    }
  }
  const generation: Record<string, unknown> = {};
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  if (maxTokens != null) generation.maxOutputTokens = maxTokens;
  if (request.temperature != null) generation.temperature = request.temperature;
  if (request.top_p != null) generation.topP = request.top_p;
  if (request.n != null) generation.candidateCount = request.n;
  if (request.seed != null) generation.seed = request.seed;
  if (request.presence_penalty != null) generation.presencePenalty = request.presence_penalty;
  if (request.frequency_penalty != null) generation.frequencyPenalty = request.frequency_penalty;
  if (request.stop != null) generation.stopSequences = typeof request.stop === 'string' ? [request.stop] : request.stop;
  const format = request.response_format;
  if (format?.type === 'json_object' || format?.type === 'json_schema') generation.responseMimeType = 'application/json';
  if (format?.type === 'json_schema' && format.json_schema.schema) generation.responseJsonSchema = format.json_schema.schema;
  const body: Record<string, unknown> = { contents };
  if (system.length > 0) body.systemInstruction = { parts: [{ text: system.join('\n\n') }] };
  if (Object.keys(generation).length > 0) body.generationConfig = generation;
  if (request.tools && request.tools.length > 0) {
    body.tools = [
      {
        functionDeclarations: request.tools.map((tool) => ({
          name: tool.function.name,
          ...(tool.function.description === undefined ? {} : { description: tool.function.description }),
          ...(tool.function.parameters === undefined ? {} : { parameters: tool.function.parameters }),
        })),
      },
    ];
    const choice = request.tool_choice;
    if (choice !== undefined) {
      body.toolConfig = {
        functionCallingConfig:
          typeof choice === 'object'
            ? { mode: 'ANY', allowedFunctionNames: [choice.function.name] }
            : { mode: choice === 'required' ? 'ANY' : choice === 'none' ? 'NONE' : 'AUTO' },
      };
    }
  }
  return body;
}

const filtered = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY', 'LANGUAGE']);

/** Gemini finish reasons → canonical finish reasons. */
export function toFinishReason(reason: string, sawFunctionCall: boolean): FinishReason {
  if (reason === 'MAX_TOKENS') return 'length';
  if (filtered.has(reason)) return 'content_filter';
  return sawFunctionCall ? 'tool_calls' : 'stop';
}

const partSchema = z.object({
  text: z.string().optional(),
  thought: z.boolean().optional(),
  functionCall: z.object({ name: z.string(), args: z.unknown().optional() }).optional(),
});
export const geminiResponseSchema = z.object({
  candidates: z
    .array(
      z.object({
        index: z.number().optional(),
        content: z.object({ parts: z.array(partSchema).optional() }).optional(),
        finishReason: z.string().optional(),
      }),
    )
    .optional(),
  promptFeedback: z.object({ blockReason: z.string().optional() }).optional(),
  usageMetadata: z.object({ promptTokenCount: z.number().optional(), candidatesTokenCount: z.number().optional(), totalTokenCount: z.number().optional() }).optional(),
  responseId: z.string().optional(),
});
export type GeminiResponse = z.infer<typeof geminiResponseSchema>;

/** Text and function calls of one candidate's parts (thought parts are not answer text). */
export function readParts(parts: readonly z.infer<typeof partSchema>[] | undefined): { text: string; calls: ToolCall[] } {
  let text = '';
  const calls: ToolCall[] = [];
  for (const part of parts ?? []) {
    if (part.text !== undefined && part.thought !== true) text += part.text;
    if (part.functionCall) calls.push({ id: newToolCallId(), type: 'function', function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) } });
  }
  return { text, calls };
}

export function toUsage(metadata: GeminiResponse['usageMetadata']): Usage | undefined {
  if (!metadata) return undefined;
  return usageOf(metadata.promptTokenCount ?? 0, metadata.candidatesTokenCount ?? Math.max(0, (metadata.totalTokenCount ?? 0) - (metadata.promptTokenCount ?? 0)));
}

/** Reads a generateContent response (as `unknown`) into a canonical result. */
export function fromGemini(json: unknown, model: string, id: string, created: number): ChatResult {
  const parsed = geminiResponseSchema.safeParse(json);
  if (!parsed.success) throw badResponse('unexpected_shape', parsed.error);
  const response = parsed.data;
  const candidates = response.candidates ?? [];
  if (candidates.length === 0 && !response.promptFeedback?.blockReason) throw badResponse('no_candidates');
  const usage = toUsage(response.usageMetadata);
  return {
    id: response.responseId ?? id,
    object: 'chat.completion',
    created,
    model,
    choices:
      candidates.length === 0
        ? [{ index: 0, message: { role: 'assistant', content: null }, finish_reason: 'content_filter', logprobs: null }]
        : candidates.map((candidate, index) => {
            const { text, calls } = readParts(candidate.content?.parts);
            return {
              index: candidate.index ?? index,
              message: { role: 'assistant', content: text === '' && calls.length > 0 ? null : text, ...(calls.length > 0 ? { tool_calls: calls } : {}) },
              finish_reason: toFinishReason(candidate.finishReason ?? 'STOP', calls.length > 0),
              logprobs: null,
            };
          }),
    ...(usage ? { usage } : {}),
  };
}
