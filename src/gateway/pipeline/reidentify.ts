// SPDX-License-Identifier: Apache-2.0
/**
 * Step 8 — re-identify: tokens issued by the protect step for this conversation are replaced
 * with the real values, for the caller who sent them (authorisation to the patient was settled
 * in step 2). Streams are rewritten chunk by chunk, holding back at most one token's length so
 * a token split across chunks is still found. Tokens the model invented or mangled stay as they are.
 */
import { createReidentifier, vaultLookup, type Reidentifier } from '../../deid/reidentify-stream.js';
import type { ChatDelta, ChatResult, ToolCallDelta } from '../../providers/types.js';
import type { PipelineContext } from './context.js';

export async function reidentify(ctx: PipelineContext): Promise<void> {
  const conversationId = ctx.conversationId;
  const result = ctx.result;
  if (conversationId === undefined || result === undefined || ctx.form === 'raw') return;
  const lookup = vaultLookup(ctx.deps.deid.vault, conversationId);
  const fresh = (): Reidentifier => createReidentifier({ allowed: true, lookup });
  if (result.kind === 'chat') ctx.result = { kind: 'chat', value: await reidentifyResult(result.value, fresh) };
  else if (result.kind === 'stream') ctx.result = { kind: 'stream', deltas: reidentifyDeltas(result.deltas, fresh) };
}

async function whole(text: string, fresh: () => Reidentifier): Promise<string> {
  const r = fresh();
  return (await r.push(text)) + (await r.flush());
}

async function reidentifyResult(result: ChatResult, fresh: () => Reidentifier): Promise<ChatResult> {
  const choices = await Promise.all(
    result.choices.map(async (choice) => ({
      ...choice,
      message: {
        ...choice.message,
        content: choice.message.content === null ? null : await whole(choice.message.content, fresh),
        ...(choice.message.tool_calls
          ? {
              tool_calls: await Promise.all(
                choice.message.tool_calls.map(async (call) => ({ ...call, function: { ...call.function, arguments: await whole(call.function.arguments, fresh) } })),
              ),
            }
          : {}),
      },
    })),
  );
  return { ...result, choices };
}

/**
 * One re-identifier per choice's content and per tool call's arguments. Text held back for a
 * choice is released in the chunk that finishes that choice, after that chunk's own text and
 * arguments (or, for a stream that ends without a finish, in a last chunk of its own), so
 * nothing the model said is lost or reordered.
 */
async function* reidentifyDeltas(deltas: AsyncIterable<ChatDelta>, fresh: () => Reidentifier): AsyncGenerator<ChatDelta> {
  const content = new Map<number, Reidentifier>();
  const args = new Map<number, Map<number, Reidentifier>>();
  const contentOf = (choice: number): Reidentifier => {
    let r = content.get(choice);
    if (!r) content.set(choice, (r = fresh()));
    return r;
  };
  const argsOf = (choice: number, call: number): Reidentifier => {
    let calls = args.get(choice);
    if (!calls) args.set(choice, (calls = new Map()));
    let r = calls.get(call);
    if (!r) calls.set(call, (r = fresh()));
    return r;
  };
  const flushChoice = async (choice: number): Promise<ChatDelta['choices'][number]['delta'] | undefined> => {
    const text = (await content.get(choice)?.flush()) ?? '';
    content.delete(choice);
    const toolCalls: ToolCallDelta[] = [];
    for (const [call, r] of args.get(choice) ?? []) {
      const rest = await r.flush();
      if (rest !== '') toolCalls.push({ index: call, function: { arguments: rest } });
    }
    args.delete(choice);
    if (text === '' && toolCalls.length === 0) return undefined;
    return { ...(text === '' ? {} : { content: text }), ...(toolCalls.length === 0 ? {} : { tool_calls: toolCalls }) };
  };

  let last: ChatDelta | undefined;
  for await (const delta of deltas) {
    last = delta;
    const choices: ChatDelta['choices'][number][] = [];
    for (const choice of delta.choices) {
      let text = typeof choice.delta.content === 'string' ? await contentOf(choice.index).push(choice.delta.content) : choice.delta.content;
      let toolCalls: ToolCallDelta[] | undefined = choice.delta.tool_calls
        ? await Promise.all(
            choice.delta.tool_calls.map(async (call) =>
              call.function?.arguments === undefined
                ? call
                : { ...call, function: { ...call.function, arguments: await argsOf(choice.index, call.index).push(call.function.arguments) } },
            ),
          )
        : undefined;
      if (choice.finish_reason !== null) {
        // What was held back follows this chunk's own text: it is the end of the same stream.
        const rest = await flushChoice(choice.index);
        if (rest?.content !== undefined) text = (text ?? '') + rest.content;
        if (rest?.tool_calls) toolCalls = [...(toolCalls ?? []), ...rest.tool_calls];
      }
      choices.push({ ...choice, delta: { ...choice.delta, ...(text === undefined ? {} : { content: text }), ...(toolCalls ? { tool_calls: toolCalls } : {}) } });
    }
    yield { ...delta, choices };
  }
  // A stream that ended without finishing a choice still gets everything that was held back.
  for (const choice of new Set([...content.keys(), ...args.keys()])) {
    const rest = await flushChoice(choice);
    if (rest && last) yield { ...last, choices: [{ index: choice, delta: rest, finish_reason: null }], usage: undefined };
  }
}
