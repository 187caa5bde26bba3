// SPDX-License-Identifier: Apache-2.0
/**
 * Resolves secret references (`env:NAME`, `file:PATH`) at boot. The resolved value is returned
 * to the one caller that needs it and never stored in the configuration object or logged.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

export class SecretReferenceError extends Error {
  readonly reference: string;

  constructor(reference: string, reason: string) {
    // The reference names where the secret lives, not the secret, so it is safe to show.
    super(`secret ${reference}: ${reason}`);
    this.reference = reference;
    this.name = 'SecretReferenceError';
  }
}

/**
 * Returns the secret a reference points to. Relative file paths resolve against `baseDir`
 * (the state folder). Trailing newlines in files are dropped.
 */
export function resolveSecret(reference: string, baseDir: string, env: NodeJS.ProcessEnv = process.env): string {
  if (reference.startsWith('env:')) {
    const value = env[reference.slice(4)];
    if (value === undefined || value === '') throw new SecretReferenceError(reference, 'the environment variable is not set');
    return value;
  }
  if (reference.startsWith('file:')) {
    const path = reference.slice(5);
    const full = isAbsolute(path) ? path : resolve(baseDir, path);
    try {
      return readFileSync(full, 'utf8').replace(/\r?\n$/, '');
    } catch {
      throw new SecretReferenceError(reference, 'the file cannot be read');
    }
  }
  throw new SecretReferenceError(reference, 'expected env:NAME or file:PATH');
}
