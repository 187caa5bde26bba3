// SPDX-License-Identifier: Apache-2.0
/**
 * De-identifies FHIR R4 resources (JSON): a single resource or a Bundle, by the rules of
 * `fhir-rules.ts`. Values of the patient and of the people around them (names, telecom, address
 * lines, identifiers, birth date) are collected first and always found in free text, whatever the
 * detector finds besides. Input is `unknown`: anything that is not a FHIR resource, nests too
 * deep or is too large is refused with a typed `DeidError`, never a crash.
 */
import { createHmac } from 'node:crypto';
import { dateShiftDays, defaultMaxShiftDays, shiftWrittenDate } from '../date-shift.js';
import type { SpanDetector } from '../deidentify.js';
import { toWellFormedText } from '../deidentify.js';
import { createSurrogateGenerator } from '../surrogates.js';
import type { TokenVault } from '../token-vault.js';
import { applyTransforms, deidPolicies } from '../transforms/apply.js';
import type { DeidForm, DeidPolicy } from '../transforms/apply.js';
import { DeidError } from '../transforms/deid-error.js';
import { generaliseZip } from '../transforms/generalise.js';
import type { KnownPhi, PhiCategory, Span } from '../types.js';
import { createDefaultFhirRules } from './fhir-rules.js';
import type { FhirAction, FhirRules } from './fhir-rules.js';

/** Options of the FHIR de-identifier. */
export interface FhirDeidentifierOptions {
  /** Secret for hashes, re-keying, date shifts and surrogates (at least 16 bytes). */
  readonly key: string | Uint8Array;
  readonly rules?: FhirRules;
  /** Finds PHI in free text beyond the collected known values; without it only known values are found. */
  readonly detector?: SpanDetector;
  /** Transform for free text. Default: typed redaction (`[NAME]`), dates as `rules.dates`, ages over 89 generalised. */
  readonly textPolicy?: DeidPolicy;
  readonly vault?: TokenVault;
  readonly maxDepth?: number;
  readonly maxNodes?: number;
  readonly maxShiftDays?: number;
}

/** Options of one call. */
export interface FhirDeidentifyCallOptions {
  /** Token numbering and surrogate scope. Default `fhir`. */
  readonly conversationId?: string;
  /** Patient whose dates are shifted when a resource names none. */
  readonly patientId?: string;
}

/** Result: the de-identified resource (a fresh object), its form, and element counts. */
export interface FhirDeidResult {
  readonly resource: Record<string, unknown>;
  readonly form: DeidForm;
  readonly counts: Readonly<Record<string, number>>;
}

/** De-identifies FHIR resources. */
export interface FhirDeidentifier {
  deidentify(resource: unknown, options?: FhirDeidentifyCallOptions): Promise<FhirDeidResult>;
}

const REMOVE = Symbol('remove');
type Out = unknown;
type Json = Record<string, unknown>;

const resourceTypeRe = /^[A-Z][A-Za-z]{1,63}$/;
const fhirDateRe = /^\d{4}(?:-\d{2}(?:-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})?)?)?)?$/;
const contactSystems = new Set(['phone', 'fax', 'email', 'pager', 'url', 'sms', 'other']);

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Builds a FHIR de-identifier.
 *
 * @example
 * const fhir = createFhirDeidentifier({ key, detector: createDeidEngine() });
 * const { resource, form } = await fhir.deidentify(bundle);
 */
