// SPDX-License-Identifier: Apache-2.0
/**
 * The vendor registry service, shared by the admin API (console/vendor-routes.ts) and the CLI
 * (`phigate vendors`): list and read vendors with their BAA coverage, add custom vendors, record,
 * amend and terminate BAAs, and record subprocessors.
 *
 * Each call checks the actor's permission by exact name (`admin:registry.read` to read,
 * `admin:vendors.manage` to change), validates the record it is about to write, writes it under
 * the version the caller read (or the current one), which bumps the registry revision in the same
 * transaction, and appends an audit event (durable before the call returns). Audit events carry
 * ids, dates, statuses and field names; never document references, notes or free text.
 *
 * Impossible records are refused with typed errors: a BAA over a service the vendor does not
 * offer (`vendor_service_unknown`) or offers no BAA for, consumer products included
 * (`vendor_service_not_eligible`), an expiry before the effective date or already past
 * (`baa_dates_invalid`), amending or terminating a BAA that is not signed (`baa_not_signed`).
 *
 * ```ts
 * const vendors = createVendorService({ repo, audit, clock, instanceId, policy });
 * await vendors.signBaa(req, 'openai', {
 *   effectiveDate: '2026-01-01', expiryDate: '2027-12-31', documentRef: 'contracts/4411',
 *   documentSha256: '9f…', coveredServices: ['api-enterprise'], zeroDataRetention: true,
 * });
 * ```
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { AuditEvent } from '../audit/record.js';
import type { AuditWriter } from '../audit/writer.js';
import type { AdminActor } from '../auth/admin.js';
import type { EndpointConfig } from '../config/schema.js';
import { adminActions, createAccessPolicy, hasPermission, type AccessPolicy, type AdminAction, type RoleOverrides } from '../access/rbac.js';
import { collectSchemaKeys, summarizeZodIssues } from '../gateway/openai/zod-issues.js';
import type { Clock } from '../kernel/clock.js';
import { GatewayError, type ErrorCode } from '../kernel/errors.js';
import { uuidv7 } from '../kernel/ids.js';
import { createVendorRepo, type VendorRecord, type VendorRepo } from '../store/repos/vendor-repo.js';
import type { Database } from '../store/schema.js';
import { baaCoverage, dayStart, type Coverage } from './baa.js';
import { clearanceFrom, endpointRegionOf, regionWithin, type Clearance } from './endpoints.js';
import { catalogueVendor, ensureCatalogue } from './vendor-catalogue.js';
import { isoDay, serviceId, subprocessorSchema, vendorIdPattern, vendorSchema, type BaaRecord, type Subprocessor, type Vendor } from './vendor-spec.js';

/** Audit event types of the vendor registry. */
export const vendorEventTypes = {
  list: 'vendor.list',
  read: 'vendor.read',
  expiringList: 'vendor.expiring_list',
  create: 'vendor.create',
  seed: 'vendor.seed',
  baaSign: 'vendor.baa_sign',
  baaAmend: 'vendor.baa_amend',
  baaTerminate: 'vendor.baa_terminate',
  subprocessors: 'vendor.subprocessors',
  baaExpiring: 'vendor.baa_expiring',
  baaExpired: 'vendor.baa_expired',
} as const;
export type VendorEventType = (typeof vendorEventTypes)[keyof typeof vendorEventTypes];

/** Who is asking and for which request. */
export interface VendorRequest {
  readonly actor: AdminActor;
  readonly requestId: string;
  readonly client?: { readonly ip?: string | undefined; readonly userAgent?: string | undefined } | undefined;
}

/** A request that may have no actor: the gateway's own start-up work, or a call refused before authentication. */
export interface SystemRequest {
  readonly requestId: string;
  readonly actor?: AdminActor | undefined;
  readonly client?: VendorRequest['client'];
}

/** Why a BAA was terminated: a code, so the audit record can carry it (free text could carry anything). */
export const terminationReasons = ['contract_ended', 'replaced', 'vendor_breach', 'vendor_exit', 'other'] as const;
export type TerminationReason = (typeof terminationReasons)[number];

