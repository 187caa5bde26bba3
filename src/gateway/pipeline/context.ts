// SPDX-License-Identifier: Apache-2.0
/**
 * The request context every pipeline step reads and adds to. Steps never reach around each
 * other: each fills in its own fields, or throws a GatewayError to refuse.
 */
import type { AnyAuditEventType } from '../../audit/record.js';
import type { AuditWriter } from '../../audit/writer.js';
import type { ApiKeyAuthenticator } from '../../auth/api-keys.js';
import type { Principal } from '../../auth/principal.js';
import type { EndpointConfig, PhigateConfig } from '../../config/schema.js';
import type { Deidentifier } from '../../deid/deidentify.js';
import type { TokenVault } from '../../deid/token-vault.js';
import type { KnownPhi, PhiCategory } from '../../deid/types.js';
import type { Clock } from '../../kernel/clock.js';
import type { OutboundForm } from '../../policy/outbound.js';
import type { Provider } from '../../providers/provider.js';
import type { Retriever } from '../../rag/retriever.js';
import type { ChatDelta, ChatRequest, ChatResult, EmbedRequest, EmbedResult, Usage } from '../../providers/types.js';
import type { OpenedStore } from '../../store/store.js';
import type { Logger } from '../../telemetry/logger.js';
import type { Metrics } from '../../telemetry/metrics.js';
import type { EndpointDirectory } from '../../registry/endpoints.js';
import type { LiveUseCase, RegistryView } from '../../registry/registry-view.js';
import type { SensitiveCategory } from '../../registry/use-case-spec.js';
import type { GatewayHeaders } from '../headers.js';

/** Everything the pipeline needs from the composition root. */
export interface GatewayDeps {
  readonly config: PhigateConfig;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly apiKeys: ApiKeyAuthenticator;
  readonly audit: AuditWriter;
  readonly endpoints: EndpointDirectory;
  /** Keyed hash for audit fields (patient references, prompt and response digests). */
  readonly keyedHash: (value: string, purpose: string) => string;
  /** This gateway instance's name, recorded in every audit event. */
  readonly instanceId: string;
  /** Repositories and field encryption. */
  readonly store: OpenedStore;
  /** De-identification for endpoints not cleared for PHI, and the vault its tokens live in. */
  readonly deid: { readonly deidentifier: Deidentifier; readonly vault: TokenVault };
  /** Vendors, BAAs and live use cases; read per request and again right before each vendor call. */
  readonly registry: RegistryView;
  /** Patient-scoped document retrieval (rag/retrieve.ts); absent: no document index. */
  readonly retriever?: Retriever;
}

/** Facts about the HTTP request, gathered once by the route. */
export interface RequestMeta {
  readonly requestId: string;
  readonly receivedAt: number;
  readonly startedNs: bigint;
  readonly clientIp: string | undefined;
  readonly userAgent: string | undefined;
  /** Aborted when the client disconnects. */
  readonly signal: AbortSignal;
  readonly header: (name: string) => string | undefined;
  /** Reads the body, refusing with request_too_large past the limit. */
  readonly readBody: () => Promise<string>;
}

export interface RouteTarget {
  readonly endpoint: EndpointConfig;
  readonly provider: Provider;
  readonly upstreamModel: string;
}

export type PipelineResult =
  | { readonly kind: 'chat'; readonly value: ChatResult }
  | { readonly kind: 'stream'; readonly deltas: AsyncIterable<ChatDelta> }
  | { readonly kind: 'embeddings'; readonly value: EmbedResult }
  /** An answer phigate computed itself (model list, de-identification); nothing left the gateway. */
  | { readonly kind: 'local'; readonly value: object };

/** A retrieved document chunk the answer may cite; ids only, never text. */
export interface Citation {
  readonly documentId: string;
  readonly chunkId: string;
  /** Non-PHI label for the reader (document type and date bucket), when known. */
  readonly label?: string;
}

/**
 * Fields shared by every operation. Steps added by later capabilities extend this interface by
 * declaration merging (`declare module './context.js'`) in their own files, not here.
 */
export interface ContextBase {
  readonly deps: GatewayDeps;
  readonly meta: RequestMeta;
  readonly eventType: AnyAuditEventType;
  principal?: Principal;
  headers?: GatewayHeaders;
  /** The live version of the use case the request named (authorize). */
  useCase?: LiveUseCase;
  /** Sensitive categories the payload carries: from the caller's header and from gathered FHIR labels. */
  sensitivity?: readonly SensitiveCategory[];
  /** Identifiers known to belong to this request's patient (from FHIR context); used by protect and the output filter. */
  patientPhi?: KnownPhi;
  /** Documents retrieved into the prompt, in rank order (gather context). */
  citations?: readonly Citation[];
  /** Candidate endpoints in order: the primary, then fallbacks of equal PHI clearance. */
  targets?: readonly RouteTarget[];
  /** The endpoint that answered. */
  servedBy?: RouteTarget;
  form?: OutboundForm;
  /** Keyed hash scoping de-identification tokens; set when the payload was de-identified. */
  conversationId?: string;
  /** PHI categories found and transformed, with counts (never values). */
  phiFound?: Partial<Record<PhiCategory, number>>;
  /** True once the disclosure record is durable; from then on a vendor may be called. */
  disclosureRecorded?: boolean;
  result?: PipelineResult;
  usage?: Usage;
  /** Keyed hashes of what left and what came back. */
  promptHmac?: string;
  responseHmac?: string;
  error?: unknown;
}

export interface ChatContext extends ContextBase {
  readonly operation: 'chat';
  request?: ChatRequest;
}

export interface EmbeddingsContext extends ContextBase {
  readonly operation: 'embeddings';
  request?: EmbedRequest;
}

/** Requests answered inside the gateway, with no vendor call. */
export interface LocalContext extends ContextBase {
  readonly operation: 'local';
  readonly request?: undefined;
}

export type PipelineContext = ChatContext | EmbeddingsContext | LocalContext;

/** A pipeline step: adds to the context or refuses by throwing a GatewayError. */
export type PipelineStep = (ctx: PipelineContext) => Promise<void> | void;
