// SPDX-License-Identifier: Apache-2.0
/**
 * Step 4 — protect: decide the form the payload leaves in. Endpoints cleared for PHI (signed
 * BAA or self-hosted) receive it raw; every other endpoint may receive only de-identified
 * text, and until a de-identifier is configured for the route such requests are refused here,
 * before anything leaves (fail closed).
 */
import { GatewayError } from '../../kernel/errors.js';
import { phiClearance } from '../../registry/endpoints.js';
import type { PipelineContext } from './context.js';

export function protect(ctx: PipelineContext): void {
  const primary = ctx.targets?.[0];
  if (!primary) throw new GatewayError('internal_error');
  if (phiClearance(primary.endpoint) === 'phi') {
    ctx.form = 'raw';
    return;
  }
  throw new GatewayError('no_baa_covered_endpoint', { detail: { endpoint: primary.endpoint.id } });
}