const region = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'a region such as us, us-east-1 or eastus');
const sha256 = z
  .string()
  .regex(/^[A-Fa-f0-9]{64}$/, '64 hex characters')
  .transform((hex) => hex.toLowerCase());

/** A newly signed BAA, as the deployer records it. */
export const baaSignatureSchema = z.strictObject({
  effectiveDate: isoDay,
  /** Omitted for an evergreen agreement. */
  expiryDate: isoDay.optional(),
  documentRef: z.string().min(1).max(1000),
  documentSha256: sha256,
  coveredServices: z.array(serviceId).min(1).max(100),
  zeroDataRetention: z.boolean().default(false),
  noTrainingOnCustomerData: z.boolean().default(false),
  dataResidency: z.array(region).max(50).default([]),
});
export type BaaSignatureInput = z.input<typeof baaSignatureSchema>;

/** Changes to a signed BAA; omitted fields keep their value, `expiryDate: null` removes the expiry. */
export const baaAmendmentSchema = z
  .strictObject({
    effectiveDate: isoDay.optional(),
    expiryDate: isoDay.nullable().optional(),
    documentRef: z.string().min(1).max(1000).optional(),
    documentSha256: sha256.optional(),
    coveredServices: z.array(serviceId).min(1).max(100).optional(),
    zeroDataRetention: z.boolean().optional(),
    noTrainingOnCustomerData: z.boolean().optional(),
    dataResidency: z.array(region).max(50).optional(),
  })
  .refine((changes) => Object.values(changes).some((value) => value !== undefined), { message: 'name at least one field to change' });
export type BaaAmendmentInput = z.input<typeof baaAmendmentSchema>;

/** A custom vendor: the deployer's own entry; its BAA is recorded afterwards with `signBaa`. */
export const newVendorSchema = vendorSchema.omit({ baa: true, catalogue: true }).extend({ subprocessors: z.array(subprocessorSchema).max(100).default([]) });
export type NewVendorInput = z.input<typeof newVendorSchema>;

export const subprocessorListSchema = z.array(subprocessorSchema).max(100);

const knownKeys = collectSchemaKeys([baaSignatureSchema, baaAmendmentSchema, newVendorSchema, subprocessorListSchema], ['version']);

/** Parses input against a schema, refusing with `invalid_request` and field paths only. */
export function parseVendorInput<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new GatewayError('invalid_request', { detail: summarizeZodIssues(parsed.error, { knownKeys }) });
  return parsed.data;
}

/** An endpoint of the configuration as the coverage view shows it. */
export interface EndpointView {
  readonly id: string;
  readonly kind: EndpointConfig['kind'];
  readonly baseUrl: string | undefined;
  readonly region: string | undefined;
  readonly models: readonly string[];
  readonly selfHosted: boolean;
  /** Whether the endpoint's region is inside the BAA's data residency (`unrestricted` when the BAA names none, `unknown` when the endpoint names no region). */
  readonly residency: 'inside' | 'outside' | 'unrestricted' | 'unknown';
  /** Whether raw or pseudonymised PHI may go to this endpoint now, and why (the routing decision's rule). */
  readonly clearance: Clearance;
}

export interface ServiceCoverageView {
  readonly serviceId: string;
  readonly name: string;
  readonly category: string;
  readonly eligibility: string;
  readonly notes: string | undefined;
  /** `baaCoverage` at the time of the call. */
  readonly coverage: Coverage;
  /** Configured endpoints that name this vendor and service. */
  readonly endpoints: readonly EndpointView[];
}

/** One vendor with the coverage of each of its services and the endpoints that use them. */
export interface VendorCoverageView {
  readonly vendor: Vendor;
  readonly version: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly services: readonly ServiceCoverageView[];
  /** Endpoints naming this vendor but no service of it (or an unknown one): never covered. */
  readonly unmatchedEndpoints: readonly (EndpointView & { readonly service: string | undefined })[];
}

