// SPDX-License-Identifier: Apache-2.0
/**
 * External witnesses for signed tree heads. A head that has left phigate's database cannot be
 * taken back: `phigate audit verify` compares the log against the witness's copy, so rewriting
 * the tail of the log — even with every chain hash and Merkle root recomputed, even with the
 * signing key — is detected up to the last published head.
 *
 * - file: one JSON line per head appended (and fsynced) to a file that should live outside the
 *   state folder — another disk, a mounted share, a write-once volume;
 * - webhook: each head POSTed as JSON to a URL (a transparency service, a SIEM);
 * - S3 (Object Lock) fits the same {@link Witness} interface.
 */
import { appendFileSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { resolveSecret } from '../config/secrets.js';
import type { PhigateConfig } from '../config/schema.js';
import type { SignedTreeHead } from './checkpoints.js';

/** Somewhere a signed tree head is published. `publish` resolves once the witness has it. */
export interface Witness {
  /** Names the witness kind and target without secrets, for logs (`file:/path`, `webhook:host`). */
  readonly id: string;
  publish(head: SignedTreeHead): Promise<void>;
}

/** A witness whose heads can be read back by the verifier. */
export interface ReadableWitness extends Witness {
  readHeads(): Promise<SignedTreeHead[]>;
}

function isHead(value: unknown): value is SignedTreeHead {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    Number.isSafeInteger(v.treeSize) &&
    typeof v.rootHash === 'string' &&
    Number.isSafeInteger(v.timestamp) &&
    typeof v.keyId === 'string' &&
    typeof v.signature === 'string'
  );
}

/** Parses a witness file (JSON lines); lines that are not heads are reported as malformed. */
export function parseWitnessLines(text: string): { heads: SignedTreeHead[]; malformed: number } {
  const heads: SignedTreeHead[] = [];
  let malformed = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const value: unknown = JSON.parse(line);
      if (isHead(value)) heads.push({ treeSize: value.treeSize, rootHash: value.rootHash, timestamp: value.timestamp, keyId: value.keyId, signature: value.signature });
      else malformed += 1;
    } catch {
      malformed += 1;
    }
  }
  return { heads, malformed };
}

/** A file witness: appends one JSON line per head and fsyncs it. */
export function createFileWitness(path: string): ReadableWitness {
  return {
    id: `file:${path}`,
    publish(head) {
      mkdirSync(dirname(path), { recursive: true });
      const line = `${JSON.stringify({ treeSize: head.treeSize, rootHash: head.rootHash, timestamp: head.timestamp, keyId: head.keyId, signature: head.signature })}\n`;
      const fd = openSync(path, 'a', 0o644);
      try {
        appendFileSync(fd, line);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      return Promise.resolve();
    },
    readHeads() {
      if (!existsSync(path)) return Promise.resolve([]);
      return Promise.resolve(parseWitnessLines(readFileSync(path, 'utf8')).heads);
    },
  };
}

export interface WebhookWitnessOptions {
  readonly url: string;
  readonly bearerToken?: string | undefined;
  readonly timeoutMs?: number | undefined;
  readonly fetch?: typeof globalThis.fetch;
}

/** A webhook witness: POSTs each head as JSON; any non-2xx answer is a failure. */
export function createWebhookWitness(options: WebhookWitnessOptions): Witness {
  const doFetch = options.fetch ?? globalThis.fetch;
  return {
    id: `webhook:${new URL(options.url).host}`,
    async publish(head) {
      const response = await doFetch(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(options.bearerToken === undefined ? {} : { authorization: `Bearer ${options.bearerToken}` }),
        },
        body: JSON.stringify(head),
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`witness ${new URL(options.url).host} answered ${response.status}`);
    },
  };
}

/** The witnesses named in the configuration; relative file paths resolve against `baseDir`. */
export function createConfiguredWitnesses(config: PhigateConfig['audit']['witness'], baseDir: string, env: NodeJS.ProcessEnv = process.env): Witness[] {
  return config.map((entry) =>
    entry.kind === 'file'
      ? createFileWitness(isAbsolute(entry.path) ? entry.path : resolve(baseDir, entry.path))
      : createWebhookWitness({
          url: entry.url,
          bearerToken: entry.bearerToken === undefined ? undefined : resolveSecret(entry.bearerToken, baseDir, env),
          timeoutMs: entry.timeoutMs,
        }),
  );
}
