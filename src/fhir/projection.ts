// SPDX-License-Identifier: Apache-2.0
/**
 * Minimum-necessary projection: a FHIR resource reduced to the elements a use case may see.
 *
 * An allow-list names top-level elements or dotted paths into them (`code`, `valueQuantity`,
 * `dosage.text`, `component.code`); a choice element ends in `[x]` and keeps each typed variant
 * (`value[x]` keeps `valueQuantity`, `valueString`, … — FHIR R4 data types only). Paths descend
 * through arrays element by element; an array element or object with nothing allowed left is
 * dropped, never kept empty. `resourceType` and `id` are always kept.
 *
 * Never kept, even when listed: `meta` (security labels are read before projection), `text`
 * (the narrative, free text that repeats everything), `contained` (whole resources with their
 * own narrative), extensions anywhere (`extension`, `modifierExtension`) and primitive
 * extensions (`_birthDate`, …) anywhere. Values are copied, never interpreted.
 */

/** A resource as read from the server: an object with a type and a logical id. */
export interface FhirResource {
  readonly resourceType: string;
  readonly id: string;
  readonly [element: string]: unknown;
}

/** A resource after projection: the same shape, with only allowed elements left. */
export type ProjectedResource = FhirResource;

/** FHIR R4 data type names, the suffixes a choice element `name[x]` may take. */
export const fhirChoiceTypes: ReadonlySet<string> = new Set([
  'Base64Binary', 'Boolean', 'Canonical', 'Code', 'Date', 'DateTime', 'Decimal', 'Id', 'Instant', 'Integer', 'Integer64', 'Markdown',
  'Oid', 'PositiveInt', 'String', 'Time', 'UnsignedInt', 'Uri', 'Url', 'Uuid', 'Address', 'Age', 'Annotation', 'Attachment',
  'CodeableConcept', 'CodeableReference', 'Coding', 'ContactPoint', 'Count', 'Distance', 'Duration', 'HumanName', 'Identifier', 'Money',
  'Period', 'Quantity', 'Range', 'Ratio', 'RatioRange', 'Reference', 'SampledData', 'Signature', 'Timing', 'ContactDetail', 'Contributor',
  'DataRequirement', 'Expression', 'ParameterDefinition', 'RelatedArtifact', 'TriggerDefinition', 'UsageContext', 'Dosage', 'Meta',
]);

/** Top-level elements never projected. */
export const neverProjected: ReadonlySet<string> = new Set(['meta', 'text', 'contained']);

/** Whether an element name is an extension (kept nowhere). */
export function isExtensionKey(key: string): boolean {
  return key === 'extension' || key === 'modifierExtension' || key.startsWith('_');
}

interface AllowNode {
  /** The whole subtree is allowed. */
  all: boolean;
  readonly children: Map<string, AllowNode>;
  /** Choice prefixes whose typed variants are allowed whole (`value` for `value[x]`). */
  readonly choices: Set<string>;
}

function newNode(): AllowNode {
  return { all: false, children: new Map(), choices: new Set() };
}

/** A compiled allow-list; compile once per use-case scope, apply to many resources. */
export interface ElementFilter {
  readonly root: AllowNode;
  readonly elements: readonly string[];
}

/** Compiles an allow-list of element paths. Malformed paths are ignored (the use-case schema rejects them first). */
export function compileElements(elements: readonly string[]): ElementFilter {
  const root = newNode();
  for (const element of elements) {
    const segments = element.split('.');
    if (segments.some((s) => s === '')) continue;
    let node = root;
    segments.forEach((segment, index) => {
      const last = index === segments.length - 1;
      if (last && segment.endsWith('[x]')) {
        node.choices.add(segment.slice(0, -3));
        return;
      }
      let child = node.children.get(segment);
      if (!child) {
        child = newNode();
        node.children.set(segment, child);
      }
      if (last) child.all = true;
      node = child;
    });
  }
  return { root, elements: [...elements] };
}

/** The choice prefix a key is a typed variant of, among `choices` (`valueQuantity` → `value`). */
export function choicePrefixOf(key: string, choices: ReadonlySet<string>): string | undefined {
  for (const prefix of choices) {
    if (key.length > prefix.length && key.startsWith(prefix) && fhirChoiceTypes.has(key.slice(prefix.length))) return prefix;
  }
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Copies a wholly allowed value, dropping extensions at every depth. */
function copyAllowed(value: unknown): unknown {
  if (Array.isArray(value)) {
    const out = value.map(copyAllowed).filter((v) => v !== undefined);
    return out.length === 0 ? undefined : out;
  }
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      if (isExtensionKey(key)) continue;
      const copied = copyAllowed(child);
      if (copied !== undefined) out[key] = copied;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return undefined;
}

function projectValue(value: unknown, node: AllowNode): unknown {
  if (node.all) return copyAllowed(value);
  if (Array.isArray(value)) {
    const out = value.map((item) => projectValue(item, node)).filter((v) => v !== undefined);
    return out.length === 0 ? undefined : out;
  }
  // A path that continues below a primitive names nothing in it.
  if (!isPlainObject(value)) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (isExtensionKey(key)) continue;
    const childNode = node.children.get(key);
    const projected = childNode ? projectValue(child, childNode) : choicePrefixOf(key, node.choices) !== undefined ? copyAllowed(child) : undefined;
    if (projected !== undefined) out[key] = projected;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

/** The resource reduced to `filter`'s elements, plus `resourceType` and `id`. */
export function projectResource(resource: FhirResource, filter: ElementFilter): ProjectedResource {
  const out: Record<string, unknown> = { resourceType: resource.resourceType, id: resource.id };
  for (const [key, value] of Object.entries(resource)) {
    if (key === 'resourceType' || key === 'id' || neverProjected.has(key) || isExtensionKey(key)) continue;
    const node = filter.root.children.get(key);
    const projected = node ? projectValue(value, node) : choicePrefixOf(key, filter.root.choices) !== undefined ? copyAllowed(value) : undefined;
    if (projected !== undefined) out[key] = projected;
  }
  return out as ProjectedResource;
}
