// SPDX-License-Identifier: Apache-2.0
/**
 * PHI-free summaries of schema validation failures.
 *
 * A zod issue can carry request data in three places: `input` (the received value), the path
 * (record keys such as `metadata` keys are caller-chosen strings) and `unrecognized_keys`
 * (caller-chosen key names). The summary keeps only what the schema itself defines: field names
 * the schema knows, array indexes, expected kinds and limits. Anything else is replaced by `*`
 * or counted, so the summary can go into an error `detail`, a log line or an audit record.
 */
import type { z } from 'zod';

/** What `formatZodIssues` returns; assignable to the error registry's `SafeDetail`. */
export type ZodIssueSummary = {
  /** One line per reported issue, e.g. `messages[0].content: expected string or array`. */
  readonly issues: readonly string[];
  /** How many issues the validation produced in total (the summary shows the first few). */
  readonly issue_count: number;
};

export interface FormatZodIssuesOptions {
  /**
   * Field names that may be echoed back (build it with `collectSchemaKeys`); a path segment or
   * unrecognized key outside the set is shown as `*` or only counted.
   */
  readonly knownKeys: ReadonlySet<string>;
  /** How many issues to describe; the rest are only counted. Default 5. */
  readonly maxIssues?: number;
}

type Issue = z.core.$ZodIssue;

interface DefLike {
  readonly type?: string;
  readonly shape?: Record<string, unknown>;
  readonly element?: unknown;
  readonly options?: readonly unknown[];
  readonly innerType?: unknown;
  readonly valueType?: unknown;
  readonly in?: unknown;
  readonly out?: unknown;
  readonly left?: unknown;
  readonly right?: unknown;
  readonly getter?: () => unknown;
}

function defOf(schema: unknown): DefLike | undefined {
  if (typeof schema !== 'object' || schema === null) return undefined;
  const internals = (schema as { _zod?: { def?: DefLike } })._zod;
  return internals?.def;
}

/**
 * Every object field name reachable in the given schemas. Record keys are not included: they
 * are caller data, never schema vocabulary.
 */
export function collectSchemaKeys(schemas: readonly unknown[], extra: readonly string[] = []): ReadonlySet<string> {
  const keys = new Set<string>(extra);
  const seen = new Set<unknown>();
  const stack: unknown[] = [...schemas];
  while (stack.length > 0) {
    const schema = stack.pop();
    if (seen.has(schema)) continue;
    seen.add(schema);
    const def = defOf(schema);
    if (def === undefined) continue;
    if (def.shape !== undefined) {
      for (const [key, value] of Object.entries(def.shape)) {
        keys.add(key);
        stack.push(value);
      }
    }
    if (def.options !== undefined) stack.push(...def.options);
    for (const child of [def.element, def.innerType, def.valueType, def.in, def.out, def.left, def.right]) {
      if (child !== undefined) stack.push(child);
    }
    if (def.type === 'lazy' && typeof def.getter === 'function') stack.push(def.getter());
  }
  return keys;
}

function formatPath(path: readonly PropertyKey[], knownKeys: ReadonlySet<string>): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && knownKeys.has(segment)) out += out === '' ? segment : `.${segment}`;
    else out += out === '' ? '*' : '.*';
  }
  return out === '' ? '(body)' : out;
}

function describeLimit(issue: Extract<Issue, { code: 'too_big' | 'too_small' }>): string {
  const big = issue.code === 'too_big';
  const limit = big ? (issue as { maximum: number | bigint }).maximum : (issue as { minimum: number | bigint }).minimum;
  const op = issue.exact === true ? '=' : big ? (issue.inclusive === false ? '<' : '<=') : issue.inclusive === false ? '>' : '>=';
  const origin: string = issue.origin;
  if (origin === 'string') return `expected a string with length ${op} ${String(limit)}`;
  if (origin === 'array' || origin === 'set') return `expected ${op} ${String(limit)} items`;
  return `expected a number ${op} ${String(limit)}`;
}

/** JSON vocabulary for zod's type names: callers send JSON, not zod records. */
function kindName(expected: string): string {
  return expected === 'record' ? 'object' : expected === 'int' ? 'integer' : expected;
}

