// SPDX-License-Identifier: Apache-2.0
/**
 * Step 5 — egress: keep only candidate endpoints the payload's form may go to. The check is
 * repeated, and the payload sealed, for each endpoint actually called (see call-provider.ts),
 * so a fallback can never be less protected than the route that was approved.
 */
import { GatewayError } from '../../kernel/errors.js';
import { isEgressAllowed } from '../../policy/egress.js';
import type { PipelineContext } from './context.js';

export function egress(ctx: PipelineContext): void {
  const form = ctx.form;
  if (!form || !ctx.targets) throw new GatewayError('internal_error');
  const allowed = ctx.targets.filter((target) => isEgressAllowed(target.endpoint, form));
  if (allowed.length === 0) throw new GatewayError('phi_egress_denied', { detail: { endpoint: ctx.targets[0]?.endpoint.id ?? '', form } });
  ctx.targets = allowed;
}
