// SPDX-License-Identifier: Apache-2.0
/** Span conflict resolution: overlapping spans become one; the most confident detector names it. */
import type { Span } from '../types.js';

/** Sorts and merges spans in place of the detectors' raw output; the result never overlaps. */
export function mergeSpans(spans: Span[]): Span[] {
  if (spans.length <= 1) return spans.slice();
  const sorted = spans.slice().sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Span[] = [];
  let cur = sorted[0] as Span;
  for (let i = 1; i < sorted.length; i++) {
    const s = sorted[i] as Span;
    if (s.start < cur.end) {
      const lead = s.confidence > cur.confidence || (s.confidence === cur.confidence && s.end - s.start > cur.end - cur.start) ? s : cur;
      cur = { start: cur.start, end: Math.max(cur.end, s.end), type: lead.type, detector: lead.detector, confidence: Math.max(cur.confidence, s.confidence) };
    } else {
      out.push(cur);
      cur = s;
    }
  }
  out.push(cur);
  return out;
}
