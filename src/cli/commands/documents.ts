// SPDX-License-Identifier: Apache-2.0
/**
 * `phigate documents …`: clinical documents for retrieval, from the state folder.
 *
 *   phigate documents ingest --patient Patient/p1 --file note.txt [--label ETH] [--unit icu] [--type "Progress note"] [--date 2021-03-04]
 *   phigate documents ingest --patient Patient/p1 --dir notes/      (.txt and .md as text, .json as FHIR; a progress bar on a terminal)
 *   phigate documents ingest --fhir bundle.json                      (DocumentReferences; a Patient in the bundle lends its identifiers to detection)
 *   phigate documents list --patient Patient/p1
 *   phigate documents delete <document id>
 *
 * The operator at this terminal acts as `cli:<os user>` with the admin role (they hold the state
 * folder and its key); every ingest, listing and deletion goes to the same audit chain as the
 * gateway's. Nothing a note contains is printed: ids, labels, counts and reasons only.
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import cliProgress from 'cli-progress';
import { InvalidArgumentError } from 'commander';
import { createAccessPolicy, type RoleOverrides } from '../../access/rbac.js';
import { parseInstant } from '../../access/patient-access.js';
import { createDeidEngine } from '../../deid/detect.js';
import { createDeidentifier } from '../../deid/deidentify.js';
import type { KnownPhi } from '../../deid/types.js';
import { knownPhiOfPatient } from '../../fhir/patient-phi.js';
import type { FhirResource } from '../../fhir/projection.js';
import { systemClock } from '../../kernel/clock.js';
import { isGatewayError } from '../../kernel/errors.js';
import { uuidv7 } from '../../kernel/ids.js';
import { createProviders } from '../../providers/registry.js';
import { createDocumentAdmin, type DocumentAdmin, type DocumentAdminRequest } from '../../rag/document-admin.js';
import type { IngestResult } from '../../rag/documents.js';
import { createDocumentServices } from '../../rag/runtime.js';
import { createEndpointDirectory } from '../../registry/endpoints.js';
import { createRegistryView } from '../../registry/registry-store.js';
import { categoryOfCode } from '../../registry/sensitivity.js';
import type { SensitiveCategory } from '../../registry/use-case-spec.js';
import { homeOption } from '../options.js';
import { cliOperatorActor, withCliState } from '../state.js';

export interface DocumentsCli {
  readonly admin: DocumentAdmin;
  /** The operator at this terminal, with the admin role. */
  readonly operator: DocumentAdminRequest;
}

/** Opens the state folder's store, audit chain and document services; runs `action`; closes everything. */
export async function withDocumentsCli<T>(home: string | undefined, action: (cli: DocumentsCli) => Promise<T>, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  return withCliState(home, env, async (state) => {
    const { config, store, audit, keyedHash, instanceId } = state;
    const providers = createProviders(config.endpoints, { baseDir: state.home, env, proxyUrl: config.egress.proxyUrl });
    try {
      const services = await createDocumentServices({
        config,
        store,
        endpoints: createEndpointDirectory(config.endpoints, providers),
        registry: createRegistryView(store.db),
        deidentifier: createDeidentifier({ detector: createDeidEngine({ language: config.deid.language }) }),
        audit,
        clock: systemClock,
        keyedHash,
        instanceId,
        logger: state.logger,
      });
      const admin = createDocumentAdmin({
        db: store.db,
        fieldCrypto: store.fieldCrypto,
        ingester: services.ingester,
        limits: services.limits,
        policy: createAccessPolicy(config.access.roles as RoleOverrides),
        audit,
        clock: systemClock,
        keyedHash,
        instanceId,
      });
      const operator: DocumentAdminRequest = { actor: cliOperatorActor(), requestId: uuidv7() };
      return await action({ admin, operator });
    } finally {
      await Promise.allSettled([...providers.values()].map((p) => p.close()));
    }
  });
}

