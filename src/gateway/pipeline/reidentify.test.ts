// SPDX-License-Identifier: Apache-2.0
// The re-identify step over plain answers and streams, with a memory token vault: tokens of the
// conversation are put back for the caller, a token split across chunks is found, and text held
// back at the end of a choice comes out in the model's order — also when the chunk that carries
// `finish_reason` has text of its own (a stream cut by `max_tokens`, a vendor that sends its last
// words with the finish).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryTokenVault, type TokenVault } from '../../deid/token-vault.js';
import type { ChatDelta, ChatResult, FinishReason, ToolCallDelta, Usage } from '../../providers/types.js';
import type { GatewayDeps, PipelineContext } from './context.js';
import { reidentify } from './reidentify.js';

const conversation = 'conv-1';

async function vaultWith(values: readonly [type: 'NAME' | 'DATE', value: string][]): Promise<{ vault: TokenVault; tokens: string[] }> {
  const vault = createMemoryTokenVault();
  const tokens: string[] = [];
  for (const [type, value] of values) tokens.push(await vault.tokenize(conversation, type, value));
  return { vault, tokens };
}

function contextFor(vault: TokenVault, result: PipelineContext['result']): PipelineContext {
  return { deps: { deid: { vault } } as unknown as GatewayDeps, operation: 'chat', conversationId: conversation, form: 'deidentified', result } as unknown as PipelineContext;
}

type Piece = { content?: string; toolCalls?: ToolCallDelta[]; finish?: FinishReason; usage?: Usage };

function delta(piece: Piece): ChatDelta {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'm',
    choices: [
      {
        index: 0,
        delta: { ...(piece.content === undefined ? {} : { content: piece.content }), ...(piece.toolCalls ? { tool_calls: piece.toolCalls } : {}) },
        finish_reason: piece.finish ?? null,
      },
    ],
    ...(piece.usage ? { usage: piece.usage } : {}),
  };
}

async function streamOut(vault: TokenVault, pieces: readonly Piece[]): Promise<ChatDelta[]> {
  const ctx = contextFor(vault, {
    kind: 'stream',
    deltas: (async function* () {
      for (const piece of pieces) yield delta(piece);
    })(),
  });
  await reidentify(ctx);
  if (ctx.result?.kind !== 'stream') throw new Error('expected a stream');
  const out: ChatDelta[] = [];
  for await (const d of ctx.result.deltas) out.push(d);
  return out;
}

/** What a client assembles from the chunks, in order; text after the finish would be lost by many clients. */
function assemble(out: readonly ChatDelta[]): { content: string; args: Map<number, string>; finish: FinishReason | null; afterFinish: number; usage: number } {
  let content = '';
  const args = new Map<number, string>();
  let finish: FinishReason | null = null;
  let afterFinish = 0;
  let usage = 0;
  for (const d of out) {
    if (d.usage) usage++;
    for (const choice of d.choices) {
      if (finish !== null && (choice.delta.content || choice.delta.tool_calls)) afterFinish++;
      content += choice.delta.content ?? '';
      for (const call of choice.delta.tool_calls ?? []) args.set(call.index, (args.get(call.index) ?? '') + (call.function?.arguments ?? ''));
      finish = choice.finish_reason ?? finish;
    }
  }
  return { content, args, finish, afterFinish, usage };
}

describe('reidentify', () => {
  it('puts the conversation’s tokens back in a plain answer and leaves unknown tokens alone', async () => {
    const { vault, tokens } = await vaultWith([['NAME', 'John Smith']]);
    const result: ChatResult = {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1,
      model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: `Call ${tokens[0]} about [NAME_99].` }, finish_reason: 'stop', logprobs: null }],
    };
    const ctx = contextFor(vault, { kind: 'chat', value: result });
    await reidentify(ctx);
    expect(ctx.result?.kind === 'chat' && ctx.result.value.choices[0]?.message.content).toBe('Call John Smith about [NAME_99].');
  });

  it('finds a token split across chunks when the finishing chunk carries no text', async () => {
    const { vault } = await vaultWith([['NAME', 'John Smith']]);
    const out = await streamOut(vault, [{ content: 'Dear [NAM' }, { content: 'E_1], all is well.' }, { finish: 'stop' }]);
    expect(assemble(out)).toMatchObject({ content: 'Dear John Smith, all is well.', finish: 'stop', afterFinish: 0 });
  });

  it('keeps the model’s order when the chunk that finishes the choice also carries text', async () => {
    const { vault } = await vaultWith([['NAME', 'John Smith'], ['DATE', 'March 4, 2021']]);
    // Cut by max_tokens in the middle of a token: the last chunk has text, a held-back tail and the finish.
    const out = await streamOut(vault, [{ content: 'Dear [NAM' }, { content: 'E_1], your visit on [DATE_', finish: 'length' }]);
    expect(assemble(out)).toMatchObject({ content: 'Dear John Smith, your visit on [DATE_', finish: 'length', afterFinish: 0 });
    // A complete token split over the finishing chunk and a bracket the model opened last.
    const again = await streamOut(vault, [{ content: 'On [DAT' }, { content: 'E_1] [NAME_1] came [', finish: 'stop', usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } }]);
    expect(assemble(again)).toMatchObject({ content: 'On March 4, 2021 John Smith came [', finish: 'stop', afterFinish: 0, usage: 1 });
  });

  it('keeps the order of tool-call arguments when the finishing chunk carries the last fragment', async () => {
    const { vault } = await vaultWith([['NAME', 'John Smith']]);
    const out = await streamOut(vault, [
      { toolCalls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'send_letter', arguments: '{"to":"[NAM' } }] },
      { toolCalls: [{ index: 0, function: { arguments: 'E_1]","note":"see [NAME_' } }], finish: 'length' },
    ]);
    expect(assemble(out)).toMatchObject({ finish: 'length', afterFinish: 0 });
    expect(assemble(out).args.get(0)).toBe('{"to":"John Smith","note":"see [NAME_');
  });

  it('gives any chunking of an answer the plain result, the finish on the last chunk with text (property)', async () => {
    const { vault, tokens } = await vaultWith([['NAME', 'John Smith'], ['DATE', 'March 4, 2021']]);
    const plain = async (text: string): Promise<string> => {
      const ctx = contextFor(vault, { kind: 'chat', value: { id: 'c', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop', logprobs: null }] } });
      await reidentify(ctx);
      return (ctx.result?.kind === 'chat' && ctx.result.value.choices[0]?.message.content) || '';
    };
    const word = fc.constantFrom('Dear ', 'seen ', ', ', '[', '[NAME_', '[DATE_1', ' ok', '] ', 'x');
    const part = fc.oneof(word, fc.constantFrom(...tokens));
    await fc.assert(
      fc.asyncProperty(fc.array(part, { minLength: 1, maxLength: 10 }), fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 8 }), async (parts, cutPoints) => {
        const text = parts.join('');
        const cuts = [...new Set(cutPoints.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const chunks: string[] = [];
        let prev = 0;
        for (const c of cuts) {
          chunks.push(text.slice(prev, c));
          prev = c;
        }
        chunks.push(text.slice(prev));
        const pieces: Piece[] = chunks.map((content, i) => (i === chunks.length - 1 ? { content, finish: 'stop' } : { content }));
        const got = assemble(await streamOut(vault, pieces));
        expect(got.content).toBe(await plain(text));
        expect(got.afterFinish).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
