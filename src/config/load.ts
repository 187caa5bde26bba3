// SPDX-License-Identifier: Apache-2.0
/**
 * Loads the configuration once: read the YAML file, overlay `PHIGATE_*` environment variables,
 * validate against the schema, deep-freeze. Any problem becomes a ConfigError listing every
 * issue with its path, what was expected and what was found, so the process can exit before
 * it opens a port.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { configFileName } from '../kernel/home.js';
import { configSchema, type PhigateConfig } from './schema.js';

export interface ConfigIssue {
  readonly path: string;
  readonly expected: string;
  readonly found: string;
}

export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];
  readonly source: string;

  constructor(source: string, issues: readonly ConfigIssue[]) {
    super(
      `invalid configuration in ${source}:\n` +
        issues.map((issue) => `  - ${issue.path}: expected ${issue.expected}, found ${issue.found}`).join('\n'),
    );
    this.name = 'ConfigError';
    this.source = source;
    this.issues = issues;
  }
}

/** Keys whose values are shown as "(hidden)" in errors, in case a secret was written in place of a reference. */
const secretKeys = /(key|secret|token|password)$/i;
const envPrefix = 'PHIGATE_';
/** Environment variables that are not configuration paths. */
const envNotConfig = new Set(['PHIGATE_HOME', 'PHIGATE_SHARED_DATA']);

export interface LoadConfigOptions {
  readonly home: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** Reads `<home>/phigate.yaml` (absent file = all defaults) and the environment, and returns the frozen config. */
export function loadConfig({ home, env = process.env }: LoadConfigOptions): PhigateConfig {
  const file = join(home, configFileName);
  let raw: unknown = {};
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError(file, [{ path: '(file)', expected: 'a readable file', found: (err as NodeJS.ErrnoException).code ?? 'an error' }]);
    }
  }
  if (text !== undefined) {
    try {
      raw = parseYaml(text) ?? {};
    } catch (err) {
      const line = (err as { linePos?: { line: number }[] }).linePos?.[0]?.line;
      throw new ConfigError(file, [{ path: line === undefined ? '(file)' : `(line ${line})`, expected: 'valid YAML', found: 'a syntax error' }]);
    }
  }
  const merged = applyEnvOverrides(raw, env);
  return parseConfig(merged, text === undefined ? 'defaults and environment' : file);
}

/** Validates an already-read configuration object and deep-freezes it. */
export function parseConfig(raw: unknown, source = 'configuration'): PhigateConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(source, result.error.issues.map((issue) => describeIssue(issue, raw)));
  return deepFreeze(result.data);
}

/**
 * `PHIGATE_SERVER__PORT=9443` sets `server.port`; `__` separates levels, single `_` joins words
 * into camelCase (`PHIGATE_SERVER__MAX_BODY_BYTES` → `server.maxBodyBytes`). Values are read as
 * JSON when they parse (numbers, booleans, arrays), otherwise as strings.
 */
export function applyEnvOverrides(raw: unknown, env: NodeJS.ProcessEnv): unknown {
  const root: Record<string, unknown> = isRecord(raw) ? structuredClone(raw) : {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(envPrefix) || envNotConfig.has(name) || value === undefined) continue;
    const path = name
      .slice(envPrefix.length)
      .split('__')
      .map((segment) => segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()));
    let node = root;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (!isRecord(next)) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1] as string] = parseEnvValue(value);
  }
  return root;
}

function parseEnvValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): ConfigIssue {
  const path = issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.');
  const found = valueAt(raw, issue.path);
  const lastKey = String(issue.path[issue.path.length - 1] ?? '');
  let expected = issue.message;
  if (issue.code === 'invalid_type') expected = issue.expected;
  else if (issue.code === 'unrecognized_keys') expected = `no unknown keys (${issue.keys.join(', ')})`;
  else if (issue.code === 'invalid_value') expected = `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  return { path, expected, found: secretKeys.test(lastKey) && found.present ? '(hidden)' : describeValue(found) };
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): { present: boolean; value?: unknown } {
  let node: unknown = raw;
  for (const key of path) {
    if (!isRecord(node) && !Array.isArray(node)) return { present: false };
    node = (node as Record<PropertyKey, unknown>)[key];
    if (node === undefined) return { present: false };
  }
  return { present: true, value: node };
}

function describeValue(found: { present: boolean; value?: unknown }): string {
  if (!found.present) return 'nothing';
  const value = found.value;
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return value.length > 60 ? `a string of ${value.length} characters` : JSON.stringify(value);
  return `${typeof value} ${String(value)}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