export function createFhirDeidentifier(options: FhirDeidentifierOptions): FhirDeidentifier {
  const rules = options.rules ?? createDefaultFhirRules();
  const maxDepth = options.maxDepth ?? 64;
  const maxNodes = options.maxNodes ?? 5_000_000;
  // Dates in free text follow the rule for dated elements, so a note and its resource agree.
  const textPolicy: DeidPolicy = options.textPolicy ?? {
    ...deidPolicies.redact,
    redaction: 'typed',
    categories: { DATE: rules.dates === 'keep' ? 'redact' : rules.dates, AGE: 'generalise' },
  };
  const elementRules = Object.entries(rules.elements).map(([pattern, action]) => {
    const dot = pattern.indexOf('.');
    return { type: pattern.slice(0, dot), path: pattern.slice(dot + 1), action };
  });

  const hmac = (purpose: string, value: string): Buffer => createHmac('sha256', options.key).update(`phigate/fhir/${purpose}\u0000`).update(value).digest();
  // Ids and identifier values share one hash, because Synthea and others reuse the one as the other
  // and conditional references name resources by identifier: the output keeps resolving.
  const hashId = (value: string): string => {
    const h = hmac('id', value).toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  };
  const rekeyReference = (ref: string): string => {
    if (ref.startsWith('#')) return ref;
    const urn = /^urn:uuid:(.+)$/i.exec(ref);
    if (urn) return `urn:uuid:${hashId(urn[1]!)}`;
    const q = ref.indexOf('?');
    if (q >= 0) return ref.slice(0, q + 1) + rekeyQuery(ref.slice(q + 1));
    // [base/]Type/id[/_history/v]
    const m = /^(.*?)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[^/]+)?$/.exec(ref);
    if (m) return `${/^https?:\/\//.test(m[1]!) ? '' : m[1]!}${m[2]!}/${hashId(m[3]!)}${m[4] ?? ''}`;
    return hashId(ref);
  };
  const rekeyQuery = (query: string): string =>
    query
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=');
        if (eq < 0) return pair;
        const name = pair.slice(0, eq);
        const raw = pair.slice(eq + 1);
        let value: string;
        try {
          value = decodeURIComponent(raw);
        } catch {
          value = raw;
        }
        if (name === 'identifier' || name === '_id') {
          const bar = value.lastIndexOf('|');
          return `${name}=${bar >= 0 ? `${value.slice(0, bar + 1)}${hashId(value.slice(bar + 1))}` : hashId(value)}`;
        }
        return `${name}=[REDACTED]`;
      })
      .join('&');

  return {
    async deidentify(input, call = {}) {
      if (!isObject(input) || typeof input.resourceType !== 'string' || !resourceTypeRe.test(input.resourceType)) {
        throw new DeidError('invalid_fhir', { reason: 'not_a_resource' });
      }
      const conversationId = call.conversationId ?? 'fhir';
      let nodes = 0;
      let pseudonymised = false;
      let kept = false;
      const counts: Record<string, number> = {};
      const count = (what: string): void => void (counts[what] = (counts[what] ?? 0) + 1);
      const surrogates = createSurrogateGenerator({ key: options.key, conversationId });

      // Pass 1: known values of people in the input, and the patient each resource belongs to.
      const known = collectKnownPhi(input, maxDepth);
      const knownRe = buildKnownRegex(known.values);
      const defaultPatient = call.patientId ?? (known.patientIds.length === 1 ? known.patientIds[0]! : 'no-patient');
      const shiftFor = new Map<string, number>();
      const shift = (patientId: string): number => {
        let d = shiftFor.get(patientId);
        if (d === undefined) shiftFor.set(patientId, (d = dateShiftDays(options.key, patientId, options.maxShiftDays ?? defaultMaxShiftDays)));
        return d;
      };

      const deidText = async (text: string, patientId: string): Promise<string> => {
        if (text.length === 0) return text;
        const clean = toWellFormedText(text);
        const spans: Span[] = [...(options.detector?.detect(clean, { knownPhi: known.knownPhi }) ?? [])];
        if (knownRe) {
          for (const m of clean.matchAll(knownRe)) {
            spans.push({ start: m.index, end: m.index + m[0].length, type: known.values.get(m[0].toLowerCase()) ?? 'OTHER', detector: 'known-phi', confidence: 1 });
          }
        }
        const result = await applyTransforms(clean, spans, textPolicy, {
          conversationId, patientId, key: options.key, surrogates,
          ...(options.vault === undefined ? {} : { vault: options.vault }),
          ...(options.maxShiftDays === undefined ? {} : { maxShiftDays: options.maxShiftDays }),
        });
        if (result.form === 'pseudonymised') pseudonymised = true;
        if (result.form === 'identified') kept = true;
        if (result.spans.length > 0) count('text-spans');
        return result.text;
      };
      const deidXhtml = async (div: string, patientId: string): Promise<string> => {
        const parts = div.split(/(<[^>]{0,10000}>)/);
        for (let i = 0; i < parts.length; i += 2) parts[i] = await deidText(parts[i]!, patientId);
        return parts.join('');
      };

      const applyAction = async (action: FhirAction, value: unknown, path: string, patientId: string, category: PhiCategory): Promise<Out> => {
        count(action);
        switch (action) {
          case 'keep':
            kept = kept || category !== 'OTHER';
            return value;
          case 'remove':
            return REMOVE;
          case 'redact':
            return typeof value === 'string' ? '[REDACTED]' : REMOVE;
          case 'hash':
            if (typeof value !== 'string') return REMOVE;
            pseudonymised = true;
            return hashId(value);
          case 'generalise':
            if (typeof value !== 'string') return REMOVE;
            if (fhirDateRe.test(value)) return value.slice(0, 4);
            if (path.endsWith('postalCode')) return generaliseZip(value) ?? '[REDACTED]';
            return '[REDACTED]';
          case 'date-shift': {
            if (typeof value !== 'string') return REMOVE;
            if (/^\d{4}$/.test(value)) return value;
            const shifted = shiftWrittenDate(value, shift(patientId));
            if (shifted === undefined) return value.slice(0, 4);
            pseudonymised = true;
            return shifted;
          }
          case 'surrogate':
            if (typeof value !== 'string') return REMOVE;
            pseudonymised = true;
            return surrogates.surrogate(category, value);
          case 'text':
            if (typeof value !== 'string') return REMOVE;
            return path.endsWith('div') ? deidXhtml(value, patientId) : deidText(value, patientId);
        }
      };

      const ruleFor = (resourceType: string, path: string): FhirAction | undefined => {
        let best: FhirAction | undefined;
        for (const r of elementRules) {
          if (r.path === path && (r.type === resourceType || r.type === '*')) {
            best = r.action;
            if (r.type === resourceType) return best;
          }
        }
        return best;
      };

      const walkResource = async (resource: Json, depth: number, inheritedPatient: string): Promise<Json> => {
        const resourceType = resource.resourceType;
        if (typeof resourceType !== 'string' || !resourceTypeRe.test(resourceType)) throw new DeidError('invalid_fhir', { reason: 'bad_resource_type', depth });
        const patientId = resourceType === 'Patient' && typeof resource.id === 'string' ? resource.id : (subjectOf(resource) ?? inheritedPatient);
        const out = await walk(resource, resourceType, [], depth, patientId);
        return out as Json;
      };

      const walk = async (node: unknown, resourceType: string, path: string[], depth: number, patientId: string): Promise<Out> => {
        nodes += 1;
        if (nodes > maxNodes) throw new DeidError('fhir_too_large', { limit: maxNodes });
        if (depth > maxDepth) throw new DeidError('fhir_too_deep', { limit: maxDepth });
        const pathText = path.join('.');
        const explicit = path.length > 0 ? ruleFor(resourceType, pathText) : undefined;
        if (explicit !== undefined && explicit !== 'keep') return applyAction(explicit, node, pathText, patientId, 'OTHER');

        if (Array.isArray(node)) {
          const out: unknown[] = [];
          for (const item of node) {
            const v = await walk(item, resourceType, path, depth + 1, patientId);
            if (v !== REMOVE) out.push(v);
          }
          return out.length === 0 && node.length > 0 ? REMOVE : out;
        }
        if (isObject(node)) {
          // A nested resource (Bundle entry, contained) has its own type and patient.
          if (path.length > 0 && typeof node.resourceType === 'string') return walkResource(node, depth + 1, patientId);
          return walkObject(node, resourceType, path, depth, patientId);
        }
        if (typeof node === 'string') {
          const last = path[path.length - 1] ?? '';
          if (rules.rekeyReferences && path.length === 1 && last === 'id') return hashId(node);
          if (rules.textElements.some((suffix) => pathText === suffix || pathText.endsWith(`.${suffix}`))) {
            return applyAction('text', node, pathText, patientId, 'OTHER');
          }
          if (rules.dates !== 'keep' && fhirDateRe.test(node) && node.length >= 7 && /(?:date|time|period|start|end|issued|onset|abatement|recorded|authored|created|occurrence|effective|instant|lastUpdated|birth|deceased|when|sent|received|expiry|billablePeriod|due)/i.test(pathText)) {
            return applyAction(rules.dates, node, pathText, patientId, 'DATE');
          }
          return node;
        }
        if (node === null || typeof node === 'number' || typeof node === 'boolean') return node;
        throw new DeidError('invalid_fhir', { reason: 'not_json' });
      };

      const walkObject = async (node: Json, resourceType: string, path: string[], depth: number, patientId: string): Promise<Out> => {
        // Data types recognised by shape, so their rules apply wherever they occur.
        if (typeof node.url === 'string' && rules.removeExtensions.includes(node.url)) return applyAction('remove', node, path.join('.'), patientId, 'OTHER');
        if (isHumanName(node) && rules.humanName !== 'keep') {
          if (rules.humanName === 'remove') return applyAction('remove', node, '', patientId, 'NAME');
          return surrogateName(node);
        }
        if (isContactPoint(node) && rules.contactPoint !== 'keep') {
          if (rules.contactPoint === 'remove' || typeof node.value !== 'string') return applyAction('remove', node, '', patientId, 'PHONE');
          const category: PhiCategory = node.system === 'email' ? 'EMAIL' : node.system === 'fax' ? 'FAX' : node.system === 'url' ? 'URL' : 'PHONE';
          return { ...node, value: await applyAction('surrogate', node.value, '', patientId, category) };
        }
        const out: Json = {};
        const reference = typeof node.reference === 'string';
        const attachment = typeof node.contentType === 'string' && ('data' in node || 'url' in node);
        const address = isAddress(node, path);
        const identifier = isIdentifier(node);
        const entryLevel = resourceType === 'Bundle' && path[path.length - 1] === 'entry';
        for (const [k, v] of Object.entries(node)) {
          const childPath = [...path, k];
          let value: Out;
          if (reference && k === 'reference' && typeof v === 'string' && rules.rekeyReferences) {
            value = rekeyReference(v);
          } else if (reference && k === 'display' && rules.referenceDisplay !== 'keep') {
            value = await applyAction(rules.referenceDisplay, v, childPath.join('.'), patientId, 'NAME');
          } else if (entryLevel && k === 'fullUrl' && typeof v === 'string' && rules.rekeyReferences) {
            value = rekeyReference(v);
          } else if (entryLevel && k === 'request' && isObject(v) && rules.rekeyReferences) {
            value = {
              ...v,
              ...(typeof v.url === 'string' ? { url: rekeyReference(v.url) } : {}),
              ...(typeof v.ifNoneExist === 'string' ? { ifNoneExist: rekeyQuery(v.ifNoneExist) } : {}),
            };
          } else if (address && k in rules.address) {
            value = await applyAction(rules.address[k as keyof FhirRules['address']], v, k, patientId, 'LOCATION');
          } else if (identifier && k === 'value' && rules.identifierValue !== 'keep') {
            value = await applyAction(rules.identifierValue, v, k, patientId, 'ID');
          } else if (attachment && k === 'data' && typeof v === 'string') {
            value = await attachmentData(node.contentType as string, v, patientId);
          } else if (attachment && k === 'url' && rules.attachment.url === 'remove') {
            value = REMOVE;
          } else {
            value = await walk(v, resourceType, childPath, depth + 1, patientId);
          }
          if (value !== REMOVE) out[k] = value;
        }
        return out;
      };

      const surrogateName = (node: Json): Json => {
        pseudonymised = true;
        const out: Json = { ...node };
        if (typeof node.family === 'string') out.family = surrogates.surrogate('NAME', `Mr. ${node.family}`).slice(4);
        if (Array.isArray(node.given)) out.given = node.given.map((g) => (typeof g === 'string' ? surrogates.surrogate('NAME', g) : g));
        delete out.text;
        return out;
      };

      const attachmentData = async (contentType: string, data: string, patientId: string): Promise<Out> => {
        if (!/^text\//i.test(contentType)) return rules.attachment.otherData === 'keep' ? data : REMOVE;
        if (rules.attachment.textData === 'remove') return REMOVE;
        if (data.length > 16 * 1024 * 1024 || !/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(data)) return REMOVE;
        const text = new TextDecoder('utf-8', { fatal: false }).decode(Buffer.from(data, 'base64'));
        count('attachment');
        return Buffer.from(await deidText(text, patientId), 'utf8').toString('base64');
      };

      const resource = await walkResource(input, 0, defaultPatient);
      const form: DeidForm = kept ? 'identified' : pseudonymised ? 'pseudonymised' : 'deidentified';
      return { resource, form, counts };
    },
  };
}

