// SPDX-License-Identifier: Apache-2.0
/**
 * The configuration schema: the single source of truth for every option, its default and
 * its documentation. Secrets are never values here, only references (`env:NAME`,
 * `file:/path`), resolved at boot by `config/secrets.ts`.
 */
import { z } from 'zod';
import { accessConfigSchema } from '../access/config-schema.js';
import { outputConfigSchema } from '../output/config-schema.js';
import { screeningConfigSchema } from '../screening/config-schema.js';
import { reviewConfigSchema } from '../review/config-schema.js';
import { fhirConfigSchema } from '../fhir/config-schema.js';
import { governanceConfigSchema } from '../registry/governance-config.js';
import { ragConfigSchema } from '../rag/config-schema.js';

/** A reference to a secret: `env:NAME` or `file:/absolute/or/relative/path`. */
export const secretRef = z
  .string()
  .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/, 'a secret reference such as env:NAME or file:/path (never the secret itself)')
  .describe('Secret reference: env:NAME or file:PATH');

const endpointId = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'lowercase letters, digits, ".", "_" or "-"');

const modelEntry = z.strictObject({
  /** The model name callers use. */
  name: z.string().min(1).max(128),
  /** The vendor's model, deployment or inference-profile name, when it differs. */
  upstream: z.string().min(1).max(256).optional(),
  /** What the model can do; chat by default. */
  capabilities: z.array(z.enum(['chat', 'embeddings'])).min(1).default(['chat']),
});

const endpointCommon = {
  id: endpointId,
  /** Vendor (registry id of the legal entity) this endpoint belongs to; ties it to the BAA registry. */
  vendor: z.string().min(1).max(128).optional(),
  /** The vendor's service this endpoint uses (a service id of that vendor); the BAA must list it. */
  service: z.string().min(1).max(128).optional(),
  /** Where the vendor processes the data (e.g. us-east-1); checked against the BAA's data residency. */
  region: z.string().min(1).max(64).optional(),
  /** Runs inside the deployer's own infrastructure (vLLM, Ollama, a private deployment). */
  selfHosted: z.boolean().default(false),
  /**
   * Removed. Whether raw PHI may go to an endpoint now comes only from the vendor BAA registry
   * (name the endpoint's `vendor` and `service`, and its `region`) or from `selfHosted`.
   */
  phiAllowed: z
    .undefined({ error: 'phiAllowed was removed: PHI clearance comes from the vendor BAA registry (name this endpoint\'s vendor, service and region) or selfHosted: true' })
    .optional(),
  models: z.array(modelEntry).min(1),
  timeoutMs: z.number().int().min(100).max(600_000).default(120_000),
  maxRetries: z.number().int().min(0).max(5).default(2),
  /** Endpoint ids to try, in order, when this one fails before answering; they must share its PHI clearance. */
  fallbacks: z.array(endpointId).default([]),
  /** Upstream connections kept open per endpoint. */
  connections: z.number().int().min(1).max(1024).default(64),
};

export const endpointSchema = z.discriminatedUnion('kind', [
  z.strictObject({ ...endpointCommon, kind: z.literal('echo'), selfHosted: z.boolean().default(true) }),
  z.strictObject({
    ...endpointCommon,
    kind: z.literal('openai'),
    baseUrl: z.url().default('https://api.openai.com/v1'),
    apiKey: secretRef,
    organization: z.string().optional(),
  }),
  z.strictObject({
    ...endpointCommon,
    kind: z.literal('azure-openai'),
    /** The resource endpoint, e.g. https://my-resource.openai.azure.com */
    baseUrl: z.url(),
    apiVersion: z.string().default('2024-10-21'),
    apiKey: secretRef.optional(),
    /** Entra ID bearer token reference, used when apiKey is absent. */
    bearerToken: secretRef.optional(),
  }),
  z.strictObject({
    ...endpointCommon,
    kind: z.literal('openai-compatible'),
    /** e.g. http://127.0.0.1:8000/v1 for vLLM, http://127.0.0.1:11434/v1 for Ollama */
    baseUrl: z.url(),
    apiKey: secretRef.optional(),
  }),
  z.strictObject({
    ...endpointCommon,
    kind: z.literal('anthropic'),
    baseUrl: z.url().default('https://api.anthropic.com'),
    apiKey: secretRef,
    anthropicVersion: z.string().default('2023-06-01'),
    /** Anthropic requires max_tokens; used when the caller gives none. */
    defaultMaxTokens: z.number().int().min(1).default(4096),
  }),
  z.strictObject({
    ...endpointCommon,
    kind: z.literal('bedrock'),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1'),
    /** Override for VPC endpoints and tests; defaults to https://bedrock-runtime.REGION.amazonaws.com */
    baseUrl: z.url().optional(),
    accessKeyId: secretRef,
    secretAccessKey: secretRef,
    sessionToken: secretRef.optional(),
  }),
  z.strictObject({
    ...endpointCommon,
    kind: z.literal('vertex'),
    project: z.string().min(1),
    location: z.string().min(1).default('us-central1'),
    /** Override for Private Service Connect and tests; defaults to https://LOCATION-aiplatform.googleapis.com */
    baseUrl: z.url().optional(),
    /** A service-account JSON key file. */
    serviceAccountKey: secretRef,
    tokenUrl: z.url().default('https://oauth2.googleapis.com/token'),
  }),
]);
export type EndpointConfig = z.infer<typeof endpointSchema>;

