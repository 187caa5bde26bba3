// SPDX-License-Identifier: Apache-2.0
/**
 * FHIR R4 AuditEvent for each audit record, following IHE Basic Audit Log Patterns (BALP):
 *
 * - vendor disclosures (records with an endpoint): PrivacyDisclosure.Source — type DICOM 110106
 *   Export, subtype ISO 21089 `disclose`, action R; agents: the user (requestor), the gateway
 *   (Source Role ID 110153) and the vendor (Destination Role ID 110152);
 * - model listing: Query (rest / search-type, action E); re-identification: Read (rest / read, R);
 * - sign-in and sign-out: DICOM 110114 User Authentication with 110122 Login / 110123 Logout;
 * - administrative changes: rest create / update / delete with action C / U / D;
 * - alerts: DICOM 110113 Security Alert.
 *
 * The patient is an entity whose identifier carries the keyed hash (never the id); the data that
 * left is an entity identified by the prompt's keyed hash, with form, PHI categories and model as
 * details. Every resource carries the chain extension (seq, hash, prevHash), so an exported
 * AuditEvent can be matched to — and checked against — the tamper-evident log.
 *
 * https://profiles.ihe.net/ITI/BALP/ · http://hl7.org/fhir/R4/auditevent.html
 */
import { auditCatalogue } from './catalogue.js';
import type { AuditEvent } from './record.js';

/** The code systems used, with the spec each comes from. */
export const fhirSystems = {
  dicom: 'http://dicom.nema.org/resources/ontology/DCM',
  iso21089: 'http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle',
  auditEventType: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
  restful: 'http://hl7.org/fhir/restful-interaction',
  entityType: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
  objectRole: 'http://terminology.hl7.org/CodeSystem/object-role',
  sourceType: 'http://terminology.hl7.org/CodeSystem/security-source-type',
  actReason: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
  participationType: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
  patientHash: 'urn:phigate:audit-patient-hash',
  user: 'urn:phigate:user',
  vendor: 'urn:phigate:vendor',
  endpoint: 'urn:phigate:endpoint',
  promptHmac: 'urn:phigate:prompt-hmac',
  request: 'urn:phigate:request-id',
} as const;

/** The extension carrying the record's place in the hash chain. */
export const chainExtensionUrl = 'https://phigate.dev/fhir/StructureDefinition/audit-chain';

/** The BALP profiles the mapping follows. */
export const balpProfiles = {
  privacyDisclosureSource: 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PrivacyDisclosure.Source',
  query: 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.Query',
  read: 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.Read',
  create: 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.Create',
  update: 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.Update',
  delete: 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.Delete',
  login: 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.Login',
  logout: 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.Logout',
} as const;

interface Coding {
  readonly system: string;
  readonly code: string;
  readonly display?: string;
}

/** The parts of a FHIR R4 AuditEvent this mapping writes (plain JSON). */
export interface FhirAuditEvent {
  readonly resourceType: 'AuditEvent';
  readonly id: string;
  readonly meta?: { readonly profile: readonly string[] };
  readonly extension: readonly unknown[];
  readonly type: Coding;
  readonly subtype?: readonly Coding[];
  readonly action: 'C' | 'R' | 'U' | 'D' | 'E';
  readonly recorded: string;
  readonly outcome: '0' | '4' | '8' | '12';
  readonly outcomeDesc?: string;
  readonly purposeOfEvent?: readonly { readonly coding: readonly Coding[] }[];
  readonly agent: readonly unknown[];
  readonly source: unknown;
  readonly entity?: readonly unknown[];
}

/** A stored record: the event with its chain position. */
export interface ChainedEventInput {
  readonly seq: number;
  readonly hash: string;
  readonly prevHash: string;
  readonly event: AuditEvent;
}

type Pattern = 'disclosure' | 'query' | 'read' | 'login' | 'logout' | 'alert' | 'create' | 'update' | 'delete' | 'execute';

const dicom = (code: string, display: string): Coding => ({ system: fhirSystems.dicom, code, display });
const rest = (code: string): Coding => ({ system: fhirSystems.restful, code, display: code });
const restType: Coding = { system: fhirSystems.auditEventType, code: 'rest', display: 'RESTful Operation' };