function subjectOf(resource: Json): string | undefined {
  for (const k of ['subject', 'patient', 'beneficiary']) {
    const ref = resource[k];
    if (isObject(ref) && typeof ref.reference === 'string') {
      const m = /(?:^urn:uuid:|(?:^|\/)Patient\/)([A-Za-z0-9\-.]{1,64})$/i.exec(ref.reference);
      if (m) return m[1];
    }
  }
  return undefined;
}

function isHumanName(node: Json): boolean {
  return (typeof node.family === 'string' || Array.isArray(node.given)) && node.resourceType === undefined;
}

function isContactPoint(node: Json): boolean {
  return typeof node.system === 'string' && contactSystems.has(node.system) && 'value' in node && !('type' in node);
}

function isAddress(node: Json, path: readonly string[]): boolean {
  const last = path[path.length - 1] ?? '';
  return last === 'address' || last === 'valueAddress' || (('line' in node || 'postalCode' in node) && ('city' in node || 'state' in node || 'country' in node));
}

function isIdentifier(node: Json): boolean {
  return typeof node.value === 'string' && ('system' in node || 'type' in node || 'assigner' in node) && !('code' in node) && !('url' in node);
}

interface KnownCollection {
  readonly values: Map<string, PhiCategory>;
  readonly knownPhi: KnownPhi;
  readonly patientIds: string[];
}

