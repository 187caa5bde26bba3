// SPDX-License-Identifier: Apache-2.0
/**
 * Translation between Anthropic's Messages API (https://docs.anthropic.com/en/api/messages,
 * streaming events per https://docs.anthropic.com/en/api/messages-streaming) and phigate's
 * canonical OpenAI-shaped request, result and stream chunks.
 *
 * Inbound: a validated Messages body becomes a `ChatRequest`, so the whole pipeline
 * (authorization, de-identification, egress, audit) runs unchanged. Outbound: a `ChatResult`
 * becomes a Message, and a stream of `ChatDelta` chunks becomes the event sequence the official
 * SDKs reassemble: message_start, then per block content_block_start / _delta / _stop, then
 * message_delta and message_stop.
 *
 * Known losses, both directions: `top_k`, `cache_control` and `tool_result.is_error` have no
 * canonical field and are dropped; a `stop` finish cannot say which stop sequence matched, so
 * `stop_sequence` is always null and `stop_reason` is `end_turn`.
 */
import { GatewayError, toErrorBody } from '../../kernel/errors.js';
import type {
  ChatDelta,
  ChatMessage,
  ChatRequest,
  ChatResult,
  ContentPart,
  FinishReason,
  TextPart,
  ToolCall,
  ToolChoice,
  ToolDefinition,
} from '../../providers/types.js';
import type { AnthropicAssistantBlock, AnthropicMessagesRequest, AnthropicUserBlock } from './schemas.js';

// ---------------------------------------------------------------------------------------------
// Wire types of the responses we produce (the subset of Anthropic's Message we emit).

export interface AnthropicTextBlock {
  readonly type: 'text';
  readonly text: string;
}
export interface AnthropicToolUseBlock {
  readonly type: 'tool_use';
  readonly id: string;
  readonly name: string;
  readonly input: Readonly<Record<string, unknown>>;
}
export type AnthropicContentBlock = AnthropicTextBlock | AnthropicToolUseBlock;

export type AnthropicStopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'refusal';

export interface AnthropicUsage {
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly cache_creation_input_tokens: number;
  readonly cache_read_input_tokens: number;
}

/** A non-streaming Messages response. */
export interface AnthropicMessage {
  readonly id: string;
  readonly type: 'message';
  readonly role: 'assistant';
  readonly model: string;
  readonly content: readonly AnthropicContentBlock[];
  readonly stop_reason: AnthropicStopReason | null;
  readonly stop_sequence: string | null;
  readonly usage: AnthropicUsage;
}

/** Anthropic's error `type` values. */
export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'timeout_error'
  | 'api_error'
  | 'overloaded_error';

/** Anthropic's error body. `code` carries phigate's registry code (the SDK keeps extra fields). */
export interface AnthropicErrorBody {
  readonly type: 'error';
  readonly error: { readonly type: AnthropicErrorType; readonly message: string; readonly code?: string };
}

/** One server-sent event: `event` is the SSE event name and equals `data.type`. */
export type AnthropicStreamEvent =
  | { readonly event: 'message_start'; readonly data: { readonly type: 'message_start'; readonly message: AnthropicMessage } }
  | {
      readonly event: 'content_block_start';
      readonly data: {
        readonly type: 'content_block_start';
        readonly index: number;
        readonly content_block: AnthropicTextBlock | AnthropicToolUseBlock;
      };
    }
  | {
      readonly event: 'content_block_delta';
      readonly data: {
        readonly type: 'content_block_delta';
        readonly index: number;
        readonly delta:
          | { readonly type: 'text_delta'; readonly text: string }
          | { readonly type: 'input_json_delta'; readonly partial_json: string };
      };
    }
  | { readonly event: 'content_block_stop'; readonly data: { readonly type: 'content_block_stop'; readonly index: number } }
  | {
      readonly event: 'message_delta';
      readonly data: {
        readonly type: 'message_delta';
        readonly delta: { readonly stop_reason: AnthropicStopReason | null; readonly stop_sequence: string | null };
        readonly usage: { readonly output_tokens: number; readonly input_tokens?: number };
      };
    }
  | { readonly event: 'message_stop'; readonly data: { readonly type: 'message_stop' } }
  | { readonly event: 'ping'; readonly data: { readonly type: 'ping' } }
  | { readonly event: 'error'; readonly data: AnthropicErrorBody };

// ---------------------------------------------------------------------------------------------
// Request: Messages → ChatRequest

function textParts(blocks: readonly { readonly text: string }[]): TextPart[] {
  return blocks.map((block) => ({ type: 'text', text: block.text }));
}

