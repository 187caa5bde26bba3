// SPDX-License-Identifier: Apache-2.0
/**
 * Properties every vendor translation keeps, over arbitrary conversations: turns alternate as
 * the vendors require, no text is lost or reordered, and every tool result stays paired with
 * the call it answers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toAnthropicBody } from '../anthropic/anthropic-translate.js';
import { toConverseBody } from '../bedrock/bedrock-translate.js';
import type { ChatMessage, ChatRequest } from '../types.js';
import { toGeminiBody } from '../vertex/vertex-translate.js';

const text = fc.string({ minLength: 1, maxLength: 12 });

/** A conversation: system first, then user/assistant turns, assistant tool calls answered by tool messages. */
const conversation = fc
  .array(
    fc.oneof(
      text.map((t): ChatMessage[] => [{ role: 'user', content: t }]),
      text.map((t): ChatMessage[] => [{ role: 'assistant', content: t }]),
      fc.tuple(text, fc.integer({ min: 1, max: 3 }), fc.uuid()).map(([t, calls, uuid]): ChatMessage[] => {
        const ids = Array.from({ length: calls }, (_, i) => `call_${uuid}_${i}`);
        return [
          { role: 'assistant', content: null, tool_calls: ids.map((id, i) => ({ id, type: 'function' as const, function: { name: `fn${i}`, arguments: JSON.stringify({ t }) } })) },
          ...ids.map((id): ChatMessage => ({ role: 'tool', tool_call_id: id, content: `result ${t}` })),
        ];
      }),
    ),
    { minLength: 1, maxLength: 8 },
  )
  .chain((turns) => text.map((system): ChatRequest => ({ model: 'm', messages: [{ role: 'system', content: system }, ...turns.flat()] })));

function userAndAssistantTexts(request: ChatRequest): string[] {
  return request.messages.flatMap((message) =>
    (message.role === 'user' || message.role === 'assistant') && typeof message.content === 'string' && message.content !== '' ? [message.content] : [],
  );
}

function alternates(roles: readonly string[]): boolean {
  return roles.every((role, index) => index === 0 || roles[index - 1] !== role);
}

describe('vendor translations (properties)', () => {
  it('Anthropic: alternating turns, texts in order, every tool_result after its tool_use', () => {
    fc.assert(
      fc.property(conversation, (request) => {
        const { body } = toAnthropicBody(request, 'm', 100, false);
        const messages = body.messages as { role: string; content: Record<string, unknown>[] }[];
        expect(alternates(messages.map((m) => m.role))).toBe(true);
        const blocks = messages.flatMap((m) => m.content);
        expect(blocks.filter((b) => b.type === 'text').map((b) => b.text)).toEqual(userAndAssistantTexts(request));
        const seen = new Set<unknown>();
        for (const block of blocks) {
          if (block.type === 'tool_use') seen.add(block.id);
          if (block.type === 'tool_result') expect(seen.has(block.tool_use_id)).toBe(true);
        }
        expect(body.system).toBe((request.messages[0] as { content: string }).content);
      }),
    );
  });

  it('Bedrock: alternating turns, texts in order, every toolResult after its toolUse', () => {
    fc.assert(
      fc.property(conversation, (request) => {
        const body = toConverseBody(request);
        const messages = body.messages as { role: string; content: Record<string, Record<string, unknown> | string>[] }[];
        expect(alternates(messages.map((m) => m.role))).toBe(true);
        const blocks = messages.flatMap((m) => m.content);
        expect(blocks.flatMap((b) => (typeof b.text === 'string' ? [b.text] : []))).toEqual(userAndAssistantTexts(request));
        const seen = new Set<unknown>();
        for (const block of blocks) {
          if (typeof block.toolUse === 'object') seen.add(block.toolUse.toolUseId);
          if (typeof block.toolResult === 'object') expect(seen.has(block.toolResult.toolUseId)).toBe(true);
        }
      }),
    );
  });

  it('Gemini: alternating user/model turns, texts in order, function responses named after their calls', () => {
    fc.assert(
      fc.property(conversation, (request) => {
        const body = toGeminiBody(request);
        const contents = body.contents as { role: string; parts: Record<string, Record<string, unknown> | string>[] }[];
        expect(alternates(contents.map((c) => c.role))).toBe(true);
        const parts = contents.flatMap((c) => c.parts);
        expect(parts.flatMap((p) => (typeof p.text === 'string' ? [p.text] : []))).toEqual(userAndAssistantTexts(request));
        const called = new Set<unknown>();
        for (const part of parts) {
          if (typeof part.functionCall === 'object') called.add(part.functionCall.name);
          if (typeof part.functionResponse === 'object') expect(called.has(part.functionResponse.name)).toBe(true);
        }
      }),
    );
  });
});
