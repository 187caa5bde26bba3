// SPDX-License-Identifier: Apache-2.0
/**
 * The output filter over one chat answer, plain or streamed: every choice's content, refusal and
 * tool-call arguments go through their own held-back window (text-filter.ts), and tool calls are
 * held to the tools the request offered.
 *
 * What the model says can never widen what the request was granted: the patient set and the
 * route are fixed before the vendor is called and nothing here reads them from the answer; a
 * tool call naming a tool the request did not offer (or any tool when `tool_choice` is `none`)
 * is removed — or blocks the answer when `output.unofferedToolCalls` is `block` — and counted.
 * When every tool call of a choice is removed, its `tool_calls` finish becomes `content_filter`,
 * so the client does not wait for a tool result that will never be asked for.
 *
 * Blocking: a plain answer is judged whole (every leak counted), then withheld; a stream stops
 * at the first part with a leak — everything released before it was checked and clean — and
 * ends with `finish_reason: "content_filter"`. A leak that sat only inside a removed link's
 * destination never reaches the caller, so it is recorded but does not block.
 */
import type { ChatDelta, ChatResult, ChatRequest, FinishReason, ToolCallDelta } from '../providers/types.js';
import type { KnownPhi, Span } from '../deid/types.js';
import { createAllowedIdentifiers } from './allowed.js';
import type { OutputConfig } from './config-schema.js';
import type { LeakChecker } from './leak-check.js';
import { createTally, createTextFilter, leakCount, type FilterTally, type TextFilter, type TextFilterContext } from './text-filter.js';

/** What one request's filter is told. */
export interface ResponseFilterInput {
  readonly config: OutputConfig;
  readonly checker: LeakChecker;
  /** The request patient's identifiers. */
  readonly known?: KnownPhi | undefined;
  /** Identifiers of other recently served patients in a text (recent-patients.ts); absent: detection only. */
  readonly recent?: ((text: string) => readonly Span[]) | undefined;
  /** The texts the model was given in this request. */
  readonly payload: readonly string[];
  /** Tool names the request offered. */
  readonly offeredTools: ReadonlySet<string>;
  /** Block instead of redacting (the use case's `output.blockOnLeak`, or the configuration's). */
  readonly blockOnLeak: boolean;
}

/** `passed`: untouched; `neutralised`: links or tool calls removed; `redacted`: leaks replaced; `blocked`: withheld or stopped. */
export type FilterAction = 'passed' | 'neutralised' | 'redacted' | 'blocked';

export interface ResponseFilter {
  /** Filters a whole answer; `blocked` means it must be withheld. */
  filterResult(result: ChatResult): { readonly result: ChatResult; readonly blocked: boolean };
  /** Filters a stream; `onEnd` runs once when it ends, fails or is abandoned. */
  filterStream(deltas: AsyncIterable<ChatDelta>, onEnd?: () => Promise<void>): AsyncGenerator<ChatDelta>;
  readonly tally: FilterTally;
  /** What the filter did so far. */
  action(): FilterAction;
}

/** The free text a chat request carried to the model (what its answer may legitimately repeat). */
export function payloadTexts(request: ChatRequest): string[] {
  const texts: string[] = [];
  const parts = (content: unknown): void => {
    if (typeof content === 'string') texts.push(content);
    else if (Array.isArray(content)) for (const part of content as { type?: string; text?: unknown }[]) if (part.type === 'text' && typeof part.text === 'string') texts.push(part.text);
  };
  for (const message of request.messages) {
    parts(message.content);
    if (message.role === 'assistant') {
      for (const call of message.tool_calls ?? []) texts.push(call.function.arguments);
      if (typeof message.refusal === 'string') texts.push(message.refusal);
    }
  }
  return texts;
}

/** The tools a request offered; none when it said `tool_choice: "none"`. */
export function offeredTools(request: ChatRequest): Set<string> {
  if (request.tool_choice === 'none') return new Set();
  return new Set((request.tools ?? []).map((tool) => tool.function.name));
}

interface CallState {
  name: string;
  id: string | undefined;
  decision: 'pending' | 'kept' | 'removed';
  out: number;
  pendingArgs: string;
  readonly args: TextFilter;
}

interface ChoiceState {
  readonly content: TextFilter;
  readonly refusal: TextFilter;
  readonly calls: Map<number, CallState>;
  nextOut: number;
  kept: number;
  removed: number;
  sawToolCall: boolean;
  finished: boolean;
}

type DeltaBody = { -readonly [K in keyof ChatDelta['choices'][number]['delta']]: ChatDelta['choices'][number]['delta'][K] };

