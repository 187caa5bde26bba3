// SPDX-License-Identifier: Apache-2.0
/** Step 1 — who is asking. Accepts `Authorization: Bearer <key>` (OpenAI clients) and `x-api-key` (Anthropic clients). */
import { GatewayError } from '../../kernel/errors.js';
import type { PipelineContext } from './context.js';

export async function authenticate(ctx: PipelineContext): Promise<void> {
  const authorization = ctx.meta.header('authorization');
  let presented: string | undefined;
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    presented = match?.[1];
  } else {
    presented = ctx.meta.header('x-api-key')?.trim();
  }
  if (!presented) throw new GatewayError('unauthenticated');
  ctx.principal = await ctx.deps.apiKeys.authenticate(presented);
}
