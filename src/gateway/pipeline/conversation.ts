// SPDX-License-Identifier: Apache-2.0
/**
 * Conversation scope for de-identification tokens. A caller-named conversation is bound to the
 * caller, so one user can never re-identify tokens issued to another; the stored key is a keyed
 * hash, never the caller's own label.
 */
import type { PipelineContext } from './context.js';

export const conversationHeader = 'x-phigate-conversation';

export function conversationKey(ctx: PipelineContext, conversation: string | undefined): string {
  const scope = conversation === undefined ? `request\u0000${ctx.meta.requestId}` : `conversation\u0000${ctx.principal?.userId ?? ''}\u0000${conversation}`;
  return ctx.deps.keyedHash(scope, 'deid-conversation');
}
