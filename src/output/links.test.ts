// SPDX-License-Identifier: Apache-2.0
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defuseOpenConstructs, isAllowedDestination, neutraliseLinks, openConstructStart } from './links.js';

const policy = { allowedHosts: ['kb.example.org'], marker: '[link removed]' };
const n = (text: string): string => neutraliseLinks(text, policy).text;

describe('link neutralisation', () => {
  it('keeps the text of links and the alt text of images to hosts not allowed', () => {
    expect(n('See ![chart](https://evil.example/p.png?d=John+Smith) and [guide](https://kb.example.org/a "Guide").')).toBe(
      'See chart and [guide](https://kb.example.org/a "Guide").',
    );
    expect(n('![](https://evil.example/x.png)')).toBe('[link removed]');
    expect(n('[a](<https://evil.example/with space>) [b](javascript:alert(1)) [c](/relative?q=1) [d](#frag) [e](mailto:x@evil.example)')).toBe('a b c d e');
  });

  it('reads destinations as a browser does', () => {
    for (const trick of [
      'https://kb.example.org.evil.example/',
      'https://kb.example.org@evil.example/',
      'h&#116;tps://evil.example',
      'https://kb.example.org&#64;evil.example',
      'java\tscript:alert(1)',
      '//evil.example/x',
      'https:\\\\evil.example',
      'data:image/png;base64,AAAA',
      'https://kb.example.org%2eevil.example/',
      'https://xn--kb-example-org.evil.example/',
    ]) {
      expect(isAllowedDestination(trick, policy.allowedHosts), trick).toBe(false);
    }
    for (const ok of ['https://kb.example.org/a?b=c#d', 'HTTPS://KB.EXAMPLE.ORG/Up', 'https://sub.kb.example.org/x', '<https://kb.example.org/x y>', 'http://kb.example.org./x']) {
      expect(isAllowedDestination(ok, policy.allowedHosts), ok).toBe(true);
    }
    expect(isAllowedDestination('https://kb.example.org/', [])).toBe(false);
  });

  it('removes reference definitions to hosts not allowed, so references resolve to nothing', () => {
    expect(n('ref ![img][r1] and [text][r2]\n[r1]: https://evil.example/i.png\n  [r2]: <https://kb.example.org/ok> "Title"\n')).toBe(
      'ref ![img][r1] and [text][r2]\n\n  [r2]: <https://kb.example.org/ok> "Title"\n',
    );
    expect(n('[x]:\n  https://evil.example/y')).toBe('');
  });

  it('neutralises autolinks, bare URLs and HTML that loads or links', () => {
    expect(n('<https://evil.example/a> <https://kb.example.org/b>')).toBe('[link removed] <https://kb.example.org/b>');
    expect(n('bare https://evil.example/path?x=1. and www.evil.example/a, and https://kb.example.org/ok). (see https://evil.example/(x))')).toBe(
      'bare [link removed]. and [link removed], and https://kb.example.org/ok). (see [link removed])',
    );
    expect(n('<img src="https://evil.example/x.png" alt="x"> <IMG SRC=https://kb.example.org/y.png>')).toBe('[link removed] <IMG SRC=https://kb.example.org/y.png>');
    expect(n('<a href="https://evil.example">click me</a>')).toBe('click me</a>');
    expect(n('<img srcset="https://kb.example.org/a.png 1x, https://evil.example/b.png 2x">')).toBe('[link removed]');
    expect(n('<div style="background:url(https://evil.example/z)">hi</div>')).toBe('[link removed]hi</div>');
    expect(n('<script>fetch(1)</script> <iframe src="https://kb.example.org/"></iframe> <p onclick="x()">p</p>')).toBe(
      '[link removed]fetch(1)</script> [link removed]</iframe> [link removed]p</p>',
    );
  });

  it('handles nesting: an image inside an allowed link is still neutralised', () => {
    expect(n('[![inner](https://evil.example/i.png)](https://kb.example.org/page)')).toBe('[inner](https://kb.example.org/page)');
    expect(n('[https://evil.example/x](https://evil.example/x)')).toBe('[link removed]');
  });

  it('leaves prose, e-mail addresses, brackets and comparisons alone', () => {
    const text = 'email a@b.com and 10.5 mg; array [1, 2]; a < b > c; [NAME_1] and [sic].';
    expect(neutraliseLinks(text, policy)).toEqual({ text, removed: 0, destinations: [] });
  });

  it('never lets a host that is not allowed survive as a destination (property)', async () => {
    const evil = fc.constantFrom('https://evil.example/a?q=1', 'http://evil.example', 'www.evil.example/x', 'https://kb.example.org@evil.example/');
    const words = fc.stringMatching(/^[A-Za-z ,.]{0,12}$/);
    const construct = fc.oneof(
      fc.tuple(words, evil).map(([t, u]) => `[${t}](${u})`),
      fc.tuple(words, evil).map(([t, u]) => `![${t}](${u} "t")`),
      evil.map((u) => `<${u.startsWith('www') ? `http://${u}` : u}>`),
      evil.map((u) => ` ${u} `),
      evil.map((u) => `<img src="${u}">`),
      evil.map((u) => `\n[r]: ${u}\n`),
      fc.constant('[ok](https://kb.example.org/a)'),
    );
    await fc.assert(
      fc.property(fc.array(fc.oneof(construct, words), { maxLength: 12 }), (parts) => {
        const out = n(parts.join(''));
        expect(out).not.toMatch(/evil\.example/);
      }),
      { numRuns: 400 },
    );
  });
});

describe('open constructs', () => {
  it('points at an unclosed bracket, destination, tag or trailing opener', () => {
    expect(openConstructStart('abc [link')).toBe(4);
    expect(openConstructStart('abc [x](http')).toBe(4);
    expect(openConstructStart('abc [x]')).toBe(4);
    expect(openConstructStart('a <img src=')).toBe(2);
    expect(openConstructStart('x!')).toBe(1);
    expect(openConstructStart('[r]: http://x')).toBe(0);
    for (const closed of ['ok [x](y) done', 'a [b] c', '[r]: http://x\n', 'a < b', 'no links']) expect(openConstructStart(closed), closed).toBe(-1);
  });

  it('defuses openers so a cut construct cannot render', () => {
    expect(defuseOpenConstructs('![x](https://e')).toBe('!\\[x](https://e');
    expect(defuseOpenConstructs('<img src=')).toBe('&lt;img src=');
    expect(defuseOpenConstructs('\\[kept')).toBe('\\[kept');
  });
});
