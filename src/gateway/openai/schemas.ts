// SPDX-License-Identifier: Apache-2.0
/**
 * Inbound wire schemas for OpenAI's Chat Completions and Embeddings APIs
 * (https://platform.openai.com/docs/api-reference/chat/create, .../embeddings/create).
 *
 * Every object is strict: a field phigate does not know is a place where PHI could ride past
 * de-identification, so it is refused with a 400 instead of being passed through or dropped.
 * OpenAI answers unknown parameters with 400 as well, so well-formed clients are unaffected.
 *
 * What is deliberately refused, and why:
 * - `store: true` and `logprobs: true` / `top_logprobs`: vendor-side retention of completions and
 *   token-level echoes of the output are not something a PHI gateway asks for.
 * - `functions` / `function_call` / role `function` (deprecated), `audio`, `modalities`,
 *   `prediction`, `logit_bias`, `web_search_options`: not supported by the canonical request.
 * - Token-array embedding input: token ids cannot be de-identified.
 *
 * Accepted but never forwarded: `metadata` (caller tags, may hold identifiers), `store: false`,
 * `service_tier`, `logprobs: false`. `toChatRequest` drops them.
 */
import { z } from 'zod';
import { GatewayError } from '../../kernel/errors.js';
import type { ChatRequest, EmbedRequest } from '../../providers/types.js';
import { collectSchemaKeys, firstIssueParam, summarizeZodIssues } from './zod-issues.js';
import type { FormatZodIssuesOptions, ZodIssueSummary } from './zod-issues.js';

export { collectSchemaKeys, firstIssueParam, summarizeZodIssues } from './zod-issues.js';
export type { FormatZodIssuesOptions, ZodIssueSummary } from './zod-issues.js';

const nonEmpty = z.string().min(1);

/** Function names as OpenAI allows them: letters, digits, `_` and `-`, up to 64. */
export const functionNameSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected 1-64 letters, digits, _ or -' });

export const textPartSchema = z.strictObject({ type: z.literal('text'), text: z.string() });

export const imagePartSchema = z.strictObject({
  type: z.literal('image_url'),
  image_url: z.strictObject({ url: nonEmpty, detail: z.enum(['auto', 'low', 'high']).optional() }),
});

export const inputAudioPartSchema = z.strictObject({
  type: z.literal('input_audio'),
  input_audio: z.strictObject({ data: nonEmpty, format: z.enum(['wav', 'mp3']) }),
});

export const filePartSchema = z.strictObject({
  type: z.literal('file'),
  file: z
    .strictObject({ file_data: nonEmpty.optional(), file_id: nonEmpty.optional(), filename: z.string().optional() })
    .refine((file) => file.file_data !== undefined || file.file_id !== undefined, {
      error: 'expected file_data or file_id',
    }),
});

export const contentPartSchema = z.discriminatedUnion('type', [textPartSchema, imagePartSchema, inputAudioPartSchema, filePartSchema]);

const textContent = z.union([z.string(), z.array(textPartSchema)]);

export const toolCallSchema = z.strictObject({
  id: nonEmpty,
  type: z.literal('function'),
  function: z.strictObject({ name: functionNameSchema, arguments: z.string() }),
});

const systemMessageSchema = z.strictObject({ role: z.literal('system'), content: textContent, name: z.string().optional() });
const developerMessageSchema = z.strictObject({ role: z.literal('developer'), content: textContent, name: z.string().optional() });
const userMessageSchema = z.strictObject({
  role: z.literal('user'),
  content: z.union([z.string(), z.array(contentPartSchema)]),
  name: z.string().optional(),
});
const assistantMessageSchema = z.strictObject({
  role: z.literal('assistant'),
  content: textContent.nullish(),
  name: z.string().optional(),
  tool_calls: z.array(toolCallSchema).optional(),
  refusal: z.string().nullish(),
});
const toolMessageSchema = z.strictObject({ role: z.literal('tool'), content: textContent, tool_call_id: nonEmpty });

export const chatMessageSchema = z.discriminatedUnion('role', [
  systemMessageSchema,
  developerMessageSchema,
  userMessageSchema,
  assistantMessageSchema,
  toolMessageSchema,
]);

export const toolDefinitionSchema = z.strictObject({
  type: z.literal('function'),
  function: z.strictObject({
    name: functionNameSchema,
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullish(),
  }),
});

export const toolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.strictObject({ type: z.literal('function'), function: z.strictObject({ name: functionNameSchema }) }),
]);

export const responseFormatSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text') }),
  z.strictObject({ type: z.literal('json_object') }),
  z.strictObject({
    type: z.literal('json_schema'),
    json_schema: z.strictObject({
      name: functionNameSchema,
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullish(),
    }),
  }),
]);

/** OpenAI's own limits: 16 pairs, keys up to 64 characters, values up to 512. */
const metadataSchema = z.record(z.string().max(64), z.string().max(512)).refine((map) => Object.keys(map).length <= 16, {
  error: 'expected at most 16 metadata pairs',
});

