// SPDX-License-Identifier: Apache-2.0
/**
 * Step 2 — may they? Validates the gateway headers, applies the credential's use-case scope,
 * requires a purpose of use whenever a patient is named, and resolves the model to endpoints
 * the caller may use. Deny by default: a model no endpoint serves is `model_not_found`.
 */
import { GatewayError } from '../../kernel/errors.js';
import { parseGatewayHeaders } from '../headers.js';
import type { PipelineContext } from './context.js';

export function authorize(ctx: PipelineContext): void {
  const principal = ctx.principal;
  if (!principal || ctx.operation === 'local' || !ctx.request) throw new GatewayError('internal_error');
  const headers = parseGatewayHeaders(ctx.meta.header);
  ctx.headers = headers;
  if (principal.useCases.length > 0) {
    if (!headers.useCase) throw new GatewayError('use_case_required');
    if (!principal.useCases.includes(headers.useCase)) throw new GatewayError('permission_denied', { detail: { scope: 'use_case' } });
  }
  if (headers.patient && !headers.purpose) throw new GatewayError('purpose_required');
  const targets = ctx.deps.endpoints.routesFor(ctx.request.model, ctx.operation);
  if (targets.length === 0) throw new GatewayError('model_not_found', { param: 'model' });
  ctx.targets = targets;
}
