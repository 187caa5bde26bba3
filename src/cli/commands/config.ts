// SPDX-License-Identifier: Apache-2.0
/** `phigate config check|schema`: validate a state folder's configuration, or print its JSON Schema. */
import type { Command } from '@commander-js/extra-typings';
import { z } from 'zod';
import { loadConfig } from '../../config/load.js';
import { configSchema, type PhigateConfig } from '../../config/schema.js';
import { resolveHome } from '../../kernel/home.js';
import { endpointRegionOf } from '../../registry/endpoints.js';
import { homeOption } from '../options.js';

/**
 * What a valid configuration may still get wrong: endpoints that can never receive PHI because
 * they name no vendor and service for the BAA registry to cover (they get only de-identified
 * payloads), and vendor endpoints whose region is unknown (a BAA that restricts data residency
 * then never covers them).
 */
export function configWarnings(config: PhigateConfig): string[] {
  const warnings: string[] = [];
  for (const endpoint of config.endpoints) {
    if (endpoint.selfHosted) continue;
    if (endpoint.vendor === undefined || endpoint.service === undefined) {
      warnings.push(`endpoint ${endpoint.id} names no vendor/service: no BAA can cover it, so it receives only de-identified payloads (set vendor and service, or selfHosted: true)`);
    } else if (endpointRegionOf(endpoint) === undefined) {
      warnings.push(`endpoint ${endpoint.id} names no region: a BAA that restricts data residency will not cover it`);
    }
  }
  return warnings;
}

export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description('check the configuration or print its schema');
  config
    .command('check')
    .description('validate phigate.yaml and PHIGATE_* overrides; print the effective configuration (secrets stay references)')
    .addOption(homeOption())
    .option('--json', 'print the effective configuration as JSON')
    .action((options) => {
      const home = resolveHome(options.home);
      const effective = loadConfig({ home });
      for (const warning of configWarnings(effective)) process.stderr.write(`warning: ${warning}\n`);
      if (options.json) process.stdout.write(`${JSON.stringify(effective, null, 2)}\n`);
      else process.stderr.write(`configuration in ${home} is valid (${effective.endpoints.length} endpoint(s))\n`);
    });
  config
    .command('schema')
    .description('print the JSON Schema of phigate.yaml (every option, its default and its meaning)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }), null, 2)}\n`);
    });
}
