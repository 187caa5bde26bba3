// SPDX-License-Identifier: Apache-2.0
/**
 * The caller of a retrieval as the request road knows it, for the `retrieval.query` audit record:
 * the request id (so the record joins the request's trail), the principal, the purpose and use
 * case, and the access basis the authorize step decided (care team, unit, break-glass).
 *
 * ```ts
 * await retriever.retrieve(query, scope, { signal, caller: retrievalCallerOf(ctx) });
 * ```
 */
import { requestAccessOf } from '../access/request-state.js';
import type { Principal } from '../auth/principal.js';
import type { RetrievalCaller } from './retriever.js';

/** What a pipeline context offers (structurally; rag does not depend on the gateway). */
export interface RetrievalRequestFacts {
  readonly meta: { readonly requestId: string; readonly clientIp?: string | undefined; readonly userAgent?: string | undefined };
  readonly principal?: Principal | undefined;
  readonly headers?: { readonly purpose?: string | undefined; readonly useCase?: string | undefined } | undefined;
}

/** The caller facts of a request context (ids and codes only). */
export function retrievalCallerOf(ctx: RetrievalRequestFacts): RetrievalCaller {
  const { principal, headers, meta } = ctx;
  const access = requestAccessOf(ctx);
  return {
    requestId: meta.requestId,
    actor: principal && { userId: principal.userId, kind: principal.kind, roles: principal.roles, authMethod: principal.authMethod, apiKeyId: principal.apiKeyId },
    onBehalfOf: principal?.onBehalfOf && { userId: principal.onBehalfOf.userId, proof: principal.onBehalfOf.proof },
    purpose: headers?.purpose,
    useCase: headers?.useCase,
    accessBasis: access?.basis,
    breakGlassSessionId: access?.breakGlassSessionId,
    client: { ip: meta.clientIp, userAgent: meta.userAgent?.slice(0, 256) },
  };
}
