// SPDX-License-Identifier: Apache-2.0
/** `phigate serve` and `phigate start`: run the gateway until SIGINT/SIGTERM, then shut down gracefully. */
import type { Command } from '@commander-js/extra-typings';
import pc from 'picocolors';
import { resolveHome } from '../../kernel/home.js';
import { initHome, isInitialised, startGateway, type RunningGateway } from '../../main.js';
import { homeOption, parsePort } from '../options.js';
import { printInitResult } from './init.js';
import { runSelfCheck } from './self-check.js';

export function registerServeCommands(program: Command): void {
  program
    .command('serve')
    .description('serve the gateway from an initialised state folder')
    .addOption(homeOption())
    .option('--host <host>', 'address to listen on (default: server.host, 127.0.0.1)')
    .option('--port <port>', 'port to listen on (default: server.port, 8443; 0 picks a free port)', parsePort)
    .action(async (options) => {
      const home = resolveHome(options.home);
      if (!isInitialised(home)) throw new Error(`${home} is not initialised; run "phigate init --home ${home}" first`);
      const gateway = await startGateway({ home, ...pick(options) });
      gateway.logger.info({ baseUrl: gateway.baseUrl }, 'phigate listening');
      await untilSignal(gateway);
    });

  program
    .command('start')
    .description('first-run friendly serve: initialise the state folder if needed, serve, and show a request crossing the boundary')
    .addOption(homeOption())
    .option('--host <host>', 'address to listen on (default: server.host, 127.0.0.1)')
    .option('--port <port>', 'port to listen on (default: server.port, 8443; 0 picks a free port)', parsePort)
    .option('--no-self-check', 'skip the demonstration request')
    .action(async (options) => {
      const home = resolveHome(options.home);
      let apiKey: string | undefined;
      if (!isInitialised(home)) {
        const result = await initHome(home);
        printInitResult(result);
        apiKey = result.apiKey;
      }
      const gateway = await startGateway({ home, ...pick(options) });
      process.stderr.write(`${pc.green('✔')} phigate is listening on ${pc.bold(gateway.baseUrl)}  (Ctrl-C to stop)\n`);
      if (options.selfCheck && apiKey !== undefined) await runSelfCheck(gateway, apiKey, home);
      else if (apiKey === undefined) process.stderr.write(`  Use the API key printed when ${home} was initialised.\n`);
      await untilSignal(gateway);
    });
}

function pick(options: { host?: string; port?: number }): { host?: string; port?: number } {
  return { ...(options.host === undefined ? {} : { host: options.host }), ...(options.port === undefined ? {} : { port: options.port }) };
}

/** Waits for SIGINT or SIGTERM, then drains in-flight requests and closes. A second signal exits at once. */
function untilSignal(gateway: RunningGateway): Promise<void> {
  return new Promise((done) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.once(signal, () => process.exit(130));
      gateway.logger.info({ signal }, 'shutting down; in-flight requests may finish');
      gateway.close().then(done, (err: unknown) => {
        gateway.logger.error({ err }, 'shutdown failed');
        process.exitCode = 1;
        done();
      });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