const peopleTypes = new Set(['Patient', 'RelatedPerson', 'Person', 'Practitioner']);

/** Collects identifying values of people in the input (depth-bounded, iterative). */
function collectKnownPhi(root: Json, maxDepth: number): KnownCollection {
  const values = new Map<string, PhiCategory>();
  const patientIds: string[] = [];
  const names: string[] = [];
  const add = (v: unknown, type: PhiCategory, min = 2): void => {
    if (typeof v !== 'string') return;
    const t = v.trim();
    if (t.length >= min && t.length <= 200 && !values.has(t.toLowerCase())) {
      values.set(t.toLowerCase(), type);
      if (type === 'NAME') names.push(t);
    }
  };
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > maxDepth) throw new DeidError('fhir_too_deep', { limit: maxDepth });
    if (Array.isArray(node)) {
      for (const item of node) stack.push([item, depth + 1]);
      continue;
    }
    if (!isObject(node)) continue;
    if (typeof node.resourceType === 'string' && peopleTypes.has(node.resourceType)) {
      if (node.resourceType === 'Patient' && typeof node.id === 'string') patientIds.push(node.id);
      if (typeof node.id === 'string') add(node.id, 'ID', 6);
      for (const name of Array.isArray(node.name) ? node.name : []) {
        if (!isObject(name)) continue;
        const given = Array.isArray(name.given) ? name.given.filter((g): g is string => typeof g === 'string') : [];
        for (const g of given) add(g, 'NAME');
        add(name.family, 'NAME');
        add(name.text, 'NAME');
        if (typeof name.family === 'string') {
          add([...given, name.family].join(' '), 'NAME');
          add(`${name.family}, ${given.join(' ')}`, 'NAME');
        }
      }
      for (const t of Array.isArray(node.telecom) ? node.telecom : []) if (isObject(t)) add(t.value, t.system === 'email' ? 'EMAIL' : 'PHONE', 5);
      for (const a of Array.isArray(node.address) ? node.address : []) {
        if (!isObject(a)) continue;
        for (const line of Array.isArray(a.line) ? a.line : []) add(line, 'LOCATION', 4);
        add(a.city, 'LOCATION', 3);
        add(a.postalCode, 'LOCATION', 5);
      }
      for (const id of Array.isArray(node.identifier) ? node.identifier : []) if (isObject(id)) add(id.value, 'ID', 4);
      add(node.birthDate, 'DATE', 10);
      for (const ext of Array.isArray(node.extension) ? node.extension : []) {
        if (isObject(ext) && typeof ext.url === 'string' && /mothersMaidenName/i.test(ext.url)) add(ext.valueString, 'NAME');
      }
    }
    for (const v of Object.values(node)) if (typeof v === 'object' && v !== null) stack.push([v, depth + 1]);
  }
  return { values, patientIds, knownPhi: { names } };
}

function buildKnownRegex(values: ReadonlyMap<string, PhiCategory>): RegExp | undefined {
  if (values.size === 0) return undefined;
  const alternation = [...values.keys()].sort((a, b) => b.length - a.length).map(escapeRe).join('|');
  return new RegExp(`(?<![\\p{L}\\p{N}])(?:${alternation})(?![\\p{L}\\p{N}])`, 'giu');
}
