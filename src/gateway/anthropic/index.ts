// SPDX-License-Identifier: Apache-2.0
/** The Anthropic Messages surface: inbound schema, translation to and from canonical types, SSE framing. */
export * from './schemas.js';
export * from './translate.js';
export * from './sse.js';