/** A BAA (the vendor's own, or a subprocessor's) that is signed and ends within the window asked for. */
export interface ExpiringBaa {
  readonly vendorId: string;
  readonly kind: 'vendor' | 'subprocessor';
  /** The subprocessor's name, for `kind: 'subprocessor'`. */
  readonly subprocessor?: string;
  readonly expiryDate: string;
  /** Whole days until the expiry day ends, as `baaCoverage` counts them (0 on the expiry day, negative once past). */
  readonly daysToExpiry: number;
}

const dayMs = 86_400_000;

/** Whole days until the end of `expiryDate` (UTC) at `now`, the way `baaCoverage` counts them. */
export function daysUntilExpiry(expiryDate: string, now: number): number {
  return Math.floor((dayStart(expiryDate) + dayMs - 1 - now) / dayMs);
}

/** Today's date (UTC) at `now`, YYYY-MM-DD. */
export function utcDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

/** Signed BAAs (vendors' and subprocessors') whose expiry day ends within `days` days of `now`, soonest first. */
export function expiringBaas(vendors: readonly Vendor[], days: number, now: number): readonly ExpiringBaa[] {
  const out: ExpiringBaa[] = [];
  for (const vendor of vendors) {
    if (vendor.baa.status === 'signed' && vendor.baa.expiryDate !== undefined) {
      const left = daysUntilExpiry(vendor.baa.expiryDate, now);
      if (left <= days) out.push({ vendorId: vendor.id, kind: 'vendor', expiryDate: vendor.baa.expiryDate, daysToExpiry: left });
    }
    for (const sub of vendor.subprocessors) {
      if (sub.baa.status !== 'signed' || sub.baa.expiryDate === undefined) continue;
      const left = daysUntilExpiry(sub.baa.expiryDate, now);
      if (left <= days) out.push({ vendorId: vendor.id, kind: 'subprocessor', subprocessor: sub.name, expiryDate: sub.baa.expiryDate, daysToExpiry: left });
    }
  }
  return out.sort((a, b) => a.daysToExpiry - b.daysToExpiry || a.vendorId.localeCompare(b.vendorId));
}

/** The base URL an endpoint calls, with the providers' defaults for Bedrock and Vertex; none for echo. */
export function endpointBaseUrl(endpoint: EndpointConfig): string | undefined {
  switch (endpoint.kind) {
    case 'echo':
      return undefined;
    case 'bedrock':
      return endpoint.baseUrl ?? `https://bedrock-runtime.${endpoint.region}.amazonaws.com`;
    case 'vertex':
      return endpoint.baseUrl ?? `https://${endpoint.location}-aiplatform.googleapis.com`;
    case 'openai':
    case 'azure-openai':
    case 'openai-compatible':
    case 'anthropic':
      return endpoint.baseUrl;
  }
}

function endpointView(endpoint: EndpointConfig, vendor: Vendor, now: number): EndpointView {
  const region = endpointRegionOf(endpoint);
  const { dataResidency } = vendor.baa;
  const residency = dataResidency.length === 0 ? 'unrestricted' : region === undefined ? 'unknown' : regionWithin(region, dataResidency) ? 'inside' : 'outside';
  const coverage = endpoint.service === undefined ? undefined : baaCoverage(vendor, endpoint.service, now);
  return {
    id: endpoint.id,
    kind: endpoint.kind,
    baseUrl: endpointBaseUrl(endpoint),
    region,
    models: endpoint.models.map((m) => m.name),
    selfHosted: endpoint.selfHosted,
    residency,
    // The routing decision's own rule (registry/endpoints.ts), so the view shows what is enforced.
    clearance: clearanceFrom(endpoint.selfHosted, coverage, region, dataResidency),
  };
}

