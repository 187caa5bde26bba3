// SPDX-License-Identifier: Apache-2.0
/** The `phigate` command tree. */
import { Command } from '@commander-js/extra-typings';
import { ConfigError } from '../config/load.js';
import { registerAuditCommand } from './commands/audit.js';
import { registerAuditToolCommands } from './commands/audit-export.js';
import { registerBreakGlassCommand } from './commands/breakglass.js';
import { registerCareTeamCommand } from './commands/careteam.js';
import { registerDocumentsCommand } from './commands/documents.js';
import { registerFhirCommand } from './commands/fhir.js';
import { registerRegistryCommand } from './commands/registry.js';
import { registerUseCasesCommand } from './commands/usecases.js';
import { registerReviewCommand } from './commands/review.js';
import { registerConfigCommand } from './commands/config.js';
import { registerDeidCommand } from './commands/deid.js';
import { registerInitCommand } from './commands/init.js';
import { registerKeysCommand } from './commands/keys.js';
import { registerKmsCommand } from './commands/kms.js';
import { registerUsersCommand } from './commands/users.js';
import { registerVendorsCommand } from './commands/vendors.js';
import { registerServeCommands } from './commands/serve.js';

export function createProgram(): Command {
  const program = new Command()
    .name('phigate')
    .description('A self-hosted PHI gateway for AI in healthcare: an OpenAI-compatible door that authenticates, de-identifies, enforces BAAs and audits every disclosure.')
    .version('0.1.0')
    .showHelpAfterError()
    // Options after a subcommand belong to it, so `usecases approve --version 2` is not the program's --version.
    .enablePositionalOptions()
    .addHelpText(
      'after',
      `
State folder: every command that reads state takes --home DIR (default: $PHIGATE_HOME, then ./.phigate).
Configuration: DIR/phigate.yaml, overridden by PHIGATE_* environment variables (PHIGATE_SERVER__PORT=9443).

Examples:
  phigate start                               initialise ./.phigate if needed and serve on https://127.0.0.1:8443
  phigate init --home ./state --yes --json    scriptable setup; prints {"baseUrl","apiKey","caCertPath"}
  phigate serve --home ./state --port 9443`,
    );
  registerInitCommand(program);
  registerServeCommands(program);
  registerDeidCommand(program);
  registerUsersCommand(program);
  registerKeysCommand(program);
  registerConfigCommand(program);
  registerAuditCommand(program);
  registerAuditToolCommands(program);
  registerKmsCommand(program);
  registerCareTeamCommand(program);
  registerDocumentsCommand(program);
  registerFhirCommand(program);
  registerBreakGlassCommand(program);
  registerReviewCommand(program);
  registerVendorsCommand(program);
  registerUseCasesCommand(program);
  registerRegistryCommand(program);
  return program;
}

export async function runCli(argv: readonly string[]): Promise<void> {
  try {
    await createProgram().parseAsync([...argv], { from: 'user' });
  } catch (err) {
    // Configuration and setup errors are for the operator: print the message, not a stack.
    const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
    process.stderr.write(`phigate: ${message}\n`);
    process.exitCode = 1;
  }
}
