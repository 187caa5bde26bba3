// SPDX-License-Identifier: Apache-2.0
/**
 * Public entry of the detection engine: `createDeidEngine()` builds the dictionaries and the merged
 * expressions once; `engine.detect(text)` returns sorted, non-overlapping spans (offsets, category,
 * detector, confidence — never the matched text).
 */
import { GatewayError } from '../kernel/errors.js';
import type { DetectOptions, Span } from './types.js';
import { loadDictionaries } from './dictionaries/index.js';
import { createPatternDetector, type PatternDetector } from './detectors/patterns.js';
import { createNameDetector, type NameDetector } from './detectors/names.js';
import { detectKnownPhi } from './detectors/known-phi.js';
import { mergeSpans } from './detectors/merge.js';

/** Longest text one call accepts (UTF-16 code units); callers split larger inputs. */
export const maxDetectChars = 8 * 1024 * 1024;

export interface DeidEngine {
  /** Spans sorted by start, non-overlapping, merged. Throws `request_too_large` above `maxDetectChars`. */
  detect(text: string, options?: DetectOptions): Span[];
}

export interface DeidEngineOptions {
  /** Default language pack; a call's `options.language` overrides it. */
  readonly language?: 'en' | 'es';
  /** Refuse texts longer than this many UTF-16 code units (default `maxDetectChars`). */
  readonly maxChars?: number;
}

interface Pack {
  readonly patterns: PatternDetector;
  readonly names: NameDetector;
}

/** Builds an engine; building takes a few hundred milliseconds, so build once and reuse it. */
export function createDeidEngine(options: DeidEngineOptions = {}): DeidEngine {
  const seedStop = (language: 'en' | 'es', word: string): boolean => {
    const d = loadDictionaries(language);
    return d.commonWords.has(word) || d.keep.has(word);
  };
  const packs = new Map<'en' | 'es', Pack>();
  const maxChars = options.maxChars ?? maxDetectChars;
  function pack(language: 'en' | 'es'): Pack {
    let p = packs.get(language);
    if (!p) {
      const dict = loadDictionaries(language);
      p = { patterns: createPatternDetector(language, dict), names: createNameDetector(dict) };
      packs.set(language, p);
    }
    return p;
  }
  pack(options.language ?? 'en');
  return {
    detect(text: string, detectOptions: DetectOptions = {}): Span[] {
      if (typeof text !== 'string') throw new GatewayError('invalid_request', { detail: { reason: 'text_not_a_string' } });
      if (text.length > maxChars) throw new GatewayError('request_too_large', { detail: { limit_chars: maxChars, length_chars: text.length } });
      if (text.length === 0) return [];
      const language = detectOptions.language ?? options.language ?? 'en';
      const p = pack(language);
      const raw: Span[] = [];
      p.patterns.detect(text, raw);
      // names found by labels seed the document-level propagation of the name detector
      const seeds = new Set<string>();
      for (const s of raw) {
        if (s.type !== 'NAME') continue;
        for (const w of text.slice(s.start, s.end).split(/[^\p{L}\p{M}'’-]+/u)) {
          const lower = w.toLowerCase();
          if (w.length >= 3 && !seedStop(language, lower)) seeds.add(lower);
        }
      }
      p.names.detect(text, raw, seeds);
      if (detectOptions.knownPhi) detectKnownPhi(text, detectOptions.knownPhi, raw);
      return mergeSpans(raw);
    },
  };
}