/** The coverage view of one vendor at `now`, against the configured endpoints. */
export function toCoverageView(record: VendorRecord, endpoints: readonly EndpointConfig[], now: number): VendorCoverageView {
  const { vendor } = record;
  const mine = endpoints.filter((endpoint) => endpoint.vendor === vendor.id);
  const serviceIds = new Set(vendor.services.map((s) => s.id));
  return {
    vendor,
    version: record.version,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    services: vendor.services.map((service) => ({
      serviceId: service.id,
      name: service.name,
      category: service.category,
      eligibility: service.eligibility,
      notes: service.notes,
      coverage: baaCoverage(vendor, service.id, now),
      endpoints: mine.filter((endpoint) => endpoint.service === service.id).map((endpoint) => endpointView(endpoint, vendor, now)),
    })),
    unmatchedEndpoints: mine
      .filter((endpoint) => endpoint.service === undefined || !serviceIds.has(endpoint.service))
      .map((endpoint) => ({ ...endpointView(endpoint, vendor, now), service: endpoint.service })),
  };
}

/** An audit event of the vendor registry: the event plus what changed (ids, dates, statuses and field names). */
export type VendorAuditEvent = AuditEvent & {
  readonly subject?: { readonly kind: 'vendor'; readonly id: string };
  readonly change?: Readonly<Record<string, string | number | boolean | null | readonly string[]>>;
};

/** Builds one vendor audit event (stage `completed`, or `refused` when denied). */
export function vendorAuditEvent(input: {
  readonly type: VendorEventType;
  readonly now: number;
  readonly instance: string;
  readonly requestId: string;
  readonly actor?: AdminActor | undefined;
  readonly client?: VendorRequest['client'];
  readonly vendorId?: string | undefined;
  readonly outcome?: 'success' | 'denied';
  readonly status?: number;
  readonly errorCode?: string | undefined;
  readonly change?: VendorAuditEvent['change'];
}): VendorAuditEvent {
  const outcome = input.outcome ?? 'success';
  return {
    id: uuidv7(input.now),
    recordedAt: new Date(input.now).toISOString(),
    type: input.type,
    stage: outcome === 'success' ? 'completed' : 'refused',
    outcome,
    requestId: input.requestId,
    status: input.status ?? 200,
    errorCode: input.errorCode,
    actor: input.actor && { userId: input.actor.userId, kind: input.actor.kind, roles: input.actor.roles, authMethod: input.actor.authMethod, apiKeyId: input.actor.apiKeyId },
    client: input.client,
    instance: input.instance,
    ...(input.vendorId === undefined ? {} : { vendor: input.vendorId, subject: { kind: 'vendor' as const, id: input.vendorId } }),
    ...(input.change === undefined ? {} : { change: input.change }),
  };
}

export interface VendorServiceDeps {
  readonly repo: VendorRepo;
  readonly audit: Pick<AuditWriter, 'append'>;
  readonly clock: Clock;
  readonly instanceId: string;
  /** The effective role policy (access/rbac.ts `createAccessPolicy`). */
  readonly policy: AccessPolicy;
  /** The configured endpoints, for the coverage view. */
  readonly endpoints?: readonly EndpointConfig[];
}

/** Options of a write: the version the caller read; omitted = the current one. */
export interface WriteOptions {
  readonly version?: number | undefined;
}

export interface VendorService {
  list(req: VendorRequest): Promise<readonly VendorRecord[]>;
  get(req: VendorRequest, id: string): Promise<VendorRecord>;
  /** The vendor with each service's coverage now and the endpoints that use it. */
  coverage(req: VendorRequest, id: string): Promise<VendorCoverageView>;
  /** Signed BAAs ending within `days` days (default 30). */
  expiring(req: VendorRequest, days?: number): Promise<readonly ExpiringBaa[]>;
  create(req: VendorRequest, input: unknown): Promise<VendorRecord>;
  /** Records a signed BAA, replacing whatever was recorded (a renewal, or a first signature). */
  signBaa(req: VendorRequest, id: string, input: unknown, options?: WriteOptions): Promise<VendorRecord>;
  /** Changes fields of a signed BAA. */
  amendBaa(req: VendorRequest, id: string, input: unknown, options?: WriteOptions): Promise<VendorRecord>;
  /** Ends a signed (or lapsed) BAA now; PHI stops at once. */
  terminateBaa(req: VendorRequest, id: string, reason: string, options?: WriteOptions): Promise<VendorRecord>;
  /** Replaces the vendor's subprocessor list. */
  setSubprocessors(req: VendorRequest, id: string, input: unknown, options?: WriteOptions): Promise<VendorRecord>;
  /** Inserts missing catalogue entries (audited when any were inserted); returns their ids. The gateway and CLI run it at start. */
  ensureCatalogue(req: SystemRequest): Promise<readonly string[]>;
  /** Records a refused call (bad input, no permission, conflict) under the call's event type. */
  recordRefusal(req: SystemRequest, type: VendorEventType, err: unknown, vendorId?: string): Promise<void>;
}

