// SPDX-License-Identifier: Apache-2.0
/**
 * Renders gathered context as compact, readable text for a model, and substitutes it into the
 * use case's prompt template at `{{context}}`.
 *
 * The output is deterministic: sections follow the use case's scope order, resources the
 * server's order (a use case that cares says `_sort`), elements the allow-list's order, and
 * objects without a known FHIR shape their sorted keys. Resource ids are not rendered (they are
 * record identifiers, and the model needs none); document chunks are numbered `[1]`, `[2]`, …
 * in rank order, the same order as the request's citations.
 */
import { choicePrefixOf } from './projection.js';
import type { ProjectedResource } from './projection.js';

/** One resource type's projected resources, with the allow-list they were projected with. */
export interface RenderSection {
  readonly resourceType: string;
  readonly elements: readonly string[];
  readonly resources: readonly ProjectedResource[];
}

/** A retrieved document chunk; `label` is a non-PHI description (document type, year). */
export interface RenderChunk {
  readonly documentId: string;
  readonly chunkId: string;
  readonly text: string;
  readonly label?: string | undefined;
}

export interface RenderInput {
  readonly sections: readonly RenderSection[];
  readonly chunks: readonly RenderChunk[];
}

/** The line that opens the FHIR block; the screening step finds the block by it. */
export const fhirBlockHeader = 'Patient record (FHIR):';

/** The line that opens the notes block; each chunk follows a `[n]` or `[n] label` line. */
export const notesBlockHeader = 'Notes (retrieved excerpts, best first):';

/** The placeholder a prompt template names the context with. */
export const contextPlaceholder = '{{context}}';

/** What the context says when the use case's sources had nothing for this patient and question. */
export const emptyContextText = 'No patient context was found for this request.';

/** The system message used when a use case has no prompt template. */
export const defaultContextTemplate = [
  'Patient context gathered by phigate for this request (minimum necessary for the use case).',
  'Use it only to answer the request. Cite notes by their [n] markers.',
  '',
  contextPlaceholder,
].join('\n');

const systemNames: Readonly<Record<string, string>> = {
  'http://loinc.org': 'LOINC',
  'http://snomed.info/sct': 'SNOMED',
  'http://www.nlm.nih.gov/research/umls/rxnorm': 'RxNorm',
  'http://hl7.org/fhir/sid/icd-10-cm': 'ICD-10-CM',
  'http://hl7.org/fhir/sid/icd-10': 'ICD-10',
  'http://hl7.org/fhir/sid/cvx': 'CVX',
  'http://unitsofmeasure.org': 'UCUM',
};

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value.trim();
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function formatCoding(coding: Record<string, unknown>): string | undefined {
  const display = str(coding.display);
  const code = str(coding.code);
  const system = typeof coding.system === 'string' ? systemNames[coding.system] : undefined;
  const codeLabel = code === undefined ? undefined : system === undefined ? code : `${system} ${code}`;
  if (display !== undefined && codeLabel !== undefined && display !== code) return `${display} (${codeLabel})`;
  return display ?? codeLabel;
}

function formatCodeableConcept(concept: Record<string, unknown>): string | undefined {
  const codings = Array.isArray(concept.coding) ? concept.coding.filter(isObject) : [];
  const text = str(concept.text);
  const coded = codings.map(formatCoding).filter((c): c is string => c !== undefined);
  if (text === undefined) return coded.length === 0 ? undefined : coded.join(', ');
  const codes = codings
    .map((c) => {
      const code = str(c.code);
      const system = typeof c.system === 'string' ? systemNames[c.system] : undefined;
      return code === undefined ? undefined : system === undefined ? code : `${system} ${code}`;
    })
    .filter((c): c is string => c !== undefined);
  return codes.length === 0 ? text : `${text} (${codes.join(', ')})`;
}

function formatQuantity(q: Record<string, unknown>): string | undefined {
  const value = str(q.value);
  if (value === undefined) return undefined;
  const unit = str(q.unit) ?? str(q.code);
  return `${str(q.comparator) ?? ''}${value}${unit === undefined ? '' : ` ${unit}`}`;
}

