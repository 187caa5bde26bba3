// SPDX-License-Identifier: Apache-2.0
/**
 * Re-identification: tokens in model output back to real values, for a caller the access layer
 * has allowed to see them. Streaming-safe: a token split across chunks is held back (never more
 * than the longest possible token) and replaced once complete. Tokens the vault never issued,
 * or that the model mangled, pass through unchanged.
 */
import type { TokenVault } from './token-vault.js';
import { maxTokenLength, parseToken, tokenPattern } from './tokens.js';

/** Resolves one token to its value; `undefined` leaves the token in place. */
export type TokenLookup = (token: string) => string | undefined | Promise<string | undefined>;

/** What re-identification needs. */
export interface ReidentifyOptions {
  /**
   * The access layer's decision for this caller and patient. When false, text passes through
   * with its tokens, and the vault is never consulted.
   */
  readonly allowed: boolean;
  readonly lookup: TokenLookup;
}

/** A stateful transformer over a text stream. */
export interface Reidentifier {
  /** Accepts the next chunk; returns the text that can be released now. */
  push(chunk: string): Promise<string>;
  /** Releases whatever was held back; call once at the end of the stream. */
  flush(): Promise<string>;
  /** How many tokens were replaced so far (for audit counts). */
  readonly replaced: number;
}

/** A lookup against one conversation of a vault. */
export function vaultLookup(vault: TokenVault, conversationId: string): TokenLookup {
  return (token) => vault.lookup(conversationId, token);
}

// A suffix that may still grow into a token: "[" then category letters, "_" and digits.
const openTail = /\[[A-Z_]*[0-9]{0,6}$/;

/**
 * Creates a streaming re-identifier.
 *
 * @example
 * const r = createReidentifier({ allowed, lookup: vaultLookup(vault, conversationId) });
 * for await (const chunk of modelStream) send(await r.push(chunk));
 * send(await r.flush());
 */
export function createReidentifier(options: ReidentifyOptions): Reidentifier {
  let held = '';
  let replaced = 0;

  const replaceComplete = async (text: string): Promise<string> => {
    if (!text.includes('[')) return text;
    const re = tokenPattern();
    let out = '';
    let last = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const token = m[0];
      if (!parseToken(token)) continue;
      const value = await options.lookup(token);
      if (value === undefined) continue;
      out += text.slice(last, m.index) + value;
      last = m.index + token.length;
      replaced += 1;
    }
    return out + text.slice(last);
  };

  return {
    get replaced() {
      return replaced;
    },
    async push(chunk) {
      if (!options.allowed) return chunk;
      const text = held + chunk;
      const open = text.lastIndexOf('[');
      let cut = text.length;
      if (open >= 0 && text.length - open < maxTokenLength && openTail.test(text.slice(open))) cut = open;
      held = text.slice(cut);
      return replaceComplete(text.slice(0, cut));
    },
    async flush() {
      const text = held;
      held = '';
      return options.allowed ? replaceComplete(text) : text;
    },
  };
}

/** Re-identifies a whole text. */
export async function reidentifyText(text: string, options: ReidentifyOptions): Promise<string> {
  const r = createReidentifier(options);
  return (await r.push(text)) + (await r.flush());
}

/** Re-identifies an async stream of text chunks, yielding nothing for chunks that are wholly held back. */
export async function* reidentifyStream(source: AsyncIterable<string>, options: ReidentifyOptions): AsyncIterable<string> {
  const r = createReidentifier(options);
  for await (const chunk of source) {
    const out = await r.push(chunk);
    if (out.length > 0) yield out;
  }
  const rest = await r.flush();
  if (rest.length > 0) yield rest;
}
