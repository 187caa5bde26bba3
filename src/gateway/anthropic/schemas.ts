// SPDX-License-Identifier: Apache-2.0
/**
 * Inbound wire schema for Anthropic's Messages API (`POST /v1/messages`,
 * https://docs.anthropic.com/en/api/messages), the subset phigate can translate into its
 * canonical OpenAI-shaped request.
 *
 * Objects are strict for the same reason as the OpenAI schemas: an unknown field is a place
 * where PHI can bypass de-identification. Refused on purpose:
 * - `thinking` other than `{ "type": "disabled" }`: extended thinking has no canonical form.
 * - server tools (web search, code execution, computer use…), `container`, `mcp_servers`:
 *   they make the vendor fetch or run things outside the gateway's view.
 * - citations, search results, PDF URLs, Files API sources, images inside tool results:
 *   no canonical equivalent.
 * Accepted and dropped: `cache_control` (a caching hint with no content), `top_k`.
 */
import { z } from 'zod';
import { GatewayError } from '../../kernel/errors.js';
import { collectSchemaKeys, firstIssueParam, summarizeZodIssues } from '../openai/zod-issues.js';
import type { FormatZodIssuesOptions, ZodIssueSummary } from '../openai/zod-issues.js';

const nonEmpty = z.string().min(1);

/** Tool names as Anthropic allows them. */
export const anthropicToolNameSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected 1-64 letters, digits, _ or -' });

const cacheControl = z.strictObject({ type: z.literal('ephemeral'), ttl: z.enum(['5m', '1h']).optional() }).nullish();

export const anthropicTextBlockSchema = z.strictObject({ type: z.literal('text'), text: z.string(), cache_control: cacheControl });

export const anthropicImageBlockSchema = z.strictObject({
  type: z.literal('image'),
  source: z.discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('base64'),
      media_type: z.enum(['image/jpeg', 'image/png', 'image/gif', 'image/webp']),
      data: nonEmpty,
    }),
    z.strictObject({ type: z.literal('url'), url: nonEmpty }),
  ]),
  cache_control: cacheControl,
});

export const anthropicDocumentBlockSchema = z.strictObject({
  type: z.literal('document'),
  source: z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('text'), media_type: z.literal('text/plain'), data: z.string() }),
    z.strictObject({ type: z.literal('base64'), media_type: z.literal('application/pdf'), data: nonEmpty }),
  ]),
  title: z.string().nullish(),
  context: z.string().nullish(),
  cache_control: cacheControl,
});

export const anthropicToolUseBlockSchema = z.strictObject({
  type: z.literal('tool_use'),
  id: nonEmpty,
  name: anthropicToolNameSchema,
  input: z.record(z.string(), z.unknown()),
  cache_control: cacheControl,
});

export const anthropicToolResultBlockSchema = z.strictObject({
  type: z.literal('tool_result'),
  tool_use_id: nonEmpty,
  content: z.union([z.string(), z.array(anthropicTextBlockSchema)]).optional(),
  is_error: z.boolean().optional(),
  cache_control: cacheControl,
});

/** Blocks a user turn may carry. */
export const anthropicUserBlockSchema = z.discriminatedUnion('type', [
  anthropicTextBlockSchema,
  anthropicImageBlockSchema,
  anthropicDocumentBlockSchema,
  anthropicToolResultBlockSchema,
]);

/** Blocks an assistant turn may carry. */
export const anthropicAssistantBlockSchema = z.discriminatedUnion('type', [anthropicTextBlockSchema, anthropicToolUseBlockSchema]);

export const anthropicMessageSchema = z.discriminatedUnion('role', [
  z.strictObject({ role: z.literal('user'), content: z.union([z.string(), z.array(anthropicUserBlockSchema).min(1)]) }),
  z.strictObject({ role: z.literal('assistant'), content: z.union([z.string(), z.array(anthropicAssistantBlockSchema).min(1)]) }),
]);

export const anthropicToolSchema = z.strictObject({
  name: anthropicToolNameSchema,
  description: z.string().optional(),
  input_schema: z
    .record(z.string(), z.unknown())
    .refine((schema) => schema['type'] === 'object', { error: 'expected a JSON schema with "type": "object"' }),
  type: z.literal('custom').nullish(),
  strict: z.boolean().optional(),
  cache_control: cacheControl,
});

export const anthropicToolChoiceSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('auto'), disable_parallel_tool_use: z.boolean().optional() }),
  z.strictObject({ type: z.literal('any'), disable_parallel_tool_use: z.boolean().optional() }),
  z.strictObject({ type: z.literal('tool'), name: anthropicToolNameSchema, disable_parallel_tool_use: z.boolean().optional() }),
  z.strictObject({ type: z.literal('none') }),
]);

const thinkingSchema = z.unknown().superRefine((value, ctx) => {
  const disabled = typeof value === 'object' && value !== null && Object.keys(value).length === 1 && (value as { type?: unknown }).type === 'disabled';
  if (!disabled) ctx.addIssue({ code: 'custom', message: 'extended thinking is not supported; omit thinking or send {"type":"disabled"}' });
});

/** `POST /v1/messages` request body. */
export const anthropicMessagesRequestSchema = z.strictObject({
  model: nonEmpty.max(256),
  max_tokens: z.int().positive(),
  messages: z.array(anthropicMessageSchema).min(1),
  system: z.union([z.string(), z.array(anthropicTextBlockSchema)]).optional(),
  tools: z.array(anthropicToolSchema).max(128).optional(),
  tool_choice: anthropicToolChoiceSchema.optional(),
  stop_sequences: z.array(z.string()).max(16).optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.int().nonnegative().optional(),
  stream: z.boolean().optional(),
  metadata: z.strictObject({ user_id: z.string().max(256).nullish() }).optional(),
  thinking: thinkingSchema.optional(),
});

/** The parsed Messages request. */
export type AnthropicMessagesRequest = z.infer<typeof anthropicMessagesRequestSchema>;
export type AnthropicUserBlock = z.infer<typeof anthropicUserBlockSchema>;
export type AnthropicAssistantBlock = z.infer<typeof anthropicAssistantBlockSchema>;

/** Parameter names of Anthropic's API that phigate refuses; echoing them back helps developers. */
const refusedAnthropicParams = [
  'container',
  'mcp_servers',
  'service_tier',
  'output_config',
  'citations',
  'inference_geo',
  'context_management',
  'speed',
] as const;

/** Field names that may appear in Messages validation summaries. */
export const anthropicKnownKeys: ReadonlySet<string> = collectSchemaKeys([anthropicMessagesRequestSchema], refusedAnthropicParams);

/** A PHI-free summary of a validation error on a Messages body (see `summarizeZodIssues`). */
export function formatAnthropicZodIssues(error: z.ZodError, options: Partial<FormatZodIssuesOptions> = {}): ZodIssueSummary {
  return summarizeZodIssues(error, { knownKeys: options.knownKeys ?? anthropicKnownKeys, ...(options.maxIssues === undefined ? {} : { maxIssues: options.maxIssues }) });
}

/**
 * Validates a Messages body. Throws `GatewayError('invalid_request')` with a PHI-free `detail`
 * (field paths and expected kinds, never received values); never anything else.
 */
export function parseAnthropicMessagesRequest(body: unknown): AnthropicMessagesRequest {
  const parsed = anthropicMessagesRequestSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const param = firstIssueParam(parsed.error, anthropicKnownKeys);
  throw new GatewayError('invalid_request', {
    detail: formatAnthropicZodIssues(parsed.error),
    ...(param === undefined ? {} : { param }),
  });
}