/** Formats one value by its FHIR shape; unknown shapes as `key=value` pairs in sorted key order. */
export function formatValue(value: unknown): string | undefined {
  const primitive = str(value);
  if (primitive !== undefined) return primitive;
  if (Array.isArray(value)) {
    const parts = value.map(formatValue).filter((v): v is string => v !== undefined);
    return parts.length === 0 ? undefined : parts.join('; ');
  }
  if (!isObject(value)) return undefined;
  if ('coding' in value || (Object.keys(value).length === 1 && 'text' in value)) return formatCodeableConcept(value);
  if ('code' in value && ('system' in value || 'display' in value) && !('value' in value)) return formatCoding(value);
  if ('value' in value && typeof value.value === 'number') return formatQuantity(value);
  if ('start' in value || 'end' in value) {
    const start = str(value.start);
    const end = str(value.end);
    if (start !== undefined || end !== undefined) return `${start ?? '?'} to ${end ?? 'ongoing'}`;
  }
  if ('low' in value || 'high' in value) {
    const low = isObject(value.low) ? formatQuantity(value.low) : undefined;
    const high = isObject(value.high) ? formatQuantity(value.high) : undefined;
    if (low !== undefined || high !== undefined) return `${low ?? '?'} to ${high ?? '?'}`;
  }
  if ('numerator' in value || 'denominator' in value) {
    const n = isObject(value.numerator) ? formatQuantity(value.numerator) : undefined;
    const d = isObject(value.denominator) ? formatQuantity(value.denominator) : undefined;
    if (n !== undefined && d !== undefined) return `${n} / ${d}`;
  }
  if ('reference' in value || ('display' in value && Object.keys(value).length <= 3)) {
    const shown = str(value.display) ?? str(value.reference);
    if (shown !== undefined) return shown;
  }
  if ('family' in value || 'given' in value) {
    const given = Array.isArray(value.given) ? value.given.map(str).filter(Boolean).join(' ') : '';
    const name = [given, str(value.family) ?? ''].filter((p) => p !== '').join(' ');
    if (name !== '') return name;
  }
  if ('text' in value) {
    const text = str(value.text);
    if (text !== undefined && Object.keys(value).every((k) => k === 'text' || k === 'time' || k === 'authorString')) return text;
  }
  const pairs = Object.keys(value)
    .sort()
    .map((key) => {
      const formatted = formatValue(value[key]);
      return formatted === undefined ? undefined : `${key}=${formatted}`;
    })
    .filter((p): p is string => p !== undefined);
  return pairs.length === 0 ? undefined : `{${pairs.join(', ')}}`;
}

/** The top-level keys to render for a resource, in allow-list order. */
function keysInOrder(resource: ProjectedResource, elements: readonly string[]): string[] {
  const keys: string[] = [];
  const seen = new Set<string>();
  const push = (key: string): void => {
    if (!seen.has(key) && key in resource) {
      seen.add(key);
      keys.push(key);
    }
  };
  for (const element of elements) {
    const head = element.split('.')[0] ?? '';
    if (element.indexOf('.') === -1 && head.endsWith('[x]')) {
      const prefix = new Set([head.slice(0, -3)]);
      for (const key of Object.keys(resource).sort()) if (choicePrefixOf(key, prefix) !== undefined) push(key);
    } else {
      push(head);
    }
  }
  return keys;
}

/** One line per resource: `- key: value | key: value`. */
export function renderResource(resource: ProjectedResource, elements: readonly string[]): string {
  const parts: string[] = [];
  for (const key of keysInOrder(resource, elements)) {
    const formatted = formatValue(resource[key]);
    if (formatted !== undefined) parts.push(`${key}: ${formatted.replace(/\s+/g, ' ')}`);
  }
  return `- ${parts.length === 0 ? '(no allowed elements recorded)' : parts.join(' | ')}`;
}

/** The whole context as text (empty when nothing was gathered). */
export function renderContext(input: RenderInput): string {
  const blocks: string[] = [];
  const sections = input.sections.filter((s) => s.resources.length > 0);
  if (sections.length > 0) {
    const lines = [fhirBlockHeader];
    for (const section of sections) {
      lines.push(`${section.resourceType} (${section.resources.length}):`);
      for (const resource of section.resources) lines.push(renderResource(resource, section.elements));
    }
    blocks.push(lines.join('\n'));
  }
  if (input.chunks.length > 0) {
    const lines = [notesBlockHeader];
    input.chunks.forEach((chunk, index) => {
      lines.push(`[${index + 1}]${chunk.label === undefined ? '' : ` ${chunk.label}`}`);
      lines.push(chunk.text.trim());
    });
    blocks.push(lines.join('\n'));
  }
  return blocks.join('\n\n');
}

/**
 * The system message: the template with every `{{context}}` replaced (the context is appended
 * when a template names no placeholder), or the default template.
 */
export function applyTemplate(template: string | undefined, context: string): string {
  const chosen = template ?? defaultContextTemplate;
  // split/join, not String.replace: `$&` and friends in the context must stay literal.
  if (chosen.includes(contextPlaceholder)) return chosen.split(contextPlaceholder).join(context);
  return `${chosen}\n\n${context}`;
}
