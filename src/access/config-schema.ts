// SPDX-License-Identifier: Apache-2.0
/**
 * The `access` section of the configuration: role overrides, break-glass limits and the
 * channels break-glass alerts go to. Imported by config/schema.ts; depends on zod only, so the
 * configuration module stays at the bottom of the dependency graph.
 */
import { z } from 'zod';
import { purposeOfUseCodes } from '../gateway/headers.js';

// Same rule as config/schema.ts `secretRef` (repeated to avoid an import cycle).
const secretRef = z
  .string()
  .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/, 'a secret reference such as env:NAME or file:/path (never the secret itself)');

const channelId = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'lowercase letters, digits, ".", "_" or "-"');

const roleOverride = z.strictObject({
  /** Action names or wildcards (`phi:*`); `admin:` actions must be named exactly. */
  permissions: z.array(z.string().min(1).max(64)).optional(),
  purposes: z.array(z.enum(purposeOfUseCodes)).optional(),
  relationships: z.array(z.enum(['assigned', 'same_unit', 'unrelated', 'other_organisation'])).optional(),
});

export const alertChannelSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('webhook'),
    id: channelId,
    url: z.url(),
    /** HMAC-SHA-256 key for the `x-phigate-signature` header. */
    secret: secretRef,
    timeoutMs: z.number().int().min(100).max(60_000).default(5_000),
  }),
  z.strictObject({
    kind: z.literal('smtp'),
    id: channelId,
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(25),
    /** HELO/EHLO name. */
    helo: z.string().min(1).default('phigate.localdomain'),
    from: z.string().min(3),
    to: z.array(z.string().min(3)).min(1),
    timeoutMs: z.number().int().min(100).max(60_000).default(10_000),
  }),
  z.strictObject({
    kind: z.literal('syslog'),
    id: channelId,
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(514),
    transport: z.enum(['udp', 'tcp']).default('udp'),
    appName: z.string().regex(/^[\x21-\x7e]{1,48}$/).default('phigate'),
    timeoutMs: z.number().int().min(100).max(60_000).default(5_000),
  }),
]);
export type AlertChannelConfig = z.infer<typeof alertChannelSchema>;

export const accessConfigSchema = z
  .strictObject({
    /** Role overrides and additions, merged role by role over the shipped defaults (access/rbac.ts). */
    roles: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/), roleOverride).default({}),
    breakGlass: z
      .strictObject({
        /** How long a break-glass session lasts unless the caller asks for less. */
        defaultMinutes: z.number().int().min(1).max(24 * 60).default(60),
        maxMinutes: z.number().int().min(1).max(24 * 60).default(240),
        /** Where alerts go. Each alert is queued once per channel in the same transaction as the session. */
        channels: z.array(alertChannelSchema).default([]),
        /** Delivery attempts per channel before the alert is marked dead (it stays listed for review). */
        maxAttempts: z.number().int().min(1).max(100).default(12),
        /** First retry delay; doubles each attempt up to maxDelayMs. */
        retryBaseMs: z.number().int().min(10).max(600_000).default(2_000),
        retryMaxMs: z.number().int().min(10).max(86_400_000).default(600_000),
        /** How often the dispatcher looks for due alerts (it is also woken at once by a new session). */
        pollMs: z.number().int().min(50).max(600_000).default(5_000),
      })
      .prefault({}),
  })
  .prefault({});
export type AccessConfig = z.infer<typeof accessConfigSchema>;