/** Which BALP pattern an event follows. */
export function balpPatternOf(event: AuditEvent): Pattern {
  if (event.endpointId !== undefined) return 'disclosure';
  // The catalogue names each event type's pattern; the rules below cover types it does not list,
  // and requests of a disclosing type that never reached a vendor (refusals), which disclosed nothing.
  const catalogued = auditCatalogue[event.type]?.pattern;
  if (catalogued !== undefined && catalogued !== 'disclosure') return catalogued;
  switch (event.type) {
    case 'models.list':
      return 'query';
    case 'reid.text':
      return 'read';
    case 'auth.login':
      return 'login';
    case 'auth.logout':
      return 'logout';
    case 'alert':
    case 'audit.alert':
      return 'alert';
    case 'deid.text':
      return 'execute';
  }
  const action = event.type.slice(event.type.lastIndexOf('.') + 1);
  if (/^(create|assign|import|start|delegate|enroll_totp|downstream|report)$/.test(action)) return 'create';
  if (/^(revoke|undelegate|end|delete|purge|release)$/.test(action)) return 'delete';
  return 'update';
}

const patternShape: Record<Pattern, { type: Coding; subtype: readonly Coding[]; action: FhirAuditEvent['action']; profile?: string }> = {
  disclosure: {
    type: dicom('110106', 'Export'),
    subtype: [{ system: fhirSystems.iso21089, code: 'disclose', display: 'Disclose Record Lifecycle Event' }],
    action: 'R',
    profile: balpProfiles.privacyDisclosureSource,
  },
  query: { type: restType, subtype: [rest('search-type')], action: 'E', profile: balpProfiles.query },
  read: { type: restType, subtype: [rest('read')], action: 'R', profile: balpProfiles.read },
  login: { type: dicom('110114', 'User Authentication'), subtype: [dicom('110122', 'Login')], action: 'E', profile: balpProfiles.login },
  logout: { type: dicom('110114', 'User Authentication'), subtype: [dicom('110123', 'Logout')], action: 'E', profile: balpProfiles.logout },
  alert: { type: dicom('110113', 'Security Alert'), subtype: [], action: 'E' },
  create: { type: restType, subtype: [rest('create')], action: 'C', profile: balpProfiles.create },
  update: { type: restType, subtype: [rest('update')], action: 'U', profile: balpProfiles.update },
  delete: { type: restType, subtype: [rest('delete')], action: 'D', profile: balpProfiles.delete },
  execute: { type: restType, subtype: [rest('operation')], action: 'E' },
};

function outcomeOf(event: AuditEvent): FhirAuditEvent['outcome'] {
  switch (event.outcome) {
    case 'success':
    case 'pending':
      return '0';
    case 'denied':
      return '4';
    case 'failure':
      return event.status >= 500 ? '8' : '4';
  }
}

/** FHIR ids allow [A-Za-z0-9\-\.]{1,64}; uuidv7 ids already fit, anything else is hashed down. */
function fhirId(id: string): string {
  return /^[A-Za-z0-9\-.]{1,64}$/.test(id) ? id : id.replace(/[^A-Za-z0-9\-.]/g, '-').slice(0, 64);
}

function detail(type: string, value: string | number | boolean): { type: string; valueString: string } {
  return { type, valueString: String(value) };
}

/**
 * Maps one stored audit record to a FHIR R4 AuditEvent (plain JSON). Pure: the same record always
 * gives the same resource.
 */