export function createVendorService(deps: VendorServiceDeps): VendorService {
  const { repo, clock } = deps;

  function require(req: VendorRequest, action: AdminAction): void {
    if (!hasPermission(deps.policy, req.actor.roles, action)) throw new GatewayError('permission_denied', { detail: { permission: action } });
  }

  async function record(req: SystemRequest, type: VendorEventType, vendorId?: string, change?: VendorAuditEvent['change']): Promise<void> {
    await deps.audit.append(
      vendorAuditEvent({ type, now: clock.now(), instance: deps.instanceId, requestId: req.requestId, actor: req.actor, client: req.client, vendorId, ...(change === undefined ? {} : { change }) }),
    );
  }

  async function load(id: string): Promise<VendorRecord> {
    const found = await repo.get(id);
    if (found === undefined) throw new GatewayError('vendor_not_found', { detail: { vendor: id } });
    return found;
  }

  /** The version a write must name: the caller's, or the current one. */
  function versionFor(current: VendorRecord, options: WriteOptions | undefined): number {
    const version = options?.version;
    if (version === undefined) return current.version;
    if (!Number.isSafeInteger(version) || version < 1) throw new GatewayError('invalid_request', { detail: { field: 'version', expected: 'a positive integer' } });
    if (version !== current.version) throw new GatewayError('vendor_version_conflict', { detail: { vendor: current.vendor.id, expectedVersion: version, currentVersion: current.version } });
    return version;
  }

  function checkServices(vendor: Vendor, ids: readonly string[], requireEligible: boolean): void {
    for (const id of ids) {
      const service = vendor.services.find((s) => s.id === id);
      if (service === undefined) throw new GatewayError('vendor_service_unknown', { detail: { vendor: vendor.id, service: id } });
      if (requireEligible && service.eligibility !== 'baa_available') {
        throw new GatewayError('vendor_service_not_eligible', { detail: { vendor: vendor.id, service: id, eligibility: service.eligibility } });
      }
    }
  }

  function checkDates(baa: Pick<BaaRecord, 'effectiveDate' | 'expiryDate'>, now: number): void {
    if (baa.effectiveDate !== undefined && baa.expiryDate !== undefined && baa.expiryDate < baa.effectiveDate) {
      throw new GatewayError('baa_dates_invalid', { detail: { problem: 'expiry_before_effective', effectiveDate: baa.effectiveDate, expiryDate: baa.expiryDate } });
    }
    if (baa.expiryDate !== undefined && baa.expiryDate < utcDay(now)) {
      throw new GatewayError('baa_dates_invalid', { detail: { problem: 'expiry_in_past', expiryDate: baa.expiryDate, today: utcDay(now) } });
    }
  }

  function checkSubprocessors(vendor: Vendor, subprocessors: readonly Subprocessor[]): void {
    const names = new Set<string>();
    subprocessors.forEach((sub, index) => {
      const key = sub.name.trim().toLowerCase();
      if (names.has(key)) throw new GatewayError('invalid_request', { detail: { field: `subprocessors.${index}.name`, problem: 'duplicate subprocessor' } });
      names.add(key);
      checkServices(vendor, sub.services, false);
    });
  }

  async function write(current: VendorRecord, next: Vendor, options: WriteOptions | undefined): Promise<VendorRecord> {
    const version = versionFor(current, options);
    return (await repo.upsert(next, version)).record;
  }

  const baaChange = (before: BaaRecord, after: BaaRecord, fields: readonly string[]): VendorAuditEvent['change'] => ({
    statusBefore: before.status,
    status: after.status,
    fields,
    coveredServices: after.coveredServices,
    effectiveDate: after.effectiveDate ?? null,
    expiryDate: after.expiryDate ?? null,
    documentSha256: after.documentSha256 ?? null,
    zeroDataRetention: after.zeroDataRetention,
    noTrainingOnCustomerData: after.noTrainingOnCustomerData,
  });

  return {
    async list(req) {
      require(req, adminActions.registryRead);
      const all = await repo.list();
      await record(req, vendorEventTypes.list, undefined, { count: all.length });
      return all;
    },
    async get(req, id) {
      require(req, adminActions.registryRead);
      const found = await load(id);
      await record(req, vendorEventTypes.read, id);
      return found;
    },
    async coverage(req, id) {
      require(req, adminActions.registryRead);
      const found = await load(id);
      const view = toCoverageView(found, deps.endpoints ?? [], clock.now());
      await record(req, vendorEventTypes.read, id);
      return view;
    },
    async expiring(req, days = 30) {
      require(req, adminActions.registryRead);
      if (!Number.isInteger(days) || days < 0 || days > 3660) throw new GatewayError('invalid_request', { detail: { field: 'days', expected: 'an integer from 0 to 3660' } });
      const list = expiringBaas((await repo.list()).map((r) => r.vendor), days, clock.now());
      await record(req, vendorEventTypes.expiringList, undefined, { days, count: list.length });
      return list;
    },
    async create(req, input) {
      require(req, adminActions.vendorsManage);
      const parsed = parseVendorInput(newVendorSchema, input);
      const vendor = vendorSchema.parse({ ...parsed, catalogue: false, baa: { status: 'not_signed' } });
      const serviceIds = vendor.services.map((s) => s.id);
      if (new Set(serviceIds).size !== serviceIds.length) throw new GatewayError('invalid_request', { detail: { field: 'services', problem: 'duplicate service id' } });
      // Catalogue ids stay reserved, so seeding never finds a stranger's record under its id.
      if (catalogueVendor(vendor.id) !== undefined) throw new GatewayError('vendor_exists', { detail: { vendor: vendor.id, reserved: 'catalogue' } });
      checkSubprocessors(vendor, vendor.subprocessors);
      const { record: created } = await repo.upsert(vendor, 0);
      await record(req, vendorEventTypes.create, vendor.id, { services: serviceIds, subprocessors: vendor.subprocessors.length });
      return created;
    },
    async signBaa(req, id, input, options) {
      require(req, adminActions.vendorsManage);
      const signature = parseVendorInput(baaSignatureSchema, input);
      const current = await load(id);
      const now = clock.now();
      checkServices(current.vendor, signature.coveredServices, true);
      checkDates(signature, now);
      const baa: BaaRecord = {
        status: 'signed',
        ...signature,
        coveredServices: [...new Set(signature.coveredServices)],
        dataResidency: [...new Set(signature.dataResidency)],
        recordedBy: req.actor.userId,
        recordedAt: new Date(now).toISOString(),
      };
      const saved = await write(current, { ...current.vendor, baa }, options);
      await record(req, vendorEventTypes.baaSign, id, { ...baaChange(current.vendor.baa, baa, Object.keys(signature)), version: saved.version });
      return saved;
    },
    async amendBaa(req, id, input, options) {
      require(req, adminActions.vendorsManage);
      const changes = parseVendorInput(baaAmendmentSchema, input);
      const current = await load(id);
      const before = current.vendor.baa;
      if (before.status !== 'signed') throw new GatewayError('baa_not_signed', { detail: { vendor: id, status: before.status } });
      const now = clock.now();
      const { expiryDate, ...rest } = changes;
      const merged: BaaRecord = { ...before };
      for (const [key, value] of Object.entries(rest)) if (value !== undefined) Object.assign(merged, { [key]: value });
      if (expiryDate === null) delete merged.expiryDate;
      else if (expiryDate !== undefined) merged.expiryDate = expiryDate;
      merged.coveredServices = [...new Set(merged.coveredServices)];
      merged.dataResidency = [...new Set(merged.dataResidency)];
      checkServices(current.vendor, merged.coveredServices, true);
      checkDates(merged, now);
      const baa: BaaRecord = { ...merged, recordedBy: req.actor.userId, recordedAt: new Date(now).toISOString() };
      const fields = Object.entries(changes).filter(([, value]) => value !== undefined).map(([key]) => key);
      const saved = await write(current, { ...current.vendor, baa }, options);
      await record(req, vendorEventTypes.baaAmend, id, { ...baaChange(before, baa, fields), version: saved.version });
      return saved;
    },
    async terminateBaa(req, id, reason, options) {
      require(req, adminActions.vendorsManage);
      if (!(terminationReasons as readonly string[]).includes(reason)) throw new GatewayError('invalid_request', { detail: { field: 'reason', expected: terminationReasons.join('|') } });
      const current = await load(id);
      const before = current.vendor.baa;
      if (before.status !== 'signed' && before.status !== 'expired') throw new GatewayError('baa_not_signed', { detail: { vendor: id, status: before.status } });
      const baa: BaaRecord = { ...before, status: 'terminated' };
      const saved = await write(current, { ...current.vendor, baa }, options);
      await record(req, vendorEventTypes.baaTerminate, id, { statusBefore: before.status, status: 'terminated', reason, terminatedOn: utcDay(clock.now()), version: saved.version });
      return saved;
    },
    async setSubprocessors(req, id, input, options) {
      require(req, adminActions.vendorsManage);
      const subprocessors = parseVendorInput(subprocessorListSchema, input);
      const current = await load(id);
      checkSubprocessors(current.vendor, subprocessors);
      const saved = await write(current, { ...current.vendor, subprocessors }, options);
      await record(req, vendorEventTypes.subprocessors, id, {
        countBefore: current.vendor.subprocessors.length,
        count: subprocessors.length,
        signed: subprocessors.filter((s) => s.baa.status === 'signed').length,
        version: saved.version,
      });
      return saved;
    },
    async ensureCatalogue(req) {
      const inserted = await ensureCatalogue(repo);
      if (inserted.length > 0) await record(req, vendorEventTypes.seed, undefined, { inserted });
      return inserted;
    },
    async recordRefusal(req, type, err, vendorId) {
      const code: ErrorCode = err instanceof GatewayError ? err.code : 'internal_error';
      const status = err instanceof GatewayError ? err.status : 500;
      await deps.audit.append(
        vendorAuditEvent({
          type,
          now: clock.now(),
          instance: deps.instanceId,
          requestId: req.requestId,
          actor: req.actor,
          client: req.client,
          // An id from a URL is recorded only when it is a well-formed vendor id; anything else could be anything.
          vendorId: vendorId !== undefined && vendorIdPattern.test(vendorId) ? vendorId : undefined,
          outcome: 'denied',
          status,
          errorCode: code,
        }),
      );
    },
  };
}

/** What {@link vendorServiceFor} needs; the gateway's deps satisfy it structurally. */
export interface VendorServiceHost {
  readonly config: { readonly access: { readonly roles: Readonly<Record<string, unknown>> }; readonly endpoints: readonly EndpointConfig[] };
  readonly store: { readonly db: Kysely<Database> };
  readonly audit: Pick<AuditWriter, 'append'>;
  readonly clock: Clock;
  readonly instanceId: string;
}

const services = new WeakMap<object, VendorService>();

/** The vendor service for these deps' store, made once (the gateway, its routes and its expiry check share it). */
export function vendorServiceFor(host: VendorServiceHost): VendorService {
  let service = services.get(host.store);
  if (service === undefined) {
    service = createVendorService({
      repo: createVendorRepo(host.store.db, { now: () => host.clock.now() }),
      audit: host.audit,
      clock: host.clock,
      instanceId: host.instanceId,
      policy: createAccessPolicy(host.config.access.roles as RoleOverrides),
      endpoints: host.config.endpoints,
    });
    services.set(host.store, service);
  }
  return service;
}