/** `--label ETH,PSYTHPN`: sensitivity label codes (repeatable). */
function parseLabels(value: string, previous: SensitiveCategory[] = []): SensitiveCategory[] {
  const out = new Set(previous);
  for (const code of value.split(',')) {
    if (code.trim() === '') continue;
    const category = categoryOfCode(code);
    if (category === undefined) throw new InvalidArgumentError('expected sensitivity codes: ETH, SUD, 42CFRPart2, PSYTHPN, GDIS, HIV or a phigate category');
    out.add(category);
  }
  return [...out];
}

function parseDateOption(value: string): number {
  const at = parseInstant(value);
  if (at === undefined) throw new InvalidArgumentError('expected an ISO 8601 date or date-time');
  return at;
}

/** The failure of one file, as the operator sees it: the code and reason, never content. */
function reasonOf(err: unknown): string {
  if (isGatewayError(err)) return typeof err.detail?.reason === 'string' ? `${err.code} (${err.detail.reason})` : err.code;
  return err instanceof Error ? err.message : String(err);
}

/** Text files (`.txt`, `.md`) and FHIR JSON (`.json`) under `dir`, sorted, recursively. */
async function filesIn(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesIn(full)));
    else if (['.txt', '.md', '.json'].includes(extname(entry.name).toLowerCase())) out.push(full);
  }
  return out.sort();
}

/** The identifiers of the Patient resources a FHIR input carries, for detection. */
function patientPhiOf(json: unknown): KnownPhi | undefined {
  const resources: unknown[] = Array.isArray(json)
    ? json
    : json !== null && typeof json === 'object' && (json as { resourceType?: unknown }).resourceType === 'Bundle'
      ? (((json as { entry?: unknown }).entry as { resource?: unknown }[] | undefined) ?? []).map((e) => e?.resource)
      : [json];
  const patients = resources.filter((r): r is FhirResource => r !== null && typeof r === 'object' && (r as { resourceType?: unknown }).resourceType === 'Patient' && typeof (r as { id?: unknown }).id === 'string');
  if (patients.length !== 1) return undefined;
  return knownPhiOfPatient(patients[0] as FhirResource);
}

interface Summary {
  files: number;
  ingested: number;
  duplicates: number;
  replaced: number;
  embedded: number;
  fullTextOnly: number;
  chunks: number;
  refused: { file: string; reason: string }[];
  documents: { file: string; id: string; chunks: number; duplicate: boolean; label: string | null }[];
}

function count(summary: Summary, file: string, result: IngestResult): void {
  summary.documents.push({ file, id: result.id, chunks: result.chunks, duplicate: result.duplicate, label: result.label });
  if (result.duplicate) summary.duplicates += 1;
  else {
    summary.ingested += 1;
    summary.chunks += result.chunks;
    if (result.replaced !== undefined) summary.replaced += 1;
    if (result.embedded) summary.embedded += 1;
    else summary.fullTextOnly += 1;
  }
}