export function toFhirAuditEvent(record: ChainedEventInput): FhirAuditEvent {
  const { event } = record;
  const pattern = balpPatternOf(event);
  const shape = patternShape[pattern];
  const agents: unknown[] = [];
  if (event.actor !== undefined) {
    agents.push({
      type: { coding: [{ system: fhirSystems.participationType, code: event.onBehalfOf ? 'PROV' : 'IRCP', display: event.onBehalfOf ? 'healthcare provider' : 'information recipient' }] },
      role: event.actor.roles.map((role) => ({ text: role })),
      who: { identifier: { system: fhirSystems.user, value: event.actor.userId }, display: event.actor.kind },
      ...(event.actor.apiKeyId === undefined ? {} : { altId: event.actor.apiKeyId }),
      requestor: event.onBehalfOf === undefined,
      ...(event.client?.ip === undefined ? {} : { network: { address: event.client.ip, type: '2' } }),
      policy: [`urn:phigate:auth-method:${event.actor.authMethod}`],
    });
  }
  if (event.onBehalfOf !== undefined) {
    agents.push({
      type: { coding: [{ system: fhirSystems.participationType, code: 'AUT', display: 'author (originator)' }] },
      who: { identifier: { system: fhirSystems.user, value: event.onBehalfOf.userId } },
      requestor: true,
      policy: [`urn:phigate:on-behalf-of-proof:${event.onBehalfOf.proof}`],
    });
  }
  // The gateway itself: the source of every disclosure.
  agents.push({
    type: { coding: [dicom('110153', 'Source Role ID')] },
    who: { identifier: { system: 'urn:phigate:instance', value: event.instance }, display: 'phigate' },
    requestor: event.actor === undefined,
  });
  if (pattern === 'disclosure' && event.endpointId !== undefined) {
    agents.push({
      type: { coding: [dicom('110152', 'Destination Role ID')] },
      who: { identifier: { system: fhirSystems.vendor, value: event.vendor ?? event.endpointId }, display: event.endpointId },
      requestor: false,
      network: { address: `urn:phigate:endpoint:${event.endpointId}`, type: '5' },
    });
  }
  const entities: unknown[] = [];
  if (event.patientHash !== undefined) {
    entities.push({
      what: { identifier: { system: fhirSystems.patientHash, value: event.patientHash } },
      type: { system: fhirSystems.entityType, code: '1', display: 'Person' },
      role: { system: fhirSystems.objectRole, code: '1', display: 'Patient' },
    });
  }
  const details = [
    detail('event-type', event.type),
    detail('stage', event.stage),
    ...(event.model === undefined ? [] : [detail('model', event.model)]),
    ...(event.form === undefined ? [] : [detail('form', event.form)]),
    ...Object.entries(event.phiCategories ?? {}).map(([category, count]) => detail(`phi-category:${category}`, count)),
    ...(event.useCase === undefined ? [] : [detail('use-case', event.useCase)]),
    ...(event.promptTokens === undefined ? [] : [detail('prompt-tokens', event.promptTokens)]),
    ...(event.completionTokens === undefined ? [] : [detail('completion-tokens', event.completionTokens)]),
    ...(event.latencyMs === undefined ? [] : [detail('latency-ms', event.latencyMs)]),
    ...(event.responseHmac === undefined ? [] : [detail('response-hmac', event.responseHmac)]),
    ...(event.accessBasis === undefined ? [] : [detail('access-basis', event.accessBasis)]),
    ...(event.breakGlassSessionId === undefined ? [] : [detail('break-glass-session', event.breakGlassSessionId)]),
    ...(event.downstream === undefined ? [] : [detail('downstream-request', event.downstream.requestId), detail('downstream-action', event.downstream.action)]),
    ...Object.entries(event.detail ?? {}).map(([key, value]) => detail(`detail:${key}`, value)),
  ];
  entities.push({
    what: { identifier: event.promptHmac === undefined ? { system: fhirSystems.request, value: event.requestId } : { system: fhirSystems.promptHmac, value: event.promptHmac } },
    type: { system: fhirSystems.entityType, code: '2', display: 'System Object' },
    role: { system: fhirSystems.objectRole, code: '4', display: 'Domain Resource' },
    description: `request ${event.requestId}`,
    detail: details,
  });
  const purposes: Coding[] = [];
  if (event.purpose !== undefined) purposes.push({ system: fhirSystems.actReason, code: event.purpose });
  if (event.breakGlass === true) purposes.push({ system: fhirSystems.actReason, code: 'BTG', display: 'break the glass' });
  const outcomeDesc = event.errorCode ?? (event.outcome === 'pending' ? 'pending: disclosure recorded before the vendor call' : undefined);
  return {
    resourceType: 'AuditEvent',
    id: fhirId(event.id),
    ...(shape.profile === undefined ? {} : { meta: { profile: [shape.profile] } }),
    extension: [
      {
        url: chainExtensionUrl,
        extension: [
          { url: 'seq', valueDecimal: record.seq },
          { url: 'hash', valueString: record.hash },
          { url: 'prevHash', valueString: record.prevHash },
        ],
      },
    ],
    type: shape.type,
    ...(shape.subtype.length === 0 ? {} : { subtype: shape.subtype }),
    action: shape.action,
    recorded: event.recordedAt,
    outcome: outcomeOf(event),
    ...(outcomeDesc === undefined ? {} : { outcomeDesc }),
    ...(purposes.length === 0 ? {} : { purposeOfEvent: purposes.map((coding) => ({ coding: [coding] })) }),
    agent: agents,
    source: {
      site: event.instance,
      observer: { identifier: { system: 'urn:phigate:instance', value: event.instance }, display: 'phigate' },
      type: [{ system: fhirSystems.sourceType, code: '4', display: 'Application Server' }],
    },
    entity: entities,
  };
}
