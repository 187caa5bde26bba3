// SPDX-License-Identifier: Apache-2.0
/**
 * `phigate fhir jwks|check`: the SMART Backend Services client of the `fhir` section.
 *
 * - `jwks` prints the public JWKS of the configured signing key, to register with the EHR (by
 *   value, or served from a URL the EHR fetches). The private key is never printed.
 * - `check` discovers the EHR's SMART configuration and obtains a token for `system/Patient.rs`
 *   — proof that the registration, the key and the network path work — without reading any
 *   patient data. It prints the outcome and, on failure, the error code and its PHI-free detail.
 */
import type { Command } from '@commander-js/extra-typings';
import { loadConfig } from '../../config/load.js';
import { resolveSecret } from '../../config/secrets.js';
import { isGatewayError } from '../../kernel/errors.js';
import { systemClock } from '../../kernel/clock.js';
import { resolveHome } from '../../kernel/home.js';
import { createSmartBackendAuth, publicJwksOf, smartScopes } from '../../fhir/smart-backend.js';
import type { FhirConfig } from '../../fhir/config-schema.js';
import { homeOption } from '../options.js';

function fhirConfigOf(home: string): FhirConfig {
  const config = loadConfig({ home });
  if (config.fhir === undefined) throw new Error(`no fhir section in ${home}/phigate.yaml; add baseUrl, clientId, privateKey and keyId`);
  return config.fhir;
}

export function registerFhirCommand(program: Command): void {
  const fhir = program.command('fhir').description("the EHR's FHIR server: the SMART Backend Services key and connection");
  fhir
    .command('jwks')
    .description('print the public JWKS of the configured signing key, to register with the EHR')
    .addOption(homeOption())
    .action(async (options) => {
      const home = resolveHome(options.home);
      const config = fhirConfigOf(home);
      const jwks = await publicJwksOf(resolveSecret(config.privateKey, home), config.algorithm, config.keyId);
      process.stdout.write(`${JSON.stringify(jwks, null, 2)}\n`);
    });
  fhir
    .command('check')
    .description('discover the SMART configuration and obtain a system/Patient.rs token (reads no patient data)')
    .addOption(homeOption())
    .option('--json', 'print the outcome as JSON')
    .action(async (options) => {
      const home = resolveHome(options.home);
      const config = fhirConfigOf(home);
      const auth = createSmartBackendAuth({
        baseUrl: config.baseUrl,
        clientId: config.clientId,
        privateKey: resolveSecret(config.privateKey, home),
        keyId: config.keyId,
        algorithm: config.algorithm,
        tokenUrl: config.tokenUrl,
        http: { fetch: globalThis.fetch, clock: systemClock, timeoutMs: config.timeoutMs, maxRetries: config.maxRetries, maxResponseBytes: config.maxResponseBytes },
      });
      const scopes = smartScopes([], config.scopeVersion);
      let outcome: { ok: true; scopes: readonly string[] } | { ok: false; code: string; detail: unknown };
      try {
        await auth.accessToken(scopes, { signal: new AbortController().signal, deadline: Date.now() + config.deadlineMs });
        outcome = { ok: true, scopes };
      } catch (err) {
        if (!isGatewayError(err)) throw err;
        outcome = { ok: false, code: err.code, detail: err.detail ?? {} };
      }
      if (options.json) process.stdout.write(`${JSON.stringify(outcome)}\n`);
      else if (outcome.ok) process.stderr.write(`SMART Backend Services works: a token for ${scopes.join(' ')} was granted\n`);
      else process.stderr.write(`SMART Backend Services failed: ${outcome.code} ${JSON.stringify(outcome.detail)}\n`);
      if (!outcome.ok) process.exitCode = 1;
    });
}
