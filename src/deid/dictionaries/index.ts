// SPDX-License-Identifier: Apache-2.0
/**
 * Loads the generated word lists into hash sets and a token trie, once per language. Lookups are
 * per token (O(1)); multi-word places go through the trie, so a document is matched in one pass.
 */
import * as en from './generated/en.js';
import * as es from './generated/es.js';
import { keepWords } from './keep.js';

/** A trie over lower-cased tokens; `end` marks a complete phrase. */
export interface TokenTrie {
  readonly next: Map<string, TokenTrie>;
  end: boolean;
}

export interface Dictionaries {
  readonly firstNames: ReadonlySet<string>;
  readonly lastNames: ReadonlySet<string>;
  /** Names that are also ordinary words ("Will", "Hope", "Brown"): need context. */
  readonly ambiguousNames: ReadonlySet<string>;
  /** Ordinary lower-case words; empty for languages without a list. */
  readonly commonWords: ReadonlySet<string>;
  readonly keep: ReadonlySet<string>;
  readonly cities: TokenTrie;
  readonly ambiguousCities: ReadonlySet<string>;
  readonly streetSuffixes: ReadonlySet<string>;
}

function words(list: string): string[] {
  return list ? list.split('\n') : [];
}

function buildTrie(phrases: Iterable<string>, skip: ReadonlySet<string>): TokenTrie {
  const root: TokenTrie = { next: new Map(), end: false };
  for (const phrase of phrases) {
    if (skip.has(phrase)) continue;
    const parts = phrase.split(/[\s-]+/).filter(Boolean);
    if (parts.length === 0) continue;
    let node = root;
    for (const part of parts) {
      let child = node.next.get(part);
      if (!child) {
        child = { next: new Map(), end: false };
        node.next.set(part, child);
      }
      node = child;
    }
    node.end = true;
  }
  return root;
}

const cache = new Map<'en' | 'es', Dictionaries>();

/** The dictionaries of one language pack, built on first use and shared after. */
export function loadDictionaries(language: 'en' | 'es'): Dictionaries {
  const hit = cache.get(language);
  if (hit) return hit;
  const keep = keepWords(language);
  const common = new Set(words(en.commonWords));
  let built: Dictionaries;
  if (language === 'en') {
    built = {
      firstNames: new Set(words(en.firstNames)),
      lastNames: new Set(words(en.lastNames)),
      ambiguousNames: new Set(words(en.ambiguousNames)),
      commonWords: common,
      keep,
      cities: buildTrie(words(en.cities), keep),
      ambiguousCities: new Set(words(en.ambiguousCities)),
      streetSuffixes: new Set(words(en.streetSuffixes)),
    };
  } else {
    // Spanish text borrows the English name lists too: surnames in the two overlap widely.
    built = {
      firstNames: new Set([...words(es.firstNames), ...words(en.firstNames)]),
      lastNames: new Set([...words(es.lastNames), ...words(en.lastNames)]),
      ambiguousNames: new Set(),
      commonWords: new Set(),
      keep,
      cities: buildTrie(words(es.cities), keep),
      ambiguousCities: new Set(),
      streetSuffixes: new Set(),
    };
  }
  cache.set(language, built);
  return built;
}
