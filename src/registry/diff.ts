// SPDX-License-Identifier: Apache-2.0
/**
 * Field-by-field differences between two registry records (vendors, use-case specs), as paths a
 * reviewer can read: `baa.coveredServices`, `data.fhir[Observation].elements`,
 * `services[acme-chat].eligibility`. Lists of records are matched by their key field (`id`,
 * `resourceType`, `number`, `userId`, `seat`, `name`), so reordering a list is no change; lists of plain
 * values are compared as sets when their order carries no meaning.
 */
import { canonicalJson } from '../kernel/canonical-json.js';

export type ChangeKind = 'added' | 'removed' | 'changed';

export interface FieldChange {
  readonly path: string;
  readonly kind: ChangeKind;
  readonly before?: unknown;
  readonly after?: unknown;
}

const keyFields = ['id', 'resourceType', 'number', 'userId', 'seat', 'name'] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The key field shared by every element of both lists, unique within each, if there is one. */
function keyFieldOf(a: readonly unknown[], b: readonly unknown[]): string | undefined {
  const all = [...a, ...b];
  if (all.length === 0 || !all.every(isRecord)) return undefined;
  for (const field of keyFields) {
    const ok = [a, b].every((list) => {
      const keys = list.map((item) => (item as Record<string, unknown>)[field]);
      return keys.every((k) => typeof k === 'string' || typeof k === 'number') && new Set(keys).size === keys.length;
    });
    if (ok) return field;
  }
  return undefined;
}

const same = (a: unknown, b: unknown): boolean => canonicalOrString(a) === canonicalOrString(b);

function canonicalOrString(value: unknown): string {
  try {
    return canonicalJson(value);
  } catch {
    return JSON.stringify(value);
  }
}

const join = (prefix: string, key: string): string => (prefix === '' ? key : `${prefix}.${key}`);

/** Every difference from `before` to `after`; `undefined` members count as absent. */
export function diffValues(before: unknown, after: unknown, path = ''): FieldChange[] {
  if (same(before, after)) return [];
  if (before === undefined) return [{ path, kind: 'added', after }];
  if (after === undefined) return [{ path, kind: 'removed', before }];
  if (isRecord(before) && isRecord(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => diffValues(before[key], after[key], join(path, key)));
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const field = keyFieldOf(before, after);
    if (field !== undefined) {
      const index = (list: readonly unknown[]) => new Map(list.map((item) => [String((item as Record<string, unknown>)[field]), item]));
      const b = index(before);
      const a = index(after);
      const keys = [...new Set([...b.keys(), ...a.keys()])].sort();
      return keys.flatMap((key) => diffValues(b.get(key), a.get(key), `${path}[${key}]`));
    }
    // Lists of plain values: order is not meaningful in the registry (roles, purposes, services).
    if ([...before, ...after].every((v) => typeof v !== 'object' || v === null)) {
      const sortedB = [...before].map(canonicalOrString).sort();
      const sortedA = [...after].map(canonicalOrString).sort();
      if (sortedB.join('\u0000') === sortedA.join('\u0000')) return [];
    }
  }
  return [{ path, kind: 'changed', before, after }];
}

/** The distinct top-level field names among changes (`data.fhir[…]` → `data`), for audit records. */
export function changedTopLevelFields(changes: readonly FieldChange[]): string[] {
  return [...new Set(changes.map((c) => c.path.split(/[.[]/)[0] ?? c.path))].sort();
}
