// SPDX-License-Identifier: Apache-2.0
/**
 * Canonical JSON in the manner of RFC 8785 for the value shapes phigate hashes, signs and binds
 * as associated data: object keys sorted by UTF-16 code units, no whitespace, strings escaped by
 * `JSON.stringify`, undefined members dropped. Numbers must be safe integers, so two writers can
 * never disagree on how a float is printed.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError('canonical JSON accepts only safe integers');
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map((item: unknown) => canonicalJson(item)).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`canonical JSON cannot encode a ${typeof value}`);
}
