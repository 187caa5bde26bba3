// SPDX-License-Identifier: Apache-2.0
/** The OpenAI wire surface: inbound request schemas and the SSE encoder. */
export * from './schemas.js';
export * from './sse.js';
export * from './embeddings.js';
