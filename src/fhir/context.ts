// SPDX-License-Identifier: Apache-2.0
/**
 * The FHIR context source: for one patient and one use case, read the Patient and search each
 * resource type the use case's scope names — only those types, with a token limited to them —
 * and return each resource projected to its allowed elements, with the sensitivity categories of
 * its `meta.security` labels (read before projection removes `meta`) and the patient's own
 * identifiers as known PHI.
 *
 * All or nothing: the calls run together under one deadline and the first failure cancels the
 * rest; a resource that is not this patient's, or a malformed one, fails the whole gather.
 *
 * ```ts
 * const fhir = await createFhirContextSource(config.fhir, { fetch, clock, secret });
 * const gathered = await fhir.gather('Patient/123', useCase.spec, signal);
 * ```
 */
import { resolveSecret } from '../config/secrets.js';
import type { KnownPhi } from '../deid/types.js';
import { GatewayError } from '../kernel/errors.js';
import type { Clock } from '../kernel/clock.js';
import { categoriesOfSecurityLabels } from '../registry/sensitivity.js';
import type { FhirScope, SensitiveCategory } from '../registry/use-case-spec.js';
import { createFhirClient, fhirIdPattern, type FhirCall, type FhirClient } from './client.js';
import type { FhirConfig } from './config-schema.js';
import type { FetchLike, HttpOptions } from './http.js';
import { knownPhiOfPatient } from './patient-phi.js';
import { compileElements, projectResource, type FhirResource, type ProjectedResource } from './projection.js';
import { createSmartBackendAuth, smartScopes } from './smart-backend.js';

/** A projected resource and the sensitive categories its labels name. */
export interface GatheredResource {
  readonly resource: ProjectedResource;
  readonly categories: readonly SensitiveCategory[];
}

/** One scope entry's results, in the server's order. */
export interface GatheredSection {
  readonly scope: FhirScope;
  readonly resources: readonly GatheredResource[];
}

export interface GatheredFhirContext {
  /** One section per scope entry, in the use case's order. */
  readonly sections: readonly GatheredSection[];
  /** Categories labelled on any resource read, the Patient included. */
  readonly sensitivity: readonly SensitiveCategory[];
  /** The patient's identifiers, for de-identification and the output filter only. */
  readonly patientPhi: KnownPhi;
  /** Resources per type, for the audit record. */
  readonly counts: Readonly<Record<string, number>>;
}

export interface FhirContextSource {
  /**
   * Gathers `spec.data.fhir` for `patient` (`Patient/<id>`). With an empty scope only the Patient
   * is read (for its identifiers). Rejects with a GatewayError: fhir_unavailable, fhir_timeout,
   * fhir_bad_response, fhir_patient_not_found, fhir_scope_invalid, context_too_large or
   * client_disconnected.
   */
  gather(patient: string, spec: { readonly data: { readonly fhir: readonly FhirScope[] } }, signal: AbortSignal): Promise<GatheredFhirContext>;
}

export interface FhirContextDeps {
  readonly fetch: FetchLike;
  readonly clock: Clock;
  /** Resolves the private key reference. Default: env:/file: against the working directory. */
  readonly secret?: (reference: string) => string;
  /** Injected retry wait (tests). */
  readonly sleep?: HttpOptions['sleep'];
}

/**
 * Search parameters phigate sets itself or that would widen what is read: the patient filter,
 * paging and anything that pulls in other resources or reshapes them.
 */
const reservedSearchParams = new Set(['patient', 'subject', '_id', '_count', '_include', '_revinclude', '_has', '_contained', '_containedtype', '_elements', '_summary', '_type', '_list', '_query', '_filter', '_format']);

export function isReservedSearchParam(name: string): boolean {
  const base = (name.split(':')[0] ?? '').split('.')[0] ?? '';
  return reservedSearchParams.has(base.toLowerCase());
}

const patientRefPattern = /^Patient\/([A-Za-z0-9.-]{1,64})$/;

/** The elements of a resource that name its patient, in R4 (clinical, financial, coverage). */
const patientLinks = ['subject', 'patient', 'beneficiary'] as const;

/** Whether a resource names `patientId` as its subject/patient and names no other patient there. */
export function belongsToPatient(resource: FhirResource, patientId: string): boolean {
  let linked = false;
  for (const element of patientLinks) {
    const value = resource[element];
    if (value === undefined) continue;
    const reference = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as { reference?: unknown }).reference : undefined;
    if (typeof reference !== 'string') return false;
    // Relative, absolute or versioned references to the patient: …/Patient/<id>[/_history/<v>]
    const match = /(?:^|\/)Patient\/([A-Za-z0-9.-]{1,64})(?:\/_history\/[A-Za-z0-9.-]{1,64})?$/.exec(reference);
    if (!match || match[1] !== patientId) return false;
    linked = true;
  }
  return linked;
}

