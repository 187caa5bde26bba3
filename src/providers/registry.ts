// SPDX-License-Identifier: Apache-2.0
/**
 * Builds one `Provider` per configured endpoint. Secrets are resolved here, once, at boot;
 * the resolved values live only inside the adapter that needs them.
 */
import type { EndpointConfig } from '../config/schema.js';
import { resolveSecret } from '../config/secrets.js';
import { createAnthropicProvider } from './anthropic/anthropic-provider.js';
import { createBedrockProvider } from './bedrock/bedrock-provider.js';
import { createEchoProvider } from './echo/echo-provider.js';
import { createOpenAiProvider } from './openai-compatible/openai-provider.js';
import type { Provider } from './provider.js';
import { toModelMap } from './shared/common.js';
import { createVertexProvider } from './vertex/vertex-provider.js';

export interface ProviderFactoryOptions {
  /** Directory relative `file:` secret references resolve against (the state folder). */
  readonly baseDir: string;
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** First retry backoff step; default 250 ms. Tests lower it. */
  readonly retryBaseDelayMs?: number | undefined;
  /** Backoff ceiling; a vendor retry-after beyond it is passed to the caller, not waited out. Default 8 s. */
  readonly retryMaxDelayMs?: number | undefined;
  /** The egress proxy every vendor connection goes through (`egress.proxyUrl`); direct when absent. */
  readonly proxyUrl?: string | undefined;
}

/** Thrown at boot when an endpoint would send payloads in clear text. */
export class InsecureEndpointError extends Error {
  readonly endpointId: string;

  constructor(endpointId: string) {
    super(`endpoint ${endpointId}: vendors are reached over https only (plain http is allowed for loopback or selfHosted endpoints)`);
    this.name = 'InsecureEndpointError';
    this.endpointId = endpointId;
  }
}

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Payloads cross the boundary over TLS. Plain http is accepted only for loopback (tests, a
 * local Ollama) and for endpoints marked self-hosted, which run inside the deployer's network.
 */
function assertTransport(endpoint: EndpointConfig, baseUrl: string | undefined): void {
  if (baseUrl === undefined) return;
  const url = new URL(baseUrl);
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && (endpoint.selfHosted || loopbackHosts.has(url.hostname))) return;
  throw new InsecureEndpointError(endpoint.id);
}

/**
 * Creates the adapter for one endpoint. Throws `SecretReferenceError` when a secret cannot be
 * resolved and `InsecureEndpointError` for a clear-text vendor URL.
 */
export function createProvider(endpoint: EndpointConfig, options: ProviderFactoryOptions): Provider {
  assertTransport(endpoint, endpoint.kind === 'echo' ? undefined : endpoint.baseUrl);
  if (endpoint.kind === 'vertex') assertTransport(endpoint, endpoint.tokenUrl);
  const secret = (reference: string): string => resolveSecret(reference, options.baseDir, options.env);
  const optionalSecret = (reference: string | undefined): string | undefined => (reference === undefined ? undefined : secret(reference));
  const models = toModelMap(endpoint.models);
  const http = {
    connections: endpoint.connections,
    timeoutMs: endpoint.timeoutMs,
    maxRetries: endpoint.maxRetries,
    retryBaseDelayMs: options.retryBaseDelayMs,
    retryMaxDelayMs: options.retryMaxDelayMs,
    proxyUrl: options.proxyUrl,
  };
  switch (endpoint.kind) {
    case 'echo':
      return createEchoProvider({ id: endpoint.id });
    case 'openai':
      return createOpenAiProvider({ id: endpoint.id, kind: 'openai', baseUrl: endpoint.baseUrl, apiKey: secret(endpoint.apiKey), organization: endpoint.organization, models, http });
    case 'openai-compatible':
      return createOpenAiProvider({ id: endpoint.id, kind: 'openai-compatible', baseUrl: endpoint.baseUrl, apiKey: optionalSecret(endpoint.apiKey), models, http });
    case 'azure-openai':
      return createOpenAiProvider({
        id: endpoint.id,
        kind: 'azure-openai',
        baseUrl: endpoint.baseUrl,
        azure: { apiVersion: endpoint.apiVersion, apiKey: optionalSecret(endpoint.apiKey), bearerToken: optionalSecret(endpoint.bearerToken) },
        models,
        http,
      });
    case 'anthropic':
      return createAnthropicProvider({
        id: endpoint.id,
        baseUrl: endpoint.baseUrl,
        apiKey: secret(endpoint.apiKey),
        anthropicVersion: endpoint.anthropicVersion,
        defaultMaxTokens: endpoint.defaultMaxTokens,
        models,
        http,
      });
    case 'bedrock':
      return createBedrockProvider({
        id: endpoint.id,
        region: endpoint.region,
        baseUrl: endpoint.baseUrl ?? `https://bedrock-runtime.${endpoint.region}.amazonaws.com`,
        credentials: { accessKeyId: secret(endpoint.accessKeyId), secretAccessKey: secret(endpoint.secretAccessKey), sessionToken: optionalSecret(endpoint.sessionToken) },
        models,
        http,
      });
    case 'vertex':
      return createVertexProvider({
        id: endpoint.id,
        project: endpoint.project,
        location: endpoint.location,
        baseUrl: endpoint.baseUrl ?? (endpoint.location === 'global' ? 'https://aiplatform.googleapis.com' : `https://${endpoint.location}-aiplatform.googleapis.com`),
        serviceAccountKey: secret(endpoint.serviceAccountKey),
        tokenUrl: endpoint.tokenUrl,
        models,
        http,
      });
  }
}

/** Creates every endpoint's adapter, keyed by endpoint id. */
export function createProviders(endpoints: readonly EndpointConfig[], options: ProviderFactoryOptions): ReadonlyMap<string, Provider> {
  const providers = new Map<string, Provider>();
  try {
    for (const endpoint of endpoints) providers.set(endpoint.id, createProvider(endpoint, options));
  } catch (err) {
    // Pools already opened for earlier endpoints must not keep the process alive.
    for (const provider of providers.values()) void provider.close();
    throw err;
  }
  return providers;
}
