// SPDX-License-Identifier: Apache-2.0
/** Assembles a canonical chunk stream the way an OpenAI client does, for assertions. */
import type { ChatDelta, FinishReason, Usage } from '../types.js';

export interface CollectedStream {
  readonly chunks: readonly ChatDelta[];
  readonly content: string;
  readonly toolCalls: readonly { readonly id: string; readonly name: string; readonly arguments: string }[];
  readonly finishReason: FinishReason | null;
  readonly usage: Usage | null;
}

/** Reads the whole stream; tool-call fragments are joined per `index`. */
export async function collectStream(stream: AsyncIterable<ChatDelta>): Promise<CollectedStream> {
  const chunks: ChatDelta[] = [];
  let content = '';
  const calls: { id: string; name: string; arguments: string }[] = [];
  let finishReason: FinishReason | null = null;
  let usage: Usage | null = null;
  for await (const chunk of stream) {
    chunks.push(chunk);
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      content += choice.delta.content ?? '';
      for (const call of choice.delta.tool_calls ?? []) {
        const slot = (calls[call.index] ??= { id: '', name: '', arguments: '' });
        if (call.id) slot.id = call.id;
        if (call.function?.name) slot.name += call.function.name;
        slot.arguments += call.function?.arguments ?? '';
      }
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
  }
  return { chunks, content, toolCalls: calls.filter(Boolean), finishReason, usage };
}
