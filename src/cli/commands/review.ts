// SPDX-License-Identifier: Apache-2.0
/**
 * `phigate review …`: the human review queue from the state folder, for a reviewing clinician at
 * this terminal. Every command acts for `--as <user>` (id or name) with that user's stored roles
 * and is held to the same rules as the admin API (review/queue.ts): `review:decide`, a care-team
 * or unit relationship with the patient, never one's own request, a live claim to decide.
 * Everything lands in the same audit chain as the gateway's.
 *
 * Edited text and rejection reasons are read from the option or, with `-`, from stdin (kept out
 * of shell history).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from '@commander-js/extra-typings';
import { InvalidArgumentError } from 'commander';
import { createAccessService } from '../../access/service.js';
import { resolveSecret } from '../../config/secrets.js';
import { uuidv7 } from '../../kernel/ids.js';
import { createReviewQueue, type ReviewDetail, type ReviewQueue, type ReviewRequest, type ReviewSummary } from '../../review/queue.js';
import { reviewStatuses, type ReviewStatus } from '../../store/repos/review-repo.js';
import { homeOption } from '../options.js';
import { cliError, findActiveUser, printResult, withCliState } from '../state.js';

/** Opens the store, audit chain and queue of a state folder; runs `action` as `user`; closes everything. */
export async function withReviewCli<T>(home: string | undefined, user: string, action: (queue: ReviewQueue, req: ReviewRequest) => Promise<T>, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  return withCliState(home, env, async (state) => {
    try {
      const access = createAccessService(state, { secret: (ref) => resolveSecret(ref, state.home, env) });
      const queue = createReviewQueue(state, { access });
      const found = await findActiveUser(state.store, user);
      const req: ReviewRequest = { actor: { userId: found.id, kind: found.kind, roles: found.roles, authMethod: 'cli' }, requestId: uuidv7() };
      return await action(queue, req);
    } catch (err) {
      throw cliError(err);
    }
  });
}

const out = (json: boolean | undefined, value: unknown, text: string): void => printResult(json, value, text);

const iso = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString());

function printSummary(s: ReviewSummary): string {
  const claim = s.status === 'claimed' ? `  claimed by ${s.claimedBy ?? '?'} until ${iso(s.leaseUntil)}` : '';
  const decided = s.decidedBy === null ? '' : `  decided by ${s.decidedBy} at ${iso(s.decidedAt)}`;
  return `${s.id}  ${s.status}  v${s.version}  ${s.useCaseId}@${s.useCaseVersion}  asked ${iso(s.createdAt)} by ${s.requesterId}${claim}${decided}`;
}