function userParts(block: Exclude<AnthropicUserBlock, { type: 'tool_result' }>): ContentPart[] {
  switch (block.type) {
    case 'text':
      return [{ type: 'text', text: block.text }];
    case 'image':
      return [
        {
          type: 'image_url',
          image_url: {
            url: block.source.type === 'base64' ? `data:${block.source.media_type};base64,${block.source.data}` : block.source.url,
          },
        },
      ];
    case 'document': {
      // Title and context are caller text like any other, so they travel as their own parts
      // and pass through de-identification with the document.
      const parts: ContentPart[] = [];
      if (block.title != null) parts.push({ type: 'text', text: block.title });
      if (block.context != null) parts.push({ type: 'text', text: block.context });
      if (block.source.type === 'text') parts.push({ type: 'text', text: block.source.data });
      else parts.push({ type: 'file', file: { file_data: `data:application/pdf;base64,${block.source.data}`, filename: 'document.pdf' } });
      return parts;
    }
  }
}

function fromUserBlocks(blocks: readonly AnthropicUserBlock[], out: ChatMessage[]): void {
  // OpenAI wants tool results right after the assistant turn that asked for them, and
  // Anthropic puts them first in the user turn, so they go out first, in order.
  const parts: ContentPart[] = [];
  for (const block of blocks) {
    if (block.type === 'tool_result') {
      const content = block.content === undefined ? '' : typeof block.content === 'string' ? block.content : textParts(block.content);
      out.push({ role: 'tool', tool_call_id: block.tool_use_id, content: Array.isArray(content) && content.length === 0 ? '' : content });
    } else {
      parts.push(...userParts(block));
    }
  }
  if (parts.length > 0) out.push({ role: 'user', content: parts });
}

function fromAssistantBlocks(blocks: readonly AnthropicAssistantBlock[]): ChatMessage {
  const texts: TextPart[] = [];
  const toolCalls: ToolCall[] = [];
  for (const block of blocks) {
    if (block.type === 'text') texts.push({ type: 'text', text: block.text });
    else toolCalls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input) } });
  }
  const content = texts.length === 0 ? null : texts.length === 1 ? (texts[0]?.text ?? null) : texts;
  return toolCalls.length === 0 ? { role: 'assistant', content } : { role: 'assistant', content, tool_calls: toolCalls };
}

function fromToolChoice(choice: NonNullable<AnthropicMessagesRequest['tool_choice']>): ToolChoice {
  switch (choice.type) {
    case 'auto':
      return 'auto';
    case 'any':
      return 'required';
    case 'none':
      return 'none';
    case 'tool':
      return { type: 'function', function: { name: choice.name } };
  }
}

/**
 * Translates a validated Messages body into the canonical request.
 *
 * System text becomes the first (system) message; `tool_use` blocks become assistant
 * `tool_calls` (input serialized as JSON arguments); `tool_result` blocks become `tool`
 * messages; images become `image_url` parts (base64 as data URLs); `stop_sequences` → `stop`;
 * `tool_choice` any → `required`, tool → function; `metadata.user_id` → `user`. Streaming
 * requests ask for usage so the final `message_delta` can report output tokens.
 */
export function fromAnthropicRequest(body: AnthropicMessagesRequest): ChatRequest {
  const messages: ChatMessage[] = [];
  if (typeof body.system === 'string') messages.push({ role: 'system', content: body.system });
  else if (body.system !== undefined && body.system.length > 0) messages.push({ role: 'system', content: textParts(body.system) });

  for (const message of body.messages) {
    if (message.role === 'user') {
      if (typeof message.content === 'string') messages.push({ role: 'user', content: message.content });
      else fromUserBlocks(message.content, messages);
    } else if (typeof message.content === 'string') {
      messages.push({ role: 'assistant', content: message.content });
    } else {
      messages.push(fromAssistantBlocks(message.content));
    }
  }

  const request: {
    -readonly [K in keyof ChatRequest]: ChatRequest[K];
  } = { model: body.model, messages, max_tokens: body.max_tokens };

  if (body.tools !== undefined && body.tools.length > 0) {
    request.tools = body.tools.map(
      (tool): ToolDefinition => ({
        type: 'function',
        function: {
          name: tool.name,
          ...(tool.description === undefined ? {} : { description: tool.description }),
          parameters: tool.input_schema,
          ...(tool.strict === undefined ? {} : { strict: tool.strict }),
        },
      }),
    );
  }
  if (body.tool_choice !== undefined) {
    request.tool_choice = fromToolChoice(body.tool_choice);
    if ('disable_parallel_tool_use' in body.tool_choice && body.tool_choice.disable_parallel_tool_use === true) {
      request.parallel_tool_calls = false;
    }
  }
  if (body.stop_sequences !== undefined && body.stop_sequences.length > 0) request.stop = body.stop_sequences;
  if (body.temperature !== undefined) request.temperature = body.temperature;
  if (body.top_p !== undefined) request.top_p = body.top_p;
  if (body.metadata?.user_id != null) request.user = body.metadata.user_id;
  if (body.stream === true) {
    request.stream = true;
    request.stream_options = { include_usage: true };
  }
  return request;
}

