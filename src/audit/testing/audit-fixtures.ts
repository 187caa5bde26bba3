// SPDX-License-Identifier: Apache-2.0
/**
 * Synthetic audit trails for the audit tools' tests: a gateway's worth of disclosures, refusals,
 * logins and admin actions, with patient references already hashed (the tools never see ids).
 */
import type { AuditEvent } from '../record.js';

/** Epoch ms of the fixtures' first record: 2026-03-02T09:00:00Z, a Monday. */
export const fixtureStart = Date.UTC(2026, 2, 2, 9, 0, 0);

interface DisclosureInput {
  readonly n: number;
  readonly at: number;
  readonly userId: string;
  readonly patientHash: string;
  readonly endpointId: string;
  readonly vendor?: string;
  readonly outcome?: 'success' | 'failure';
  readonly breakGlass?: boolean;
  readonly accessBasis?: string;
}

function actor(userId: string): AuditEvent['actor'] {
  return { userId, kind: 'user', roles: ['physician'], authMethod: 'api_key', apiKeyId: `key-${userId}` };
}

/** The two records of one vendor call: the disclosure before it and the completion after. */
export function disclosurePair(input: DisclosureInput): [AuditEvent, AuditEvent] {
  const common = {
    type: 'chat.completion',
    requestId: `req-${input.n}`,
    actor: actor(input.userId),
    patientHash: input.patientHash,
    purpose: 'TREAT',
    useCase: 'discharge-summary',
    endpointId: input.endpointId,
    vendor: input.vendor,
    model: 'gpt-4o',
    form: 'deidentified',
    phiCategories: { NAME: 2, DATE: 1 },
    accessBasis: input.accessBasis ?? 'care_team',
    ...(input.breakGlass === true ? { breakGlass: true, breakGlassSessionId: `bg-${input.n}` } : {}),
    client: { ip: '10.0.0.7', userAgent: 'ehr-plugin/1.0' },
    instance: 'test-1',
  } as const;
  const outcome = input.outcome ?? 'success';
  return [
    { ...common, id: `d-${input.n}`, recordedAt: new Date(input.at).toISOString(), stage: 'disclosure', outcome: 'pending', status: 0, promptHmac: 'a'.repeat(64) },
    {
      ...common,
      id: `c-${input.n}`,
      recordedAt: new Date(input.at + 800).toISOString(),
      stage: 'completed',
      outcome,
      status: outcome === 'success' ? 200 : 502,
      promptHmac: 'a'.repeat(64),
      responseHmac: 'b'.repeat(64),
      promptTokens: 120,
      completionTokens: 80,
      latencyMs: 800,
    },
  ];
}

/** A refused request (no vendor call). */
export function refusal(n: number, at: number, userId: string, errorCode: string, patientHash?: string): AuditEvent {
  return {
    id: `r-${n}`,
    recordedAt: new Date(at).toISOString(),
    type: 'chat.completion',
    stage: 'refused',
    outcome: 'denied',
    requestId: `req-${n}`,
    status: 403,
    errorCode,
    actor: actor(userId),
    patientHash,
    instance: 'test-1',
  };
}

/** Any other event type (login, admin action, alert). */
export function simpleEvent(n: number, at: number, type: string, userId?: string): AuditEvent {
  return {
    id: `s-${n}`,
    recordedAt: new Date(at).toISOString(),
    type,
    stage: 'completed',
    outcome: 'success',
    requestId: `req-${n}`,
    status: 200,
    actor: userId === undefined ? undefined : actor(userId),
    instance: 'test-1',
  };
}

/**
 * A small trail: Dr A discloses patients P1 and P2 to vendor-x (endpoint openai-1), Dr B
 * discloses P1 to vendor-y (endpoint claude-1) under break-glass, one refusal, one login,
 * one user.create.
 */
export function smallTrail(): AuditEvent[] {
  const h = 3_600_000;
  return [
    simpleEvent(1, fixtureStart, 'auth.login', 'dr-a'),
    ...disclosurePair({ n: 2, at: fixtureStart + 1000, userId: 'dr-a', patientHash: 'p1hash', endpointId: 'openai-1', vendor: 'vendor-x' }),
    ...disclosurePair({ n: 3, at: fixtureStart + h, userId: 'dr-a', patientHash: 'p2hash', endpointId: 'openai-1', vendor: 'vendor-x', outcome: 'failure' }),
    ...disclosurePair({ n: 4, at: fixtureStart + 2 * h, userId: 'dr-b', patientHash: 'p1hash', endpointId: 'claude-1', breakGlass: true, accessBasis: 'break_glass' }),
    refusal(5, fixtureStart + 3 * h, 'dr-b', 'patient_access_denied', 'p3hash'),
    simpleEvent(6, fixtureStart + 4 * h, 'user.create', 'admin-1'),
  ];
}
