// SPDX-License-Identifier: Apache-2.0
/** The state folder: `--home`, then `PHIGATE_HOME`, then `./.phigate`. */
import { resolve } from 'node:path';

export const defaultHomeName = '.phigate';
export const configFileName = 'phigate.yaml';

export function resolveHome(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  return resolve(cwd, explicit ?? env.PHIGATE_HOME ?? defaultHomeName);
}
