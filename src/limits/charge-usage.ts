// SPDX-License-Identifier: Apache-2.0
/**
 * Pipeline step (last): charges the answer's model tokens to the caller's quotas. For a stream
 * the charge is made when the stream ends, from the usage the vendor reported in it.
 */
import type { PipelineContext } from '../gateway/pipeline/context.js';
import type { ChatDelta } from '../providers/types.js';
import { limitSubjectOf } from './subject.js';

export function chargeUsage(ctx: PipelineContext): void {
  const limiter = ctx.deps.limits;
  if (!limiter?.enabled || !ctx.principal) return;
  const subject = limitSubjectOf(ctx.principal, ctx.meta.header);
  const result = ctx.result;
  const charge = (tokens: number | undefined): void => {
    if (tokens === undefined) return;
    limiter.charge(subject, tokens).catch((err: unknown) => ctx.deps.logger.warn({ requestId: ctx.meta.requestId, err }, 'token usage could not be charged'));
  };
  if (result?.kind === 'stream') {
    const deltas = result.deltas;
    ctx.result = {
      kind: 'stream',
      deltas: (async function* counted(): AsyncGenerator<ChatDelta> {
        let total: number | undefined;
        try {
          for await (const delta of deltas) {
            if (delta.usage) total = delta.usage.total_tokens;
            yield delta;
          }
        } finally {
          charge(total);
        }
      })(),
    };
    return;
  }
  charge(ctx.usage?.total_tokens);
}
