// SPDX-License-Identifier: Apache-2.0
/** Where the externally written test data lives: ../shared/data beside the checkout, read in place. */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export const sharedDataDir = process.env.PHIGATE_SHARED_DATA ?? resolve(repoRoot, '..', 'shared', 'data');

export function sharedDataPath(...parts: string[]): string {
  return resolve(sharedDataDir, ...parts);
}
