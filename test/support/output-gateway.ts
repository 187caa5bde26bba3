// SPDX-License-Identifier: Apache-2.0
/**
 * A real gateway for output-filter tests and `bench/output`: the same start as
 * `startTestGateway` (fresh state folder, HTTPS on a free port, logs to a file) with the
 * patient-context seam set, a scripted OpenAI-compatible model behind a self-hosted endpoint,
 * and a physician on the care team of the given patients.
 *
 * The seam: the output filter reads the request patient's identifiers from `ctx.patientPhi`,
 * which the FHIR context step fills for use cases that declare FHIR context; for everything
 * else the gateway's `patientPhiSource` answers. Here it answers from the Synthea bundles, with
 * the same `knownPhiOfPatient` reading the FHIR step uses — the filter itself is unchanged.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { parse, stringify } from 'yaml';
import { generateApiKey } from '../../src/auth/api-keys.js';
import type { KnownPhi } from '../../src/deid/types.js';
import { uuidv7 } from '../../src/kernel/ids.js';
import { initHome, startGateway, type RunningGateway } from '../../src/main.js';
import { startFakeOpenAiServer } from '../../src/providers/testing/fake-openai-server.js';
import type { FakeVendorServer } from '../../src/providers/testing/fake-server.js';
import { createLogger } from '../../src/telemetry/logger.js';

export interface OutputGateway {
  readonly baseUrl: string;
  readonly gateway: RunningGateway;
  readonly dispatcher: Agent;
  /** The scripted model. */
  readonly model: FakeVendorServer;
  /** A physician's API key; the physician is on the care team of every patient given. */
  readonly clinicianKey: string;
  readonly adminKey: string;
  readonly home: string;
  close(): Promise<void>;
}

export interface OutputGatewayOptions {
  /** The `output` configuration section. */
  readonly output?: Record<string, unknown>;
  /** Patient reference → identifiers, answered through the gateway's `patientPhiSource`. */
  readonly patients: ReadonlyMap<string, KnownPhi>;
  /** The model name callers use. Default `clinical-llm`. */
  readonly modelName?: string;
  /** Also serve `cloud-llm` from an endpoint not cleared for PHI, so payloads leave de-identified. */
  readonly cloud?: boolean;
}

export async function startOutputGateway(options: OutputGatewayOptions): Promise<OutputGateway> {
  const model = await startFakeOpenAiServer({ apiKey: 'upstream-key' });
  const home = mkdtempSync(join(tmpdir(), 'phigate-output-'));
  const init = await initHome(home, {});
  const file = join(home, 'phigate.yaml');
  const config = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(
    file,
    stringify({
      ...config,
      server: { ...(config.server as Record<string, unknown>), port: 0 },
      logging: { level: 'warn', accessLog: false },
      ...(options.output ? { output: options.output } : {}),
      endpoints: [
        {
          id: 'local-llm',
          kind: 'openai-compatible',
          baseUrl: `${model.url}/v1`,
          apiKey: 'env:UPSTREAM_KEY',
          selfHosted: true,
          maxRetries: 0,
          timeoutMs: 10_000,
          models: [{ name: options.modelName ?? 'clinical-llm' }],
        },
        ...(options.cloud
          ? [{ id: 'cloud-llm', kind: 'openai', baseUrl: `${model.url}/v1`, apiKey: 'env:UPSTREAM_KEY', maxRetries: 0, timeoutMs: 10_000, models: [{ name: 'cloud-llm' }] }]
          : []),
      ],
    }),
  );
  const logger = createLogger({ level: 'warn', destination: pino.destination({ dest: join(home, 'phigate.log'), sync: true }) });
  const gateway = await startGateway({
    home,
    env: { UPSTREAM_KEY: 'upstream-key' },
    logger,
    patientPhiSource: (patient) => options.patients.get(patient),
  });
  const dispatcher = new Agent({ connect: { ca: readFileSync(init.caCertPath, 'utf8') }, connections: 16 });

  // A physician on every given patient's care team.
  const store = gateway.store;
  const userId = uuidv7();
  await store.users.create({ id: userId, name: 'dr-output', roles: ['physician'], kind: 'user' });
  const key = generateApiKey((secret) => store.fieldCrypto.blindIndex(secret, 'api-key'));
  await store.apiKeys.create({ id: key.keyId, userId, secretHash: key.secretHash, roles: ['physician'], useCases: [] });
  const origin = gateway.baseUrl.replace(/\/v1$/, '');
  for (const patient of options.patients.keys()) {
    const response = await request(`${origin}/admin/api/access/care-team`, {
      method: 'POST',
      dispatcher,
      headers: { authorization: `Bearer ${init.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'dr-output', patient, role: 'attending' }),
    });
    await response.body.text();
    if (response.statusCode !== 201) throw new Error(`care-team assignment failed with ${response.statusCode}`);
  }

  return {
    baseUrl: gateway.baseUrl,
    gateway,
    dispatcher,
    model,
    clinicianKey: key.key,
    adminKey: init.apiKey,
    home,
    async close() {
      await dispatcher.close();
      await gateway.close();
      await model.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
