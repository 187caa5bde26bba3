// SPDX-License-Identifier: Apache-2.0
/** The audit record of an administrative or console call: who, what, the outcome; never a body. */
import type { AuditEvent } from '../audit/record.js';
import type { GatewayDeps } from '../gateway/pipeline/context.js';
import type { NodeContext } from '../http/request-meta.js';
import { uuidv7 } from '../kernel/ids.js';

export type AdminAuditActor = AuditEvent['actor'];

/** Appends one record; resolves once it is durable (callers release nothing before). */
export async function recordAdminCall(
  deps: Pick<GatewayDeps, 'audit' | 'clock' | 'instanceId'>,
  c: NodeContext,
  call: { readonly requestId: string; readonly type: string; readonly outcome: 'success' | 'denied'; readonly status: number; readonly actor?: AdminAuditActor; readonly errorCode?: string },
): Promise<void> {
  const now = deps.clock.now();
  await deps.audit.append({
    id: uuidv7(now),
    recordedAt: new Date(now).toISOString(),
    type: call.type,
    stage: call.outcome === 'success' ? 'completed' : 'refused',
    outcome: call.outcome,
    requestId: call.requestId,
    status: call.status,
    errorCode: call.errorCode,
    actor: call.actor,
    client: { ip: c.env.incoming.socket.remoteAddress, userAgent: c.req.header('user-agent')?.slice(0, 256) },
    instance: deps.instanceId,
  });
}
