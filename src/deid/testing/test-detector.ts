// SPDX-License-Identifier: Apache-2.0
/**
 * A deliberately small detector for tests of the transforms, the FHIR walker and the CLI, so
 * they do not depend on the real engine: a handful of regular expressions plus a list of names.
 */
import type { SpanDetector } from '../deidentify.js';
import type { PhiCategory, Span } from '../types.js';

const patterns: readonly [PhiCategory, RegExp][] = [
  ['EMAIL', /[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}/g],
  ['SSN', /\b\d{3}-\d{2}-\d{4}\b/g],
  ['PHONE', /(?:\+1 )?\(?\b\d{3}\)?[ -]\d{3}-\d{4}\b/g],
  ['DATE', /\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}\/\d{1,2}\/\d{2,4}\b|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? \d{1,2}(?:st|nd|rd|th)?(?:, \d{4})?/g],
  ['MRN', /\bMRN[: ]+\d{5,10}\b/g],
  ['AGE', /\b(?:9\d|1[01]\d)(?=[- ]year)/g],
  ['LOCATION', /\b\d{5}\b(?!-\d{2}-)/g],
];

/** Creates the test detector; `names` are found case-sensitively as whole words. */
export function createTestDetector(names: readonly string[] = []): SpanDetector {
  return {
    detect(text, options) {
      const found: Span[] = [];
      for (const [type, re] of patterns) {
        for (const m of text.matchAll(re)) found.push({ start: m.index, end: m.index + m[0].length, type, detector: `test:${type}`, confidence: 1 });
      }
      const all = [...names, ...(options?.knownPhi?.names ?? [])];
      for (const name of all) {
        if (name.length === 0) continue;
        let i = text.indexOf(name);
        while (i >= 0) {
          found.push({ start: i, end: i + name.length, type: 'NAME', detector: 'test:name', confidence: 1 });
          i = text.indexOf(name, i + name.length);
        }
      }
      found.sort((a, b) => a.start - b.start || b.end - a.end);
      const out: Span[] = [];
      for (const s of found) if (!out.length || s.start >= out[out.length - 1]!.end) out.push(s);
      return out;
    },
  };
}
