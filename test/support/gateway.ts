// SPDX-License-Identifier: Apache-2.0
/**
 * Starts a real gateway for tests: a fresh state folder made by `initHome`, configuration
 * written as YAML, HTTPS on a free loopback port, logs captured to a file inside the state
 * folder (so canary scans cover them).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { parse, stringify } from 'yaml';
import { initHome, startGateway, type RunningGateway } from '../../src/main.js';
import { pino } from 'pino';
import { createLogger } from '../../src/telemetry/logger.js';

export interface TestGateway {
  readonly home: string;
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly ca: string;
  readonly gateway: RunningGateway;
  /** An undici dispatcher that trusts the gateway's self-signed certificate. */
  readonly dispatcher: Agent;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  /** Merged over the generated configuration (top-level keys replace). */
  readonly config?: Record<string, unknown>;
  readonly env?: NodeJS.ProcessEnv;
  /** Sends every vendor connection through this forward proxy (`egress.proxyUrl`), e.g. `startEgressProxy().url`. */
  readonly egressProxyUrl?: string;
}

export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const home = mkdtempSync(join(tmpdir(), 'phigate-test-'));
  const init = await initHome(home, {});
  const file = join(home, 'phigate.yaml');
  const config = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const server = config.server as Record<string, unknown>;
  const egress = options.egressProxyUrl === undefined ? {} : { egress: { proxyUrl: options.egressProxyUrl } };
  writeFileSync(file, stringify({ ...config, server: { ...server, port: 0 }, ...egress, ...options.config }));
  const logFile = join(home, 'phigate.log');
  const logger = createLogger({ level: 'info', destination: pino.destination({ dest: logFile, sync: true }) });
  const gateway = await startGateway({ home, env: options.env ?? {}, logger });
  const ca = readFileSync(init.caCertPath, 'utf8');
  const dispatcher = new Agent({ connect: { ca } });
  return {
    home,
    baseUrl: gateway.baseUrl,
    apiKey: init.apiKey,
    ca,
    gateway,
    dispatcher,
    async close() {
      await dispatcher.close();
      await gateway.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** A fetch that trusts the test gateway's certificate, for the official SDK clients. */
export function trustingFetch(dispatcher: Agent): typeof globalThis.fetch {
  return ((input: Parameters<typeof undiciFetch>[0], init?: Parameters<typeof undiciFetch>[1]) =>
    undiciFetch(input, { ...init, dispatcher })) as unknown as typeof globalThis.fetch;
}
