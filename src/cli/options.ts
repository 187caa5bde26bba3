// SPDX-License-Identifier: Apache-2.0
/** Options shared by every command that reads the state folder. */
import { Option } from '@commander-js/extra-typings';
import { InvalidArgumentError } from 'commander';

export function homeOption() {
  return new Option('--home <dir>', 'state folder (default: $PHIGATE_HOME, then ./.phigate)');
}

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return port;
}
