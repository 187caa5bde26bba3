// SPDX-License-Identifier: Apache-2.0
/**
 * The access service: the effective role policy, the care-team and break-glass repositories,
 * the alert dispatcher, and the two operations the pipeline needs (load a relationship, open a
 * break-glass session). One service per store, made on first use from the gateway's deps, so
 * the composition root needs no extra wiring.
 */
import type { Kysely } from 'kysely';
import { resolveSecret } from '../config/secrets.js';
import type { FieldCrypto } from '../crypto/field-crypto.js';
import type { Clock } from '../kernel/clock.js';
import type { BreakGlassRepo, BreakGlassSession } from '../store/repos/break-glass-repo.js';
import { createBreakGlassRepo } from '../store/repos/break-glass-repo.js';
import type { CareTeamRepo } from '../store/repos/care-team-repo.js';
import { createCareTeamRepo } from '../store/repos/care-team-repo.js';
import type { Database } from '../store/schema.js';
import type { Logger } from '../telemetry/logger.js';
import { AlertDeliveryError, type AlertChannel } from './alerts/channel.js';
import { createAlertDispatcher, createConfiguredChannels, type AlertDispatcher } from './alerts/dispatcher.js';
import { openBreakGlass, sessionMinutes, type BreakGlassRequest } from './break-glass.js';
import type { AccessConfig } from './config-schema.js';
import { loadRelationship, type PatientRelationship } from './patient-access.js';
import { createAccessPolicy, type AccessPolicy, type RoleOverrides } from './rbac.js';

/** What the service needs; the gateway's deps satisfy it structurally. */
export interface AccessDeps {
  readonly config: { readonly access: AccessConfig };
  readonly store: { readonly db: Kysely<Database>; readonly fieldCrypto: FieldCrypto };
  readonly clock: Clock;
  readonly keyedHash: (value: string, purpose: string) => string;
  readonly instanceId: string;
  readonly logger: Logger;
}

export interface AccessService {
  readonly policy: AccessPolicy;
  readonly careTeams: CareTeamRepo;
  readonly breakGlass: BreakGlassRepo;
  readonly dispatcher: AlertDispatcher;
  /** Ids of the configured alert channels; each new session queues one alert per id. */
  readonly channelIds: readonly string[];
  relationship(userId: string, patient: string): Promise<PatientRelationship>;
  /** The running break-glass session of this user for this patient, if any. */
  activeBreakGlass(userId: string, patient: string): Promise<BreakGlassSession | undefined>;
  /** Opens a session (alerts queued in the same transaction), then wakes the dispatcher. */
  openBreakGlass(userId: string, patient: string, request: BreakGlassRequest, purpose?: string, minutes?: number): Promise<BreakGlassSession>;
}

export interface AccessServiceOptions {
  /** Resolves secret references of alert channels; default env:/file: against the working directory. */
  readonly secret?: (ref: string) => string;
  /** Channels to use instead of the configured ones (tests). */
  readonly channels?: readonly AlertChannel[];
  /** The dispatcher skips its runs while this is false (shutting down). */
  readonly isActive?: () => boolean | Promise<boolean>;
}

/** An alert channel whose configuration could not be loaded: every send fails, so alerts stay queued and visible. */
function brokenChannel(id: string, kind: AlertChannel['kind']): AlertChannel {
  return {
    id,
    kind,
    send: () => Promise.reject(new AlertDeliveryError('channel_misconfigured')),
  };
}

export function createAccessService(deps: AccessDeps, options: AccessServiceOptions = {}): AccessService {
  const now = (): number => deps.clock.now();
  const { access } = deps.config;
  const policy = createAccessPolicy(access.roles as RoleOverrides);
  const careTeams = createCareTeamRepo(deps.store.db, deps.store.fieldCrypto, { now });
  const breakGlass = createBreakGlassRepo(deps.store.db, deps.store.fieldCrypto, { now });
  const secret = options.secret ?? ((ref: string) => resolveSecret(ref, process.cwd()));
  const channels =
    options.channels ??
    access.breakGlass.channels.map((config) => {
      try {
        return createConfiguredChannels([config], secret)[0] as AlertChannel;
      } catch (err) {
        deps.logger.error({ channel: config.id, err }, 'break-glass alert channel is misconfigured; its alerts stay queued');
        return brokenChannel(config.id, config.kind);
      }
    });
  if (channels.length === 0) deps.logger.warn('no break-glass alert channel is configured; sessions are only audited and queued for review');
  const dispatcher = createAlertDispatcher({
    repo: breakGlass,
    channels,
    now,
    logger: deps.logger,
    maxAttempts: access.breakGlass.maxAttempts,
    retryBaseMs: access.breakGlass.retryBaseMs,
    retryMaxMs: access.breakGlass.retryMaxMs,
    pollMs: access.breakGlass.pollMs,
    ...(options.isActive === undefined ? {} : { isActive: options.isActive }),
  });
  const channelIds = channels.map((channel) => channel.id);
  return {
    policy,
    careTeams,
    breakGlass,
    dispatcher,
    channelIds,
    relationship: (userId, patient) => loadRelationship(careTeams, userId, patient, now()),
    activeBreakGlass: (userId, patient) => breakGlass.findActive(userId, patient, now()),
    async openBreakGlass(userId, patient, request, purpose, minutes) {
      const session = await openBreakGlass({
        repo: breakGlass,
        userId,
        patient,
        request,
        purpose,
        now: now(),
        minutes: sessionMinutes(minutes, access.breakGlass),
        channelIds,
        patientHash: deps.keyedHash(patient, 'audit-patient'),
        instance: deps.instanceId,
      });
      dispatcher.wake();
      return session;
    },
  };
}

const services = new WeakMap<object, AccessService>();

/** The service for these deps' store, made once (the first caller's options win). */
export function accessServiceFor(deps: AccessDeps, options: AccessServiceOptions = {}): AccessService {
  let service = services.get(deps.store);
  if (service === undefined) {
    service = createAccessService(deps, options);
    services.set(deps.store, service);
  }
  return service;
}

/** Stops the alert dispatcher of the service made for `store`, if one was made. */
export async function stopAccessService(store: object): Promise<void> {
  await services.get(store)?.dispatcher.stop();
  services.delete(store);
}