export function registerDocumentsCommand(program: Command): void {
  const documents = program.command('documents').description('clinical documents for patient-scoped retrieval (every change is audited)');

  documents
    .command('ingest')
    .description('ingest notes: one text file, a folder (.txt/.md as text, .json as FHIR), or FHIR DocumentReferences (a resource, a Bundle or an array)')
    .addOption(homeOption())
    .option('--patient <ref>', 'Patient/<id> the notes are about (required for text; must match a DocumentReference\'s subject)')
    .option('--file <path>', 'one plain-text or Markdown note')
    .option('--dir <path>', 'a folder of notes, read recursively')
    .option('--fhir <path>', 'a FHIR R4 JSON file: DocumentReference, Bundle or array')
    .option('--label <codes>', 'sensitivity labels: ETH, SUD, 42CFRPart2, PSYTHPN, GDIS, HIV (comma-separated, repeatable)', parseLabels)
    .option('--unit <unit>', 'restrict the notes to the members of this unit')
    .option('--type <type>', 'document type for the citation label, e.g. "Progress note" (text notes)')
    .option('--date <iso>', 'the note\'s date (text notes)', parseDateOption)
    .option('--json', 'print JSON')
    .option('-q, --quiet', 'no progress bar')
    .action(async (options) => {
      const sources = [options.file, options.dir, options.fhir].filter((s) => s !== undefined);
      if (sources.length !== 1) throw new Error('give exactly one of --file, --dir or --fhir');
      if ((options.file !== undefined || options.dir !== undefined) && options.patient === undefined) throw new Error('--patient is required for text notes');
      const files = options.dir !== undefined ? await filesIn(options.dir) : [(options.file ?? options.fhir) as string];
      const summary: Summary = { files: files.length, ingested: 0, duplicates: 0, replaced: 0, embedded: 0, fullTextOnly: 0, chunks: 0, refused: [], documents: [] };
      const bar =
        options.dir !== undefined && !options.quiet && !options.json && process.stderr.isTTY
          ? new cliProgress.SingleBar({ stream: process.stderr, format: 'documents [{bar}] {value}/{total} files', hideCursor: false }, cliProgress.Presets.shades_classic)
          : undefined;
      bar?.start(files.length, 0);
      await withDocumentsCli(options.home, async ({ admin, operator }) => {
        for (const file of files) {
          const name = options.dir !== undefined ? relative(options.dir, file) : file;
          try {
            const text = await readFile(file, 'utf8');
            const asFhir = options.fhir !== undefined || extname(file).toLowerCase() === '.json';
            if (asFhir) {
              let json: unknown;
              try {
                json = JSON.parse(text);
              } catch {
                throw new Error('not valid JSON');
              }
              const knownPhi = patientPhiOf(json);
              const report = await admin.ingestFhir(operator, json, { patient: options.patient, sensitivity: options.label ?? [], unit: options.unit, knownPhi });
              for (const result of report.results) count(summary, name, result);
              for (const problem of report.problems) summary.refused.push({ file: `${name}#${problem.at}`, reason: `${problem.code} (${problem.reason})` });
            } else {
              count(summary, name, await admin.ingestText(operator, { patient: options.patient as string, text, sensitivity: options.label ?? [], unit: options.unit, type: options.type, date: options.date }));
            }
          } catch (err) {
            // An operator error (a bad store, audit unavailable) stops the run; a bad note is skipped.
            if (isGatewayError(err) && ['audit_unavailable', 'permission_denied', 'internal_error'].includes(err.code)) throw err;
            summary.refused.push({ file: name, reason: reasonOf(err) });
          }
          bar?.increment();
        }
      }).finally(() => bar?.stop());
      if (options.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else {
        if (options.dir === undefined) for (const d of summary.documents) process.stdout.write(`${d.id}  ${d.chunks} chunks${d.duplicate ? '  (already stored)' : ''}${d.label === null ? '' : `  ${d.label}`}\n`);
        const parts = [`${summary.ingested} ingested (${summary.chunks} chunks)`, `${summary.duplicates} already stored`, `${summary.replaced} replaced an earlier version`, `${summary.fullTextOnly} indexed for full text only`, `${summary.refused.length} refused`];
        process.stdout.write(`${parts.join(', ')}\n`);
        for (const r of summary.refused) process.stdout.write(`  refused ${r.file}: ${r.reason}\n`);
      }
      if (summary.refused.length > 0) process.exitCode = 1;
    });

  documents
    .command('list')
    .description('list a patient\'s documents, newest first (metadata only)')
    .addOption(homeOption())
    .requiredOption('--patient <ref>', 'Patient/<id>')
    .option('--json', 'print JSON')
    .action(async (options) => {
      const list = await withDocumentsCli(options.home, ({ admin, operator }) => admin.list(operator, options.patient));
      if (options.json) process.stdout.write(`${JSON.stringify(list)}\n`);
      else {
        const lines = list.map((d) => `${d.id}  ${d.label ?? '-'}  ${d.chunks} chunks  sensitivity=${d.sensitivity.join(',') || '-'}  unit=${d.unit ?? '-'}  ${d.embeddingModel === null ? 'full text' : `embedded (${d.embeddingModel})`}  ${d.createdAt}`);
        process.stdout.write(`${lines.join('\n') || '(none)'}\n`);
      }
    });

  documents
    .command('delete <id>')
    .description('delete a document, its chunks and their index entries')
    .addOption(homeOption())
    .action(async (id, options) => {
      await withDocumentsCli(options.home, ({ admin, operator }) => admin.remove(operator, id));
      process.stdout.write(`deleted ${id}\n`);
    });
}
