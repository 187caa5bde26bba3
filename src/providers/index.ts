// SPDX-License-Identifier: Apache-2.0
/**
 * Vendor adapters behind the one `Provider` interface. Most callers need only
 * `createProviders` (from the configuration) and the types; test servers live in
 * `providers/testing/`.
 */
export type { CallOptions, Provider, ProviderKind } from './provider.js';
export { providerKinds } from './provider.js';
export type * from './types.js';
export { createProvider, createProviders, InsecureEndpointError } from './registry.js';
export type { ProviderFactoryOptions } from './registry.js';
export { shouldFallBack } from './shared/errors.js';
export { createEchoProvider, hashEmbedding } from './echo/echo-provider.js';
export { createOpenAiProvider } from './openai-compatible/openai-provider.js';
export { createAnthropicProvider } from './anthropic/anthropic-provider.js';
export { createBedrockProvider } from './bedrock/bedrock-provider.js';
export { createVertexProvider } from './vertex/vertex-provider.js';