/** Creates the filter for one request's answer. */
export function createResponseFilter(input: ResponseFilterInput): ResponseFilter {
  const { config } = input;
  const tally = createTally();
  const allowed = createAllowedIdentifiers({ known: input.known, payload: input.payload });
  let blocked = false;
  const textContext = (stopOnLeak: boolean): TextFilterContext => ({
    checker: input.checker,
    allowed,
    known: input.known,
    recent: input.recent,
    links: { allowedHosts: config.allowedLinkHosts, marker: config.linkMarker },
    redactionMarker: config.redactionMarker,
    window: config.streamWindowChars,
    stopOnLeak,
    tally,
  });
  const offered = (name: string): boolean => input.offeredTools.has(name);
  const removeCall = (): void => {
    tally.toolCallsRemoved += 1;
    if (config.unofferedToolCalls === 'block') blocked = true;
  };
  const whole = (filter: TextFilter, text: string): string => filter.push(text) + filter.flush();

  function filterResult(result: ChatResult): { result: ChatResult; blocked: boolean } {
    // A plain answer is judged whole, so the incident counts every leak; blocking happens after.
    const ctx = textContext(false);
    const choices = result.choices.map((choice) => {
      const message = choice.message;
      const content = message.content === null ? null : whole(createTextFilter(ctx, 'text'), message.content);
      const refusal = typeof message.refusal === 'string' ? whole(createTextFilter(ctx, 'text'), message.refusal) : message.refusal;
      let finish: FinishReason = choice.finish_reason;
      let toolCalls = message.tool_calls;
      if (toolCalls) {
        const kept = toolCalls.filter((call) => {
          if (offered(call.function.name)) return true;
          removeCall();
          return false;
        });
        toolCalls = kept.map((call) => ({ ...call, function: { ...call.function, arguments: whole(createTextFilter(ctx, 'arguments'), call.function.arguments) } }));
        if (kept.length === 0 && message.tool_calls && message.tool_calls.length > 0 && finish === 'tool_calls') finish = 'content_filter';
      }
      const { tool_calls: _calls, ...rest } = message;
      return {
        ...choice,
        finish_reason: finish,
        message: { ...rest, content, ...(refusal === undefined ? {} : { refusal }), ...(toolCalls && toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) },
      };
    });
    if (input.blockOnLeak && leakCount(tally) > tally.leaksInLinks) blocked = true;
    return { result: { ...result, choices }, blocked };
  }

  async function* filterStream(deltas: AsyncIterable<ChatDelta>, onEnd?: () => Promise<void>): AsyncGenerator<ChatDelta> {
    const ctx = textContext(input.blockOnLeak);
    const choices = new Map<number, ChoiceState>();
    const stateOf = (index: number): ChoiceState => {
      let state = choices.get(index);
      if (!state) {
        state = {
          content: createTextFilter(ctx, 'text'),
          refusal: createTextFilter(ctx, 'text'),
          calls: new Map(),
          nextOut: 0,
          kept: 0,
          removed: 0,
          sawToolCall: false,
          finished: false,
        };
        choices.set(index, state);
      }
      return state;
    };
    const anyStopped = (): boolean => {
      for (const state of choices.values()) {
        if (state.content.stopped || state.refusal.stopped) return true;
        for (const call of state.calls.values()) if (call.args.stopped) return true;
      }
      return false;
    };
    /** Decides a call once its name is complete; returns the header to send when it is kept. */
    const decide = (state: ChoiceState, call: CallState): ToolCallDelta | undefined => {
      if (call.decision !== 'pending') return undefined;
      if (call.name !== '' && offered(call.name)) {
        call.decision = 'kept';
        call.out = state.nextOut++;
        state.kept += 1;
        return { index: call.out, ...(call.id === undefined ? {} : { id: call.id }), type: 'function', function: { name: call.name, arguments: call.args.push(call.pendingArgs) } };
      }
      call.decision = 'removed';
      state.removed += 1;
      removeCall();
      return undefined;
    };
    const finishChoice = (state: ChoiceState, body: DeltaBody): void => {
      const content = state.content.flush();
      const refusal = state.refusal.flush();
      if (content !== '') body.content = (body.content ?? '') + content;
      if (refusal !== '') body.refusal = (body.refusal ?? '') + refusal;
      const calls: ToolCallDelta[] = [...(body.tool_calls ?? [])];
      for (const call of state.calls.values()) {
        const header = decide(state, call);
        if (header) calls.push(header);
        if (call.decision !== 'kept') continue;
        const rest = call.args.flush();
        if (rest !== '') calls.push({ index: call.out, function: { arguments: rest } });
      }
      if (calls.length > 0) body.tool_calls = calls;
      state.finished = true;
    };
    const isEmpty = (body: DeltaBody): boolean => Object.keys(body).length === 0;

    let last: ChatDelta | undefined;
    let completed = false;
    try {
      for await (const delta of deltas) {
        last = delta;
        const out: ChatDelta['choices'][number][] = [];
        const finishes: ChatDelta['choices'][number][] = [];
        for (const choice of delta.choices) {
          const state = stateOf(choice.index);
          const body: DeltaBody = {};
          const d = choice.delta;
          if (d.role !== undefined) body.role = d.role;
          if (typeof d.content === 'string') {
            const text = state.content.push(d.content);
            if (text !== '') body.content = text;
          }
          if (typeof d.refusal === 'string') {
            const text = state.refusal.push(d.refusal);
            if (text !== '') body.refusal = text;
          }
          if (d.tool_calls && d.tool_calls.length > 0) {
            if (!state.sawToolCall) {
              // Text before the first tool call is complete: release it ahead of the calls, as the model ordered them.
              state.sawToolCall = true;
              const rest = state.content.flush();
              if (rest !== '') body.content = (body.content ?? '') + rest;
            }
            const calls: ToolCallDelta[] = [];
            for (const fragment of d.tool_calls) {
              let call = state.calls.get(fragment.index);
              if (!call) {
                call = { name: '', id: undefined, decision: 'pending', out: -1, pendingArgs: '', args: createTextFilter(ctx, 'arguments') };
                state.calls.set(fragment.index, call);
              }
              if (fragment.id !== undefined) call.id ??= fragment.id;
              if (fragment.function?.name) call.name += fragment.function.name;
              const args = fragment.function?.arguments;
              if (call.decision === 'pending') {
                if (args !== undefined) call.pendingArgs += args;
                if (args !== undefined && call.name !== '') {
                  const header = decide(state, call);
                  if (header) calls.push(header);
                }
              } else if (call.decision === 'kept' && args !== undefined && args !== '') {
                const text = call.args.push(args);
                if (text !== '') calls.push({ index: call.out, function: { arguments: text } });
              }
            }
            if (calls.length > 0) body.tool_calls = calls;
          }
          if (choice.finish_reason !== null && !state.finished) {
            finishChoice(state, body);
            let finish = choice.finish_reason;
            if (finish === 'tool_calls' && state.kept === 0 && state.removed > 0) finish = 'content_filter';
            finishes.push({ index: choice.index, delta: {}, finish_reason: finish });
          }
          if (!isEmpty(body)) out.push({ index: choice.index, delta: body, finish_reason: null });
        }
        if (blocked || anyStopped()) {
          blocked = true;
          // What `out` holds was checked clean; nothing from the part that leaked, or after it, is released.
          const open = [...choices.entries()].filter(([, state]) => !state.finished).map(([index]) => index);
          if (out.length > 0) yield { ...delta, choices: out, usage: undefined };
          yield { ...delta, choices: (open.length > 0 ? open : [0]).map((index) => ({ index, delta: {}, finish_reason: 'content_filter' as const })), usage: undefined };
          completed = true;
          return;
        }
        // Text first, then each finish in a chunk of its own (carrying the usage, if this chunk had it).
        if (out.length > 0) yield { ...delta, choices: out, usage: finishes.length > 0 ? undefined : delta.usage };
        if (finishes.length > 0) yield { ...delta, choices: finishes };
        if (out.length === 0 && finishes.length === 0 && (delta.choices.length === 0 || delta.usage != null)) yield { ...delta, choices: [] };
      }
      // A stream that ended without finishing a choice still gets what was held back.
      for (const [index, state] of choices) {
        if (state.finished) continue;
        const body: DeltaBody = {};
        finishChoice(state, body);
        if (!isEmpty(body) && last) yield { ...last, choices: [{ index, delta: body, finish_reason: null }], usage: undefined };
      }
      completed = true;
    } finally {
      if (!completed && anyStopped()) blocked = true;
      await onEnd?.();
    }
  }

  return {
    filterResult,
    filterStream,
    tally,
    action() {
      if (blocked) return 'blocked';
      if (leakCount(tally) > 0) return 'redacted';
      if (tally.linksRemoved > 0 || tally.toolCallsRemoved > 0) return 'neutralised';
      return 'passed';
    },
  };
}