/** `POST /v1/chat/completions` request body. */
export const chatCompletionRequestSchema = z.strictObject({
  model: nonEmpty.max(256),
  messages: z.array(chatMessageSchema).min(1),
  tools: z.array(toolDefinitionSchema).max(128).optional(),
  tool_choice: toolChoiceSchema.optional(),
  parallel_tool_calls: z.boolean().optional(),
  response_format: responseFormatSchema.optional(),
  max_tokens: z.int().positive().nullish(),
  max_completion_tokens: z.int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  // Several choices work for providers that support them; adapters refuse n > 1 otherwise.
  n: z.int().min(1).max(128).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  seed: z.int().nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  user: z.string().max(256).optional(),
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_usage: z.boolean().optional(), include_obfuscation: z.boolean().optional() }).nullish(),
  metadata: metadataSchema.nullish(),
  logprobs: z
    .boolean()
    .nullish()
    .refine((value) => value !== true, { error: 'logprobs are not supported' }),
  store: z
    .boolean()
    .nullish()
    .refine((value) => value !== true, { error: 'store: true is not supported; phigate never asks a vendor to retain completions' }),
  service_tier: z.enum(['auto', 'default', 'flex', 'priority', 'scale']).nullish(),
});

/** The parsed chat request as it arrived (including fields that are never forwarded). */
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

/** Token ids cannot be de-identified, so say so instead of reporting a type mismatch. */
function refuseTokenArrays(input: unknown, ctx: z.RefinementCtx): unknown {
  if (Array.isArray(input) && input.some((item) => typeof item === 'number' || Array.isArray(item))) {
    ctx.addIssue({ code: 'custom', message: 'token arrays are not supported; send text so it can be de-identified' });
    return z.NEVER;
  }
  return input;
}

/** `POST /v1/embeddings` request body. */
export const embeddingRequestSchema = z.strictObject({
  model: nonEmpty.max(256),
  input: z.preprocess(refuseTokenArrays, z.union([z.string(), z.array(z.string()).min(1).max(2048)])),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: z.int().positive().optional(),
  user: z.string().max(256).optional(),
});

/** The parsed embeddings request. */
export type EmbeddingRequest = z.infer<typeof embeddingRequestSchema>;

// Compile-time proof that what the schemas accept is what the canonical types describe.
type Assert<T extends true> = T;
/** @internal */
export type ChatSchemaMatchesCanonical = Assert<ChatCompletionRequest extends ChatRequest ? true : false>;
/** @internal */
export type EmbedSchemaMatchesCanonical = Assert<EmbeddingRequest extends EmbedRequest ? true : false>;

/** Parameter names of OpenAI's API that phigate refuses; echoing them back helps developers. */
const refusedOpenAiParams = [
  'functions',
  'function_call',
  'audio',
  'modalities',
  'prediction',
  'logit_bias',
  'top_logprobs',
  'web_search_options',
  'reasoning_effort',
  'verbosity',
  'prompt_cache_key',
  'safety_identifier',
  'refusal',
  'top_k',
] as const;

/** Field names that may appear in OpenAI validation summaries. */
export const openAiKnownKeys: ReadonlySet<string> = collectSchemaKeys([chatCompletionRequestSchema, embeddingRequestSchema], refusedOpenAiParams);

/**
 * A PHI-free summary of a validation error on an OpenAI body, for an error `detail`: the first
 * few issues as `path: expected kind`, never the received value. Field names outside the
 * OpenAI schemas (record keys, unknown keys) are masked or counted.
 */
export function formatZodIssues(error: z.ZodError, options: Partial<FormatZodIssuesOptions> = {}): ZodIssueSummary {
  return summarizeZodIssues(error, { knownKeys: options.knownKeys ?? openAiKnownKeys, ...(options.maxIssues === undefined ? {} : { maxIssues: options.maxIssues }) });
}

/**
 * Copies the canonical fields of a parsed request, dropping the accepted-but-local ones
 * (`metadata`, `store`, `service_tier`, `logprobs`, `stream_options.include_obfuscation`) so
 * they can never reach a provider.
 */
export function toChatRequest(body: ChatCompletionRequest): ChatRequest {
  const { metadata: _metadata, store: _store, service_tier: _tier, logprobs: _logprobs, stream_options, ...rest } = body;
  if (stream_options === undefined) return rest;
  return {
    ...rest,
    stream_options: stream_options === null ? null : stream_options.include_usage === undefined ? {} : { include_usage: stream_options.include_usage },
  };
}

/** Copies the canonical fields of a parsed embeddings request. */
export function toEmbedRequest(body: EmbeddingRequest): EmbedRequest {
  return body;
}

function invalid(error: z.ZodError): GatewayError {
  const detail: ZodIssueSummary = formatZodIssues(error);
  const param = firstIssueParam(error, openAiKnownKeys);
  return new GatewayError('invalid_request', { detail, ...(param === undefined ? {} : { param }) });
}

/**
 * Validates a chat completions body and returns the canonical request.
 * Throws `GatewayError('invalid_request')` with a PHI-free `detail`; never anything else.
 */
export function parseChatCompletionRequest(body: unknown): { readonly wire: ChatCompletionRequest; readonly request: ChatRequest } {
  const parsed = chatCompletionRequestSchema.safeParse(body);
  if (!parsed.success) throw invalid(parsed.error);
  return { wire: parsed.data, request: toChatRequest(parsed.data) };
}

/** Validates an embeddings body. Throws `GatewayError('invalid_request')` with a PHI-free `detail`. */
export function parseEmbeddingRequest(body: unknown): EmbedRequest {
  const parsed = embeddingRequestSchema.safeParse(body);
  if (!parsed.success) throw invalid(parsed.error);
  return toEmbedRequest(parsed.data);
}