export const configSchema = z
  .strictObject({
    server: z
      .strictObject({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8443),
        tls: z
          .strictObject({
            enabled: z.boolean().default(true),
            /** PEM files; relative paths resolve against the state folder. */
            certFile: z.string().default('tls/cert.pem'),
            keyFile: z.string().default('tls/key.pem'),
            minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
          })
          .prefault({}),
        /** Largest accepted request body. */
        maxBodyBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(4 * 1024 * 1024),
        /** Whole-request time limit, streaming included. */
        requestTimeoutMs: z.number().int().min(1000).max(3_600_000).default(300_000),
        /** How long shutdown waits for in-flight requests and streams. */
        shutdownGraceMs: z.number().int().min(0).max(600_000).default(30_000),
        /** Serve /metrics (Prometheus) on the main port. */
        metrics: z.boolean().default(true),
      })
      .prefault({}),
    store: z
      .strictObject({
        /** `sqlite:PATH` (relative to the state folder) or a postgres:// URL. */
        url: z.string().default('sqlite:phigate.db'),
        /**
         * SQLite only. `full` (default) syncs every commit to disk: an acknowledged audit record
         * survives power loss. `normal` (WAL) survives a crash or kill of phigate itself but not of
         * the operating system, and saves one disk flush per commit.
         */
        sqliteSync: z.enum(['full', 'normal']).default('full'),
      })
      .prefault({}),
    /** Where key-encryption keys live; `src/crypto/kms/index.ts` builds the adapter. */
    kms: z
      .discriminatedUnion('kind', [
        z.strictObject({
          kind: z.literal('local').default('local'),
          /** The local key file (0600); relative paths resolve against the state folder. In production put it off the data volume (an absolute path on another mount). */
          keyFile: z.string().default('keys/local-kek'),
        }),
        z.strictObject({
          kind: z.literal('vault-transit'),
          /** e.g. https://vault.internal:8200 */
          address: z.url(),
          /** A transit key created with derived=true, so the key context is bound. */
          keyName: z.string().min(1).max(128),
          mount: z.string().min(1).default('transit'),
          token: secretRef,
          namespace: z.string().min(1).optional(),
        }),
        z.strictObject({
          kind: z.literal('aws-kms'),
          region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1'),
          /** Key id, key ARN, alias name (alias/phigate) or alias ARN. */
          keyId: z.string().min(1).max(2048),
          /** Override for VPC endpoints; defaults to https://kms.REGION.amazonaws.com */
          endpoint: z.url().optional(),
          accessKeyId: secretRef,
          secretAccessKey: secretRef,
          sessionToken: secretRef.optional(),
        }),
        z.strictObject({
          kind: z.literal('azure-key-vault'),
          /** e.g. https://my-vault.vault.azure.net */
          vaultUrl: z.url(),
          /** An RSA key allowing wrapKey and unwrapKey. */
          keyName: z.string().min(1).max(127),
          /** Pin one key version; by default the current version wraps new keys. */
          keyVersion: z.string().regex(/^[A-Za-z0-9]{1,64}$/).optional(),
          tenantId: z.string().min(1),
          clientId: z.string().min(1),
          clientSecret: secretRef,
          authorityHost: z.url().default('https://login.microsoftonline.com'),
        }),
      ])
      .prefault({}),
    audit: z
      .strictObject({
        /** Longest wait for the audit store before a request fails closed with audit_unavailable. */
        writeTimeoutMs: z.number().int().min(10).max(60_000).default(2_000),
        /** How often a signed tree head (Ed25519 over tree size, Merkle root and time) is made; 0 turns it off. */
        checkpointIntervalMs: z.number().int().min(0).max(86_400_000).default(60_000),
        /** Years audit records are kept; HIPAA (164.316(b)(2)) requires at least 6. Nothing younger can be purged. */
        retentionYears: z.number().int().min(6).max(100).default(7),
        /** Days inference content logs (when a use case turns them on) are kept before their day keys are destroyed. */
        contentRetentionDays: z.number().int().min(1).max(3650).default(30),
        /** Days between scheduled anomaly scans (monthly by default); 0 turns the schedule off. */
        anomalyScanIntervalDays: z.number().int().min(0).max(366).default(30),
        /** External witnesses each signed tree head is published to, so a rewritten tail is detected. */
        witness: z
          .array(
            z.discriminatedUnion('kind', [
              /** Appends one JSON line per head; keep the file outside the state folder (another disk or host). */
              z.strictObject({ kind: z.literal('file'), path: z.string().min(1) }),
              /** POSTs each head as JSON. */
              z.strictObject({ kind: z.literal('webhook'), url: z.url(), bearerToken: secretRef.optional(), timeoutMs: z.number().int().min(100).max(60_000).default(5_000) }),
            ]),
          )
          .default([]),
      })
      .prefault({}),
    /** Shared state across gateway instances (key revocations, sessions, rate-limit counters); in-process when absent. */
    redis: z.strictObject({ url: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL').optional() }).prefault({}),
    auth: z
      .strictObject({
        apiKeys: z
          .strictObject({
            /** How long a looked-up key is trusted on one instance; bounds revocation delay when Redis is absent. */
            cacheTtlMs: z.number().int().min(0).max(30_000).default(30_000),
            /** How long a rotated key keeps working beside its replacement, unless the rotation says otherwise. */
            rotationOverlapMs: z.number().int().min(0).max(30 * 86_400_000).default(86_400_000),
          })
          .prefault({}),
        /** OIDC/JWT bearer tokens from the organisation's identity provider; off when absent. */
        oidc: z
          .strictObject({
            issuer: z.string().min(1),
            audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
            jwksUrl: z.url(),
            algorithms: z.array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'])).min(1).default(['RS256', 'ES256']),
            clockToleranceSec: z.number().int().min(0).max(300).default(30),
            /** JWKS refetch limits: fresh keys are fetched at most once per cooldown, and at least once per max age. */
            jwksCooldownMs: z.number().int().min(0).max(600_000).default(30_000),
            jwksMaxAgeMs: z.number().int().min(1000).max(86_400_000).default(600_000),
            claims: z
              .strictObject({
                userId: z.string().default('sub'),
                name: z.string().default('preferred_username'),
                roles: z.string().default('roles'),
                orgUnit: z.string().default('org_unit'),
              })
              .prefault({}),
            /** `reject`: a token for a user phigate does not know is refused. `provision`: the user is created on first use. */
            unknownUsers: z.enum(['reject', 'provision']).default('reject'),
          })
          .optional(),
        console: z
          .strictObject({
            idleTimeoutMs: z.number().int().min(60_000).max(15 * 60_000).default(15 * 60_000),
            absoluteLifetimeMs: z.number().int().min(60_000).max(24 * 3_600_000).default(12 * 3_600_000),
            /** Failed sign-ins allowed before the backoff starts; each further failure doubles the wait. */
            freeFailures: z.number().int().min(1).max(20).default(5),
            lockoutBaseMs: z.number().int().min(100).max(600_000).default(30_000),
            lockoutMaxMs: z.number().int().min(1000).max(86_400_000).default(3_600_000),
            /** Origins allowed to post to the console API besides the gateway's own. */
            allowedOrigins: z.array(z.url()).default([]),
          })
          .prefault({}),
      })
      .prefault({}),
    /** Requests and model tokens per window, per user, per API key and per use case; absent = unlimited. */
    limits: z
      .strictObject({
        windowMs: z.number().int().min(1000).max(86_400_000).default(60_000),
        perUser: z.strictObject({ requests: z.number().int().min(1).optional(), tokens: z.number().int().min(1).optional() }).prefault({}),
        perKey: z.strictObject({ requests: z.number().int().min(1).optional(), tokens: z.number().int().min(1).optional() }).prefault({}),
        perUseCase: z.strictObject({ requests: z.number().int().min(1).optional(), tokens: z.number().int().min(1).optional() }).prefault({}),
      })
      .prefault({}),
    deid: z
      .strictObject({
        /**
         * How free text is protected. `tokens`, `redact` and `generalise` are Safe Harbor methods,
         * used for every payload that may not carry PHI (endpoints not cleared for it, PHI-free
         * use cases); PHI-cleared routes (BAA-covered, self-hosted) then get the payload as sent.
         * `surrogates` and `date-shift` are pseudonymisation: PHI-cleared routes get surrogates
         * instead of real identifiers, and everything else gets typed tokens (pseudonymised text
         * is still PHI, so it never goes where raw PHI may not).
         */
        policy: z.enum(['tokens', 'redact', 'generalise', 'surrogates', 'date-shift']).default('tokens'),
        language: z.enum(['en', 'es']).default('en'),
        /** How long token ↔ value mappings are kept for re-identification. */
        tokenTtlMs: z.number().int().min(60_000).max(30 * 86_400_000).default(86_400_000),
      })
      .prefault({}),
    /** Routing policy (policy/routing.ts). */
    policy: z
      .strictObject({
        /** Refuse requests that name no use case (`use_case_required`); off keeps ungoverned calls working (raw to PHI-cleared endpoints, de-identified elsewhere). */
        requireUseCase: z.boolean().default(false),
        /** Treat HIV/AIDS information as a sensitive category (self-hosted endpoints only), as several state laws require. */
        hivRequiresSelfHosted: z.boolean().default(true),
        /** Longest wait for the registry (vendors, BAAs, use cases) before a request fails closed with registry_unavailable. */
        registryTimeoutMs: z.number().int().min(10).max(60_000).default(2_000),
      })
      .prefault({}),
    /** How vendor traffic leaves the network. */
    egress: z
      .strictObject({
        /**
         * A forward proxy every provider connection goes through (http://host:port; HTTPS vendors
         * are reached through it with CONNECT), as a corporate egress proxy requires. Absent:
         * direct connections.
         */
        proxyUrl: z.url({ protocol: /^https?$/ }).optional(),
      })
      .prefault({}),
    /** Patient-level access: role overrides, break-glass limits and alert channels (access/config-schema.ts). */
    access: accessConfigSchema,
    /** The output filter: other patients' identifiers, links to outside hosts, unoffered tool calls (output/config-schema.ts). */
    output: outputConfigSchema,
    /** Prompt-injection screening per channel: thresholds and actions (screening/config-schema.ts). */
    screening: screeningConfigSchema,
    /** The human review queue for treatment-affecting answers (review/config-schema.ts). */
    review: reviewConfigSchema,
    /** The EHR's FHIR R4 server for minimum-necessary patient context (fhir/config-schema.ts); absent = no FHIR context. */
    fhir: fhirConfigSchema.optional(),
    /** The AI governance committee that approves use-case versions before they go live (registry/governance-config.ts). */
    governance: governanceConfigSchema,
    /** Documents and patient-scoped retrieval: embedding model, size limits, chunking (rag/config-schema.ts). */
    rag: ragConfigSchema,
    logging: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        /** Log one line per request (ids, status, timings; never content). */
        accessLog: z.boolean().default(true),
      })
      .prefault({}),
    endpoints: z.array(endpointSchema).prefault([{ id: 'echo', kind: 'echo', models: [{ name: 'echo', capabilities: ['chat', 'embeddings'] }] }]),
  })
  .superRefine((config, ctx) => {
    const ids = new Set<string>();
    config.endpoints.forEach((endpoint, index) => {
      if (ids.has(endpoint.id)) ctx.addIssue({ code: 'custom', path: ['endpoints', index, 'id'], message: `duplicate endpoint id "${endpoint.id}"` });
      ids.add(endpoint.id);
    });
    config.endpoints.forEach((endpoint, index) => {
      endpoint.fallbacks.forEach((fallback, fallbackIndex) => {
        if (!ids.has(fallback)) {
          ctx.addIssue({ code: 'custom', path: ['endpoints', index, 'fallbacks', fallbackIndex], message: `no endpoint with id "${fallback}"` });
        }
      });
    });
  });

export type PhigateConfig = z.infer<typeof configSchema>;
