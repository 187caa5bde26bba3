// SPDX-License-Identifier: Apache-2.0
/**
 * Step 1 — who is asking, and may they ask now. Accepts `Authorization: Bearer <key or OIDC
 * token>` (OpenAI clients) and `x-api-key` (Anthropic clients); resolves service-account
 * delegation (`x-phigate-user-token`, `x-phigate-on-behalf-of`); refuses a service account that
 * names a patient without acting for a user; then admits the request against the rate limits.
 */
import type { Authenticator } from '../../auth/authenticator.js';
import { GatewayError } from '../../kernel/errors.js';
import type { Limiter } from '../../limits/limiter.js';
import { limitSubjectOf } from '../../limits/subject.js';
import type { PipelineContext } from './context.js';

declare module './context.js' {
  interface GatewayDeps {
    /** API keys, OIDC tokens and delegation; without it only API keys are accepted. */
    readonly auth?: Authenticator;
    /** Rate limits and token quotas; absent = unlimited. */
    readonly limits?: Limiter;
  }
}

export async function authenticate(ctx: PipelineContext): Promise<void> {
  const { deps, meta } = ctx;
  if (deps.auth) {
    ctx.principal = await deps.auth.authenticate(meta.header);
  } else {
    const authorization = meta.header('authorization');
    const presented = authorization !== undefined ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : meta.header('x-api-key')?.trim();
    if (!presented) throw new GatewayError('unauthenticated');
    ctx.principal = await deps.apiKeys.authenticate(presented);
  }
  // A service account alone never touches PHI: naming a patient needs a user behind the request.
  if (ctx.principal.kind === 'service' && !ctx.principal.onBehalfOf && meta.header('x-phigate-patient') !== undefined) {
    throw new GatewayError('on_behalf_of_required');
  }
  if (deps.limits?.enabled) await deps.limits.admit(limitSubjectOf(ctx.principal, meta.header));
}
