// SPDX-License-Identifier: Apache-2.0
/**
 * Step 5 — egress: keep only the chosen endpoints the payload's form may go to, checked with
 * the same rule the door applies (policy/egress.ts) against the registry as this request read
 * it. The check is made again, with the registry read anew and a second detection pass, for each
 * endpoint actually called (see call-provider.ts), so neither a fallback nor a BAA revoked in
 * the meantime can take a payload somewhere less protected than the route that was approved.
 */
import { GatewayError } from '../../kernel/errors.js';
import { checkDestination, type DestinationCheck } from '../../policy/egress.js';
import { endpointClearance, unreadRegistry } from '../../registry/endpoints.js';
import type { PipelineContext } from './context.js';

export function egress(ctx: PipelineContext): void {
  const form = ctx.form;
  // Protect read the registry whenever a target's clearance depends on it.
  const snapshot = ctx.registrySnapshot ?? unreadRegistry;
  if (!form || !ctx.targets) throw new GatewayError('internal_error');
  const now = ctx.deps.clock.now();
  const facts = { sensitivity: ctx.sensitivity ?? [], hivRequiresSelfHosted: ctx.deps.config.policy.hivRequiresSelfHosted };
  let firstRefusal: (DestinationCheck & { allowed: false }) | undefined;
  const allowed = ctx.targets.filter((target) => {
    const check = checkDestination(target.endpoint, form, { ...facts, clearance: endpointClearance(target.endpoint, snapshot, now) });
    if (!check.allowed) firstRefusal ??= check;
    return check.allowed;
  });
  if (allowed.length === 0) {
    throw new GatewayError(firstRefusal?.code ?? 'phi_egress_denied', { detail: { endpoint: ctx.targets[0]?.endpoint.id ?? '', form, reason: firstRefusal?.reason ?? 'no_endpoint' } });
  }
  ctx.targets = allowed;
}