// ---------------------------------------------------------------------------------------------
// Response: ChatResult → Message

/** Maps an OpenAI finish reason to Anthropic's stop reason. */
export function toAnthropicStopReason(reason: FinishReason | null | undefined): AnthropicStopReason | null {
  switch (reason) {
    case 'stop':
      return 'end_turn';
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    case null:
    case undefined:
      return null;
  }
}

/** A Messages id for a canonical completion id: `chatcmpl-abc` → `msg_abc`. */
export function toAnthropicMessageId(id: string): string {
  if (id.startsWith('msg_')) return id;
  const bare = id.startsWith('chatcmpl-') ? id.slice('chatcmpl-'.length) : id;
  return `msg_${bare.replace(/[^A-Za-z0-9_-]/g, '')}`;
}

function parseToolInput(args: string): Readonly<Record<string, unknown>> {
  if (args.trim() === '') return {};
  let input: unknown;
  try {
    input = JSON.parse(args);
  } catch {
    // Anthropic clients expect an object; a model that produced broken JSON is a bad response.
    // The SyntaxError is not kept as `cause`: V8 quotes part of the input in its message.
    throw new GatewayError('provider_bad_response', { detail: { reason: 'tool_arguments_not_json' } });
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new GatewayError('provider_bad_response', { detail: { reason: 'tool_arguments_not_object' } });
  }
  return input as Record<string, unknown>;
}

function usageOf(usage: ChatResult['usage']): AnthropicUsage {
  return {
    input_tokens: usage?.prompt_tokens ?? 0,
    output_tokens: usage?.completion_tokens ?? 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  };
}

/**
 * Translates a canonical result into a Messages response. `requestModel` is the model name the
 * caller sent, echoed back so aliases stay stable for the client.
 * Throws `GatewayError('provider_bad_response')` when there is no choice or tool arguments are
 * not a JSON object.
 */
export function toAnthropicMessage(result: ChatResult, requestModel: string): AnthropicMessage {
  const choice = result.choices[0];
  if (choice === undefined) throw new GatewayError('provider_bad_response', { detail: { reason: 'no_choices' } });
  const content: AnthropicContentBlock[] = [];
  const { message } = choice;
  if (message.content !== null && message.content !== '') content.push({ type: 'text', text: message.content });
  else if (message.refusal != null && message.refusal !== '') content.push({ type: 'text', text: message.refusal });
  for (const call of message.tool_calls ?? []) {
    content.push({ type: 'tool_use', id: call.id, name: call.function.name, input: parseToolInput(call.function.arguments) });
  }
  return {
    id: toAnthropicMessageId(result.id),
    type: 'message',
    role: 'assistant',
    model: requestModel,
    content,
    stop_reason: toAnthropicStopReason(choice.finish_reason),
    stop_sequence: null,
    usage: usageOf(result.usage),
  };
}

// ---------------------------------------------------------------------------------------------
// Streaming: ChatDelta* → Anthropic events

/**
 * Translates a canonical chunk stream into Anthropic's event sequence.
 *
 * Text (and refusal text) goes into text blocks; each tool call index opens its own `tool_use`
 * block and its argument fragments become `input_json_delta`s. Blocks are sequential, as in
 * Anthropic's protocol: a block is stopped before the next starts. Only choice 0 is read.
 * A fragment for a tool call whose block was already closed (interleaved parallel calls) is
 * refused with `provider_bad_response`, as is a tool call that arrives without a name.
 * Errors from `deltas` propagate; the caller reports them (see `toAnthropicStreamError`).
 */
