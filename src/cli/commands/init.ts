// SPDX-License-Identifier: Apache-2.0
/** `phigate init`: create a state folder with its config, key file, certificate, database, admin user and API key. */
import { createInterface } from 'node:readline/promises';
import type { Command } from '@commander-js/extra-typings';
import pc from 'picocolors';
import { resolveHome } from '../../kernel/home.js';
import { initHome, type InitResult } from '../../main.js';
import { homeOption } from '../options.js';

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('create a state folder: config, key file (0600), self-signed TLS certificate, database, first admin user and API key')
    .addOption(homeOption())
    .option('-y, --yes', 'do not ask for confirmation (required when not on a terminal)')
    .option('--json', 'print {"baseUrl","apiKey","caCertPath"} as JSON on stdout')
    .addHelpText('after', '\nThe API key is shown once and stored only as a keyed hash. Example:\n  phigate init --home ./state --yes --json')
    .action(async (options) => {
      const home = resolveHome(options.home);
      if (!options.yes) {
        if (!process.stdin.isTTY) throw new Error('not on a terminal: pass --yes to create the state folder non-interactively');
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        const answer = await rl.question(`Create a phigate state folder in ${home}? [Y/n] `);
        rl.close();
        if (/^n/i.test(answer.trim())) throw new Error('cancelled');
      }
      const result = await initHome(home);
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ baseUrl: result.baseUrl, apiKey: result.apiKey, caCertPath: result.caCertPath })}\n`);
      } else {
        printInitResult(result);
      }
    });
}

/** Human-readable summary of a new state folder; the only place the admin key is ever shown. */
export function printInitResult(result: InitResult): void {
  const lines = [
    `${pc.green('✔')} state folder ${result.home}`,
    `  base URL     ${result.baseUrl}`,
    `  CA cert      ${result.caCertPath}`,
    `  admin key    ${pc.bold(result.apiKey)}`,
    pc.yellow('  This key is shown once. Store it in your secret manager now.'),
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
}
