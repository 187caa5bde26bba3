// SPDX-License-Identifier: Apache-2.0
/**
 * NDJSON export of the audit log as FHIR R4 AuditEvent resources (one resource per line, in
 * chain order), for a SIEM, a FHIR server's $import, or an auditor. Streams page by page, so a
 * log of any size exports in constant memory; writes wait for the destination to drain.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { toFhirAuditEvent } from '../fhir-audit-event.js';
import { iterateAudit } from '../search.js';

/** The export window: epoch ms, `until` exclusive. */
export interface ExportWindow {
  readonly since?: number | undefined;
  readonly until?: number | undefined;
}

/** One NDJSON line (with its newline) per record in the window. */
export async function* fhirNdjsonLines(db: Kysely<Database>, window: ExportWindow = {}): AsyncGenerator<string> {
  for await (const record of iterateAudit(db, window)) yield `${JSON.stringify(toFhirAuditEvent(record))}\n`;
}

/** Writes the window to `out` (a file or stdout) and returns how many resources were written. Does not end `out`. */
export async function writeFhirNdjson(db: Kysely<Database>, out: Writable, window: ExportWindow = {}): Promise<{ readonly records: number }> {
  let records = 0;
  for await (const line of fhirNdjsonLines(db, window)) {
    records += 1;
    if (!out.write(line)) await once(out, 'drain');
  }
  return { records };
}