function labelsOf(resource: FhirResource): readonly SensitiveCategory[] {
  const meta = resource.meta;
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return [];
  const security = (meta as { security?: unknown }).security;
  if (!Array.isArray(security)) return [];
  const labels = security.filter((l): l is { system?: string; code?: string } => l !== null && typeof l === 'object' && !Array.isArray(l));
  return categoriesOfSecurityLabels(labels.map((l) => ({ ...(typeof l.system === 'string' ? { system: l.system } : {}), ...(typeof l.code === 'string' ? { code: l.code } : {}) })));
}

/** Builds the source from configuration; the signing key reference is resolved now, so a bad reference fails at boot. */
export function createFhirContextSource(config: FhirConfig, deps: FhirContextDeps): FhirContextSource {
  const secret = deps.secret ?? ((reference: string) => resolveSecret(reference, process.cwd()));
  const privateKey = secret(config.privateKey);
  const http: HttpOptions = {
    fetch: deps.fetch,
    clock: deps.clock,
    timeoutMs: config.timeoutMs,
    maxRetries: config.maxRetries,
    maxResponseBytes: config.maxResponseBytes,
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
  };
  const auth = createSmartBackendAuth({
    baseUrl: config.baseUrl,
    clientId: config.clientId,
    privateKey,
    keyId: config.keyId,
    algorithm: config.algorithm,
    tokenUrl: config.tokenUrl,
    http,
  });
  const client: FhirClient = createFhirClient({ baseUrl: config.baseUrl, auth, http, pageSize: config.pageSize });

  async function gatherScope(scope: FhirScope, patientId: string, patientResource: Promise<FhirResource>, call: FhirCall): Promise<GatheredSection> {
    const filter = compileElements(scope.elements);
    let raw: readonly FhirResource[];
    if (scope.resourceType === 'Patient') {
      raw = [await patientResource];
    } else {
      raw = await client.search(scope.resourceType, { ...scope.search, patient: `Patient/${patientId}` }, scope.limit, call);
      for (const resource of raw) {
        if (!belongsToPatient(resource, patientId)) throw new GatewayError('fhir_bad_response', { detail: { stage: 'search', resourceType: scope.resourceType, reason: 'other_patient' } });
      }
    }
    return { scope, resources: raw.map((resource) => ({ resource: projectResource(resource, filter), categories: labelsOf(resource) })) };
  }

  return {
    async gather(patient, spec, signal) {
      const match = patientRefPattern.exec(patient);
      const patientId = match?.[1];
      if (patientId === undefined || !fhirIdPattern.test(patientId)) throw new GatewayError('internal_error');
      const scopes = spec.data.fhir;
      for (const scope of scopes) {
        const reserved = Object.keys(scope.search).filter(isReservedSearchParam);
        if (reserved.length > 0) throw new GatewayError('fhir_scope_invalid', { detail: { resourceType: scope.resourceType, parameters: reserved } });
      }
      // One controller for the whole gather: the caller's disconnect or the first failure stops every call.
      const controller = new AbortController();
      const onAbort = (): void => controller.abort();
      if (signal.aborted) throw new GatewayError('client_disconnected');
      signal.addEventListener('abort', onAbort, { once: true });
      const call: FhirCall = {
        signal: controller.signal,
        deadline: deps.clock.now() + config.deadlineMs,
        scopes: smartScopes(scopes.map((s) => s.resourceType), config.scopeVersion),
      };
      try {
        const patientResource = client.read('Patient', patientId, call).then((resource) => {
          if (resource === undefined) throw new GatewayError('fhir_patient_not_found');
          return resource;
        });
        const work = [patientResource, ...scopes.map((scope) => gatherScope(scope, patientId, patientResource, call))];
        for (const job of work) {
          job.catch(() => {
            controller.abort();
          });
        }
        const [patientJson, ...sections] = (await Promise.all(work)) as [FhirResource, ...GatheredSection[]];
        const sensitivity = new Set<SensitiveCategory>(labelsOf(patientJson));
        const counts: Record<string, number> = {};
        for (const section of sections) {
          for (const { categories } of section.resources) for (const c of categories) sensitivity.add(c);
          counts[section.scope.resourceType] = (counts[section.scope.resourceType] ?? 0) + section.resources.length;
        }
        return { sections, sensitivity: [...sensitivity].sort(), patientPhi: knownPhiOfPatient(patientJson), counts };
      } catch (err) {
        // The caller went away: say so, whatever the aborted call reported.
        if (signal.aborted) throw new GatewayError('client_disconnected', { cause: err });
        throw err;
      } finally {
        signal.removeEventListener('abort', onAbort);
        controller.abort();
      }
    },
  };
}