function printDetail(d: ReviewDetail): string {
  const lines = [printSummary(d), `  patient: ${d.patient ?? '-'}  purpose: ${d.purpose ?? '-'}  model: ${d.model} (${d.vendor ?? d.endpointId})`];
  for (const choice of d.answer.result.choices) {
    lines.push(`  answer${d.answer.result.choices.length > 1 ? ` [${choice.index}]` : ''}:`, ...(choice.message.content ?? '(no text)').split('\n').map((l) => `    ${l}`));
    for (const call of choice.message.tool_calls ?? []) lines.push(`    tool call ${call.function.name}(${call.function.arguments})`);
  }
  if (d.answer.confidence !== undefined) lines.push(`  stated confidence: ${d.answer.confidence}`);
  if (d.answer.citations.length > 0) lines.push(`  sources: ${d.answer.citations.map((c) => `${c.documentId}#${c.chunkId}`).join(', ')}`);
  if (d.edited !== null) lines.push('  edited to:', ...d.edited.split('\n').map((l) => `    ${l}`));
  if (d.reason !== null) lines.push(`  rejected: ${d.reason}`);
  return lines.join('\n');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const textOf = async (value: string): Promise<string> => (value === '-' ? readStdin() : value);

function parseVersion(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function parseStatuses(value: string): ReviewStatus[] {
  const statuses = value.split(',').filter((s) => s !== '');
  for (const s of statuses) if (!(reviewStatuses as readonly string[]).includes(s)) throw new InvalidArgumentError(`expected ${reviewStatuses.join(', ')} (comma-separated)`);
  return statuses as ReviewStatus[];
}

export function registerReviewCommand(program: Command): void {
  const review = program.command('review').description('the human review queue for treatment-affecting answers (every step is audited)');

  review
    .command('list')
    .description('items you may review, oldest first (default: queued and claimed)')
    .addOption(homeOption())
    .requiredOption('--as <user>', 'the reviewer (id or name)')
    .option('--status <list>', `comma-separated: ${reviewStatuses.join(', ')}`, parseStatuses)
    .option('--use-case <id>', 'only this use case')
    .option('--mine', 'only items you hold')
    .option('--json', 'print JSON')
    .action(async (options) => {
      const list = await withReviewCli(options.home, options.as, (queue, req) =>
        queue.list(req, { ...(options.status ? { statuses: options.status } : {}), ...(options.useCase ? { useCaseId: options.useCase } : {}), mine: options.mine === true }),
      );
      out(options.json, list, list.map(printSummary).join('\n') || '(none)');
    });

  review
    .command('show <id>')
    .description('open a held answer (decrypted; recorded as a PHI read)')
    .addOption(homeOption())
    .requiredOption('--as <user>', 'the reviewer (id or name)')
    .option('--json', 'print JSON')
    .action(async (id, options) => {
      const detail = await withReviewCli(options.home, options.as, (queue, req) => queue.show(req, id));
      out(options.json, detail, printDetail(detail));
    });

  review
    .command('claim [id]')
    .description('claim an item (or, without an id, the oldest one you may review) for the lease period')
    .addOption(homeOption())
    .requiredOption('--as <user>', 'the reviewer (id or name)')
    .option('--use-case <id>', 'without an id: only this use case')
    .option('--json', 'print JSON')
    .action(async (id, options) => {
      const claimed = await withReviewCli(options.home, options.as, (queue, req) =>
        id === undefined ? queue.claimNext(req, options.useCase ? { useCaseId: options.useCase } : {}) : queue.claim(req, id),
      );
      out(options.json, claimed ?? null, claimed ? printSummary(claimed) : '(nothing to claim)');
    });

  review
    .command('unclaim <id>')
    .description('give your claim back; the item is queued again')
    .addOption(homeOption())
    .requiredOption('--as <user>', 'the reviewer (id or name)')
    .option('--version <n>', 'the version you read', parseVersion)
    .option('--json', 'print JSON')
    .action(async (id, options) => {
      const item = await withReviewCli(options.home, options.as, (queue, req) => queue.unclaim(req, id, options.version === undefined ? {} : { version: options.version }));
      out(options.json, item, printSummary(item));
    });

  review
    .command('approve <id>')
    .description('release the answer as the model wrote it')
    .addOption(homeOption())
    .requiredOption('--as <user>', 'the reviewer (id or name)')
    .option('--version <n>', 'the version you read', parseVersion)
    .option('--json', 'print JSON')
    .action(async (id, options) => {
      const item = await withReviewCli(options.home, options.as, (queue, req) => queue.approve(req, id, options.version === undefined ? {} : { version: options.version }));
      out(options.json, item, printSummary(item));
    });

  review
    .command('edit <id>')
    .description('release the answer with your edits (both versions are kept, encrypted)')
    .addOption(homeOption())
    .requiredOption('--as <user>', 'the reviewer (id or name)')
    .option('--content <text>', 'the released text ("-" reads stdin)')
    .option('--file <path>', 'read the released text from a file')
    .option('--version <n>', 'the version you read', parseVersion)
    .option('--json', 'print JSON')
    .action(async (id, options) => {
      if ((options.content === undefined) === (options.file === undefined)) throw new Error('give the released text with exactly one of --content or --file');
      const content = options.file !== undefined ? await readFile(options.file, 'utf8') : await textOf(options.content ?? '');
      const item = await withReviewCli(options.home, options.as, (queue, req) => queue.edit(req, id, { content, ...(options.version === undefined ? {} : { version: options.version }) }));
      out(options.json, item, printSummary(item));
    });

  review
    .command('reject <id>')
    .description('withhold the answer for good, with a reason (encrypted at rest)')
    .addOption(homeOption())
    .requiredOption('--as <user>', 'the reviewer (id or name)')
    .requiredOption('--reason <text>', 'why ("-" reads stdin)')
    .option('--version <n>', 'the version you read', parseVersion)
    .option('--json', 'print JSON')
    .action(async (id, options) => {
      const reason = (await textOf(options.reason)).trim();
      const item = await withReviewCli(options.home, options.as, (queue, req) => queue.reject(req, id, { reason, ...(options.version === undefined ? {} : { version: options.version }) }));
      out(options.json, item, printSummary(item));
    });

  review
    .command('provenance <id>')
    .description('the FHIR R4 Provenance resource recorded with the decision (JSON)')
    .addOption(homeOption())
    .requiredOption('--as <user>', 'a reviewer of the patient, or an auditor (admin:audit.read)')
    .action(async (id, options) => {
      const resource = await withReviewCli(options.home, options.as, (queue, req) => queue.provenance(req, id));
      out(true, resource, '');
    });
}