export async function* toAnthropicStream(deltas: AsyncIterable<ChatDelta>, model: string): AsyncGenerator<AnthropicStreamEvent, void, undefined> {
  let started = false;
  let blockIndex = -1;
  let open: { kind: 'text' } | { kind: 'tool'; toolIndex: number } | undefined;
  const closedTools = new Set<number>();
  let finish: FinishReason | null = null;
  let inputTokens: number | undefined;
  let outputTokens = 0;
  let messageId = '';

  function* start(id: string): Generator<AnthropicStreamEvent> {
    started = true;
    messageId = toAnthropicMessageId(id);
    yield {
      event: 'message_start',
      data: {
        type: 'message_start',
        message: {
          id: messageId,
          type: 'message',
          role: 'assistant',
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
        },
      },
    };
  }

  function* close(): Generator<AnthropicStreamEvent> {
    if (open === undefined) return;
    if (open.kind === 'tool') closedTools.add(open.toolIndex);
    open = undefined;
    yield { event: 'content_block_stop', data: { type: 'content_block_stop', index: blockIndex } };
  }

  function* text(fragment: string): Generator<AnthropicStreamEvent> {
    if (fragment === '') return;
    if (open?.kind !== 'text') {
      yield* close();
      blockIndex += 1;
      open = { kind: 'text' };
      yield { event: 'content_block_start', data: { type: 'content_block_start', index: blockIndex, content_block: { type: 'text', text: '' } } };
    }
    yield { event: 'content_block_delta', data: { type: 'content_block_delta', index: blockIndex, delta: { type: 'text_delta', text: fragment } } };
  }

  for await (const chunk of deltas) {
    if (!started) yield* start(chunk.id);
    if (chunk.usage != null) {
      inputTokens = chunk.usage.prompt_tokens;
      outputTokens = chunk.usage.completion_tokens;
    }
    const choice = chunk.choices.find((candidate) => candidate.index === 0);
    if (choice === undefined) continue;
    const { delta } = choice;
    if (delta.content != null) yield* text(delta.content);
    if (delta.refusal != null) yield* text(delta.refusal);
    for (const call of delta.tool_calls ?? []) {
      if (open?.kind !== 'tool' || open.toolIndex !== call.index) {
        if (closedTools.has(call.index)) {
          throw new GatewayError('provider_bad_response', { detail: { reason: 'interleaved_tool_call_fragments' } });
        }
        const name = call.function?.name;
        if (name === undefined || name === '') throw new GatewayError('provider_bad_response', { detail: { reason: 'tool_call_without_name' } });
        yield* close();
        blockIndex += 1;
        open = { kind: 'tool', toolIndex: call.index };
        const id = call.id ?? `toolu_${messageId.slice(4)}_${call.index}`;
        yield {
          event: 'content_block_start',
          data: { type: 'content_block_start', index: blockIndex, content_block: { type: 'tool_use', id, name, input: {} } },
        };
      }
      const fragment = call.function?.arguments;
      if (fragment !== undefined && fragment !== '') {
        yield {
          event: 'content_block_delta',
          data: { type: 'content_block_delta', index: blockIndex, delta: { type: 'input_json_delta', partial_json: fragment } },
        };
      }
    }
    if (choice.finish_reason !== null) finish = choice.finish_reason;
  }

  if (!started) yield* start('msg_empty');
  yield* close();
  yield {
    event: 'message_delta',
    data: {
      type: 'message_delta',
      delta: { stop_reason: toAnthropicStopReason(finish) ?? 'end_turn', stop_sequence: null },
      usage: inputTokens === undefined ? { output_tokens: outputTokens } : { input_tokens: inputTokens, output_tokens: outputTokens },
    },
  };
  yield { event: 'message_stop', data: { type: 'message_stop' } };
}

// ---------------------------------------------------------------------------------------------
// Errors

const typeByCode: Readonly<Record<string, AnthropicErrorType>> = {
  not_ready: 'overloaded_error',
  audit_unavailable: 'overloaded_error',
  provider_rate_limited: 'rate_limit_error',
  provider_timeout: 'timeout_error',
  request_timeout: 'timeout_error',
  request_too_large: 'request_too_large',
};

function typeForStatus(status: number): AnthropicErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 408 || status === 504) return 'timeout_error';
  if (status === 413) return 'request_too_large';
  if (status === 429) return 'rate_limit_error';
  if (status === 503 || status === 529) return 'overloaded_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

/**
 * Anthropic's error body for a refusal: `{ type: "error", error: { type, message } }`, with the
 * error type chosen from phigate's code where it is more specific than the status, else from
 * the status as Anthropic's API uses it. `message` must be a fixed, PHI-free string.
 */
export function toAnthropicError(status: number, code: string, message: string): AnthropicErrorBody {
  const type = typeByCode[code] ?? typeForStatus(status);
  return { type: 'error', error: { type, message, code } };
}

/** Renders any thrown value as an Anthropic error response (non-gateway errors → internal_error). */
export function toAnthropicErrorResponse(err: unknown): { readonly status: number; readonly body: AnthropicErrorBody } {
  const { status, body } = toErrorBody(err);
  return { status, body: toAnthropicError(status, body.error.code, body.error.message) };
}

/** The `error` event to send when a stream fails after it started. */
export function toAnthropicStreamError(err: unknown): AnthropicStreamEvent {
  return { event: 'error', data: toAnthropicErrorResponse(err).body };
}
