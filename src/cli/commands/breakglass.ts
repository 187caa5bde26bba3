// SPDX-License-Identifier: Apache-2.0
/**
 * `phigate breakglass …`: open a break-glass session for a named user, list the review queue,
 * close reviews (justified, or misuse → an incident), see alert delivery. Commands that act for
 * a person take `--as <user>` and are checked against that user's roles: only an eligible
 * clinician opens a session, only a privacy officer reviews, and never their own session.
 * Reasons are read from `--reason` or, with `--reason -`, from stdin (kept out of shell history).
 */
import type { Command } from '@commander-js/extra-typings';
import { breakGlassCategories } from '../../access/break-glass.js';
import type { BreakGlassSessionDetail } from '../../store/repos/break-glass-repo.js';
import { homeOption } from '../options.js';
import { withAccessCli } from './careteam.js';

const out = (json: boolean | undefined, value: unknown, text: string): void => {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`);
};

const iso = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString());

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}

function printSession(s: BreakGlassSessionDetail): string {
  return `${s.id}  user=${s.userId}  ${s.patient}  ${s.category}  ${iso(s.startedAt)} → ${iso(s.expiresAt)}  review=${s.reviewStatus}${s.incidentId ? `  incident=${s.incidentId}` : ''}\n    reason: ${s.reason}`;
}

export function registerBreakGlassCommand(program: Command): void {
  const breakglass = program.command('breakglass').description('emergency access: open, review and follow up break-glass sessions (every step is audited)');

  breakglass
    .command('start')
    .description('open a break-glass session for a user and patient; alerts are queued before access is granted')
    .addOption(homeOption())
    .requiredOption('--as <user>', 'the clinician (id or name) who needs access')
    .requiredOption('--patient <ref>', 'Patient/<id>')
    .requiredOption('--category <category>', breakGlassCategories.join(' | '))
    .requiredOption('--reason <text>', 'why (free text, encrypted at rest; "-" reads stdin)')
    .option('--purpose <code>', 'HL7 PurposeOfUse', 'ETREAT')
    .option('--minutes <n>', 'time box (default from configuration)', (v) => Number.parseInt(v, 10))
    .option('--json', 'print JSON')
    .action(async (options) => {
      const reason = options.reason === '-' ? await readStdin() : options.reason;
      const session = await withAccessCli(options.home, async (cli) => {
        const opened = await cli.admin.startBreakGlass(await cli.as(options.as), { patient: options.patient, category: options.category, reason, purpose: options.purpose, minutes: options.minutes });
        // Try the alerts at once; whatever fails stays queued for the gateway's dispatcher.
        await cli.service.dispatcher.runOnce().catch(() => undefined);
        return opened;
      });
      out(options.json, session, `${session.id}  open until ${iso(session.expiresAt)}`);
    });

  breakglass
    .command('list')
    .description('the review queue (default: open sessions)')
    .addOption(homeOption())
    .requiredOption('--as <user>', 'the reviewer (privacy officer) listing')
    .option('--status <status>', 'open | justified | misuse | all', 'open')
    .option('--json', 'print JSON')
    .action(async (options) => {
      const status = options.status;
      if (!['open', 'justified', 'misuse', 'all'].includes(status)) throw new Error('--status must be open, justified, misuse or all');
      const list = await withAccessCli(options.home, async (cli) =>
        cli.admin.listBreakGlass(await cli.as(options.as), status === 'all' ? undefined : (status as 'open' | 'justified' | 'misuse')),
      );
      out(options.json, list, list.map(printSession).join('\n') || '(none)');
    });

  breakglass
    .command('review <session>')
    .description('close a session\'s review: justified, or misuse (records an incident)')
    .addOption(homeOption())
    .requiredOption('--as <user>', 'the reviewer (privacy officer)')
    .requiredOption('--outcome <outcome>', 'justified | misuse')
    .option('--note <text>', 'review note (encrypted at rest)')
    .option('--json', 'print JSON')
    .action(async (id, options) => {
      if (options.outcome !== 'justified' && options.outcome !== 'misuse') throw new Error('--outcome must be justified or misuse');
      const outcome = options.outcome;
      const reviewed = await withAccessCli(options.home, async (cli) => cli.admin.review(await cli.as(options.as), id, outcome, options.note));
      out(options.json, reviewed, `${reviewed.id}  ${reviewed.reviewStatus}${reviewed.incidentId ? `  incident=${reviewed.incidentId}` : ''}`);
    });

  breakglass
    .command('end <session>')
    .description('end a running session early')
    .addOption(homeOption())
    .requiredOption('--as <user>', 'the session\'s owner or a reviewer')
    .action(async (id, options) => {
      await withAccessCli(options.home, async (cli) => cli.admin.endBreakGlass(await cli.as(options.as), id));
      out(false, {}, `ended ${id}`);
    });

  breakglass
    .command('alerts')
    .description('alert delivery per session and channel')
    .addOption(homeOption())
    .option('--json', 'print JSON')
    .action(async (options) => {
      const alerts = await withAccessCli(options.home, (cli) => cli.service.breakGlass.listAlerts());
      const state = (a: (typeof alerts)[number]): string => (a.deliveredAt !== null ? `delivered ${iso(a.deliveredAt)}` : a.deadAt !== null ? `dead (${a.lastError ?? '?'})` : `pending, next ${iso(a.nextAttemptAt)}`);
      out(options.json, alerts, alerts.map((a) => `${a.sessionId}  ${a.channelId}  attempts=${a.attempts}  ${state(a)}`).join('\n') || '(none)');
    });

  breakglass
    .command('incidents')
    .description('incidents raised by misuse reviews')
    .addOption(homeOption())
    .requiredOption('--as <user>', 'the reviewer (privacy officer)')
    .option('--json', 'print JSON')
    .action(async (options) => {
      const incidents = await withAccessCli(options.home, async (cli) => cli.admin.listIncidents(await cli.as(options.as)));
      out(options.json, incidents, incidents.map((i) => `${i.id}  ${i.kind}  session=${i.sessionId ?? '-'}  user=${i.userId}  ${iso(i.createdAt)}  ${i.status}`).join('\n') || '(none)');
    });
}