function literal(value: unknown): string {
  // Only schema-defined literals reach here (enum and literal options), never input values.
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** The expected kinds across a union's branches, taken from the issues at the union's own path. */
function unionKinds(issue: Extract<Issue, { code: 'invalid_union' }>): string[] {
  const kinds = new Set<string>();
  for (const branch of issue.errors) {
    const first = branch[0];
    if (first === undefined) continue;
    if (first.code === 'invalid_type' && first.path.length === 0) kinds.add(kindName(first.expected));
    else if (first.code === 'invalid_value' && first.path.length === 0) kinds.add(first.values.map(literal).join(' | '));
    else if ((first.code === 'too_big' || first.code === 'too_small') && first.path.length === 0) kinds.add(first.origin);
    else kinds.add('object');
  }
  return [...kinds];
}

/**
 * Picks the union branch that got furthest, so nested mistakes are reported where they are: a
 * branch that failed deeper than the union matched the shape and broke inside; a branch that
 * failed at the union's own level with anything but a type mismatch matched the type and broke
 * a limit (an array that is too long). Branches that only mismatched the type score zero.
 */
function bestBranch(issue: Extract<Issue, { code: 'invalid_union' }>): readonly Issue[] | undefined {
  let best: readonly Issue[] | undefined;
  let bestScore = 0;
  for (const branch of issue.errors) {
    const depth = branch.reduce((max, inner) => Math.max(max, inner.path.length), 0);
    const matchedType = branch.some((inner) => inner.code !== 'invalid_type' && inner.code !== 'invalid_value');
    const score = depth * 2 + (matchedType ? 1 : 0);
    if (score > bestScore) {
      best = branch;
      bestScore = score;
    }
  }
  return best;
}

function describe(issue: Issue, prefix: readonly PropertyKey[], knownKeys: ReadonlySet<string>, out: string[]): void {
  const path = [...prefix, ...issue.path];
  const where = formatPath(path, knownKeys);
  switch (issue.code) {
    case 'invalid_type':
      out.push(`${where}: ${issue.expected === 'undefined' ? 'not allowed here' : `expected ${kindName(issue.expected)}`}`);
      return;
    case 'invalid_value':
      out.push(`${where}: expected ${issue.values.map(literal).join(' | ')}`);
      return;
    case 'too_big':
    case 'too_small':
      out.push(`${where}: ${describeLimit(issue)}`);
      return;
    case 'invalid_format':
      out.push(`${where}: expected ${issue.format} format`);
      return;
    case 'not_multiple_of':
      out.push(`${where}: expected a multiple of ${issue.divisor}`);
      return;
    case 'unrecognized_keys': {
      const named = issue.keys.filter((key) => knownKeys.has(key));
      const unnamed = issue.keys.length - named.length;
      const parts = named.map((key) => `"${key}"`);
      if (unnamed > 0) parts.push(`${unnamed} other key${unnamed === 1 ? '' : 's'}`);
      out.push(`${where}: unsupported field${issue.keys.length === 1 ? '' : 's'} ${parts.join(', ')}`);
      return;
    }
    case 'invalid_union': {
      const best = issue.errors.length > 0 ? bestBranch(issue) : undefined;
      if (best !== undefined) {
        for (const inner of best) describe(inner, path, knownKeys, out);
        return;
      }
      const options = 'options' in issue ? issue.options : undefined;
      if (issue.discriminator !== undefined && options !== undefined) {
        // zod already places this issue at the discriminator field.
        out.push(`${where}: expected ${options.map(literal).join(' | ')}`);
        return;
      }
      const kinds = unionKinds(issue);
      out.push(`${where}: expected ${kinds.length > 0 ? kinds.join(' or ') : 'one of the allowed shapes'}`);
      return;
    }
    case 'invalid_key':
      out.push(`${where}: invalid key`);
      return;
    case 'invalid_element':
      out.push(`${where}: invalid element`);
      return;
    case 'custom':
      // Custom messages are written by phigate's own refinements and are fixed strings.
      out.push(`${where}: ${issue.message}`);
      return;
    default: {
      const unknownIssue: { code?: string } = issue;
      out.push(`${where}: invalid (${String(unknownIssue.code)})`);
    }
  }
}

/**
 * A PHI-free summary of a zod error for an error `detail`: field paths (only names in
 * `knownKeys`, and array indexes) and the expected kind or limit. The received value is never
 * included. The wire modules wrap this with their own key sets (`formatZodIssues` for OpenAI
 * bodies, `formatAnthropicZodIssues` for Messages bodies).
 *
 * @example
 * const parsed = schema.safeParse(body);
 * if (!parsed.success) throw new GatewayError('invalid_request', { detail: summarizeZodIssues(parsed.error, { knownKeys }) });
 */
export function summarizeZodIssues(error: z.ZodError, options: FormatZodIssuesOptions): ZodIssueSummary {
  const max = options.maxIssues ?? 5;
  const lines: string[] = [];
  for (const issue of error.issues) describe(issue, [], options.knownKeys, lines);
  const unique = [...new Set(lines)];
  return { issues: unique.slice(0, max), issue_count: Math.max(error.issues.length, unique.length) };
}

/** The first issue's path in the same redacted form, for an error's `param`. */
export function firstIssueParam(error: z.ZodError, knownKeys: ReadonlySet<string>): string | undefined {
  const lines: string[] = [];
  const first = error.issues[0];
  if (first === undefined) return undefined;
  describe(first, [], knownKeys, lines);
  const line = lines[0];
  if (line === undefined) return undefined;
  let param = line.slice(0, line.indexOf(': '));
  // For an unsupported field, the field itself is the useful param when phigate knows its name.
  const unknownKey = first.code === 'unrecognized_keys' ? first.keys.find((key) => knownKeys.has(key)) : undefined;
  if (unknownKey !== undefined) param = param === '(body)' ? unknownKey : `${param}.${unknownKey}`;
  return param === '(body)' ? undefined : param;
}
