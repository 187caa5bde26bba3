// SPDX-License-Identifier: Apache-2.0
/**
 * One held-back window over one text stream of an answer (a choice's content, its refusal, or
 * one tool call's arguments). Text is cut into parts (segmenter.ts); each complete part has its
 * links neutralised (answer text only) and is then checked for other patients' identifiers,
 * with the end of the text before it as context; nothing is released before its part was
 * checked. An identifier or a link never straddles a cut, and a plain answer goes through the
 * very same steps in one push, so streamed and plain results are identical.
 */
import type { KnownPhi, PhiCategory, Span } from '../deid/types.js';
import type { AllowedIdentifiers } from './allowed.js';
import { createLeakMemory, detectionView, redactLeaks, urlText, type Finding, type LeakChecker } from './leak-check.js';
import { neutraliseLinks, type LinkPolicy } from './links.js';
import { createSegmenter, type Segmenter } from './segmenter.js';

/** Counts of what the filter found and did in one answer; categories and numbers only. */
export interface FilterTally {
  /** Other patients' identifiers, by category. */
  readonly leaks: Partial<Record<PhiCategory, number>>;
  /** Of those, how many sat inside a removed link's destination (never released anyway). */
  leaksInLinks: number;
  /** The request's own identifiers found. */
  allowed: number;
  /** Phigate tokens found (re-identified later for the caller). */
  tokens: number;
  linksRemoved: number;
  toolCallsRemoved: number;
}

export function createTally(): FilterTally {
  return { leaks: {}, leaksInLinks: 0, allowed: 0, tokens: 0, linksRemoved: 0, toolCallsRemoved: 0 };
}

export function leakCount(tally: FilterTally): number {
  return Object.values(tally.leaks).reduce((sum, n) => sum + (n ?? 0), 0);
}

/** Everything a text filter needs for one request. */
export interface TextFilterContext {
  readonly checker: LeakChecker;
  readonly allowed: AllowedIdentifiers;
  readonly known?: KnownPhi | undefined;
  /** Identifiers of other recently served patients in a text (recent-patients.ts). */
  readonly recent?: ((text: string) => readonly Span[]) | undefined;
  readonly links: LinkPolicy;
  readonly redactionMarker: string;
  readonly window: number;
  /** Stop at the first leak (the caller then blocks the answer) instead of redacting. */
  readonly stopOnLeak: boolean;
  readonly tally: FilterTally;
}

export interface TextFilter {
  /** Accepts the next chunk; returns the text that is checked and may be released now. */
  push(chunk: string): string;
  /** Releases the rest; call once at the end of the stream. */
  flush(): string;
  /** True once a leak was found while `stopOnLeak` is set: nothing more is released. */
  readonly stopped: boolean;
}

const contextChars = 256;

/** Creates the filter for one text stream; `kind` decides whether links are neutralised. */
export function createTextFilter(ctx: TextFilterContext, kind: 'text' | 'arguments'): TextFilter {
  const markup = kind === 'text';
  const memory = createLeakMemory();
  let context = '';
  let stopped = false;
  const segmenter: Segmenter = createSegmenter({
    window: ctx.window,
    markup,
    // Every finding counts here, whatever its verdict (URLs included): a forced cut avoids them all.
    spans: (text) => ctx.checker.check({ text, from: 0, allowed: ctx.allowed, known: ctx.known, recent: ctx.recent, memory: createLeakMemory() }),
  });

  const count = (findings: readonly Finding[]): boolean => {
    let leaked = false;
    for (const finding of findings) {
      if (finding.verdict === 'leak') {
        ctx.tally.leaks[finding.type] = (ctx.tally.leaks[finding.type] ?? 0) + 1;
        leaked = true;
      } else if (finding.verdict === 'allowed') ctx.tally.allowed += 1;
      else if (finding.verdict === 'token') ctx.tally.tokens += 1;
    }
    return leaked;
  };

  const part = (raw: string): string => {
    if (stopped) return '';
    let text = raw;
    if (markup) {
      const neutralised = neutraliseLinks(raw, ctx.links);
      text = neutralised.text;
      ctx.tally.linksRemoved += neutralised.removed;
      // A removed destination that carried another patient's identifier is recorded, though it never leaves.
      for (const destination of neutralised.destinations) {
        const inner = detectionView(urlText(destination)).view;
        const findings = ctx.checker.check({ text: inner, from: 0, allowed: ctx.allowed, known: ctx.known, recent: ctx.recent, memory: createLeakMemory() });
        const leaks = findings.filter((f) => f.verdict === 'leak').length;
        if (leaks > 0) {
          ctx.tally.leaksInLinks += leaks;
          for (const f of findings) if (f.verdict === 'leak') ctx.tally.leaks[f.type] = (ctx.tally.leaks[f.type] ?? 0) + 1;
        }
      }
    }
    const joined = context + text;
    const findings = ctx.checker.check({ text: joined, from: context.length, allowed: ctx.allowed, known: ctx.known, recent: ctx.recent, memory });
    const leaked = count(findings);
    const out = redactLeaks(joined, context.length, findings, ctx.redactionMarker);
    context = joined.slice(-contextChars);
    if (leaked && ctx.stopOnLeak) {
      stopped = true;
      return '';
    }
    return out;
  };

  const run = (parts: readonly string[]): string => {
    let out = '';
    for (const p of parts) out += part(p);
    return out;
  };

  return {
    push: (chunk) => (stopped || chunk === '' ? '' : run(segmenter.push(chunk))),
    flush: () => (stopped ? '' : run(segmenter.flush())),
    get stopped() {
      return stopped;
    },
  };
}
