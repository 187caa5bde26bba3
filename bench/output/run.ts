// SPDX-License-Identifier: Apache-2.0
/**
 * `npm run bench:output` — the output filter's figures through a real gateway: a scripted
 * OpenAI-compatible model (the local fake vendor server) answers every request, the official
 * `openai` SDK asks, plain and streamed alternately.
 *
 * - adversarial answers echo other Synthea patients' identifiers (names in every style, MRNs,
 *   phones, street addresses, e-mail addresses, SSNs, licence and passport numbers, mixes,
 *   exfiltration images); counted: answers delivered with any planted identifier still readable
 *   (checked on the delivered text without the filter's code; goal 0), answers with an
 *   exfiltration host left, incidents recorded;
 * - same-patient answers use only the request patient's own identifiers; counted: answers
 *   changed (a false redaction) or blocked (goal ≤ 1%).
 *
 * Both sets run three times: with redaction (the default configuration), with
 * `output.blockOnLeak`, and with redaction by detection alone (`output.recentPatients` off, so
 * only the engine and the sweeps find identifiers — what a gateway that has not yet served the
 * other patient sees). Then, in
 * process, what counting dates as leaks would cost on the same-patient set, and how many
 * planted birth dates of other patients pass (dates are not counted by default).
 *
 * A third set, same-patient-notes, takes the 1,215 Synthea encounter notes of ../shared/data/notes
 * as answers for their own patients (text nobody here wrote), asked with nothing but the question.
 *
 * Options: --per-set N (answers per set, default 2200), --modes redact,block,detect, --json OUT,
 * --seed N, --no-notes. The patient context comes from the Synthea bundles through the gateway's
 * `patientPhiSource` seam (test/support/output-gateway.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { outputConfigSchema } from '../../src/output/config-schema.js';
import { createOutputFilter } from '../../src/output/output-filter.js';
import type { ChatResult } from '../../src/providers/types.js';
import { trustingFetch } from '../../test/support/gateway.js';
import { startOutputGateway, type OutputGateway } from '../../test/support/output-gateway.js';
import { buildScenarios, noteScenarios, plantedFound, question, type Scenario } from '../../test/support/output-scenarios.js';
import { loadSyntheaNotes, loadSyntheaPatients } from '../../test/support/synthea-patients.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const perSet = Number(opt('--per-set') ?? 2200);
type Mode = 'redact' | 'block' | 'detect';
const modes = (opt('--modes') ?? 'redact,block,detect').split(',') as Mode[];
const seed = Number(opt('--seed') ?? 7);
const jsonOut = opt('--json');
const withNotes = !args.includes('--no-notes');
const allowedLinkHosts = ['medlineplus.gov'];

interface Outcome {
  readonly scenario: Scenario;
  readonly mode: Mode;
  readonly delivered: string | undefined;
  readonly blocked: boolean;
  readonly errorCode?: string;
  readonly leaked: number;
  readonly exfil: boolean;
  readonly changed: boolean;
  readonly incident: boolean;
  readonly closingFilter: string | undefined;
  readonly ms: number;
  readonly requestId: string;
}

async function ask(client: OpenAI, gw: OutputGateway, scenario: Scenario): Promise<{ delivered?: string; blocked: boolean; errorCode?: string; requestId: string }> {
  // Streams arrive in small, uneven pieces, as vendors send them.
  gw.model.script({ text: scenario.answer, chunkChars: 1 + (scenario.id % 9) });
  const body = { model: 'clinical-llm', messages: [{ role: 'system' as const, content: scenario.prompt }, { role: 'user' as const, content: question }] };
  const headers = { 'x-phigate-patient': scenario.patient.reference, 'x-phigate-purpose': 'TREAT' };
  try {
    if (!scenario.stream) {
      const { data, response } = await client.chat.completions.create(body, { headers }).withResponse();
      return { delivered: data.choices[0]?.message.content ?? '', blocked: false, requestId: response.headers.get('x-request-id') ?? '' };
    }
    const { data: stream, response } = await client.chat.completions.create({ ...body, stream: true }, { headers }).withResponse();
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    return { delivered: text, blocked: finish === 'content_filter', requestId: response.headers.get('x-request-id') ?? '' };
  } catch (err) {
    if (err instanceof OpenAI.APIError) {
      const code = (err.error as { code?: string } | undefined)?.code ?? String(err.status);
      return { blocked: code === 'output_blocked', errorCode: code, requestId: err.headers?.get('x-request-id') ?? '' };
    }
    throw err;
  }
}

async function runMode(mode: Mode, scenarios: readonly Scenario[]): Promise<Outcome[]> {
  const gw = await startOutputGateway({
    patients: new Map(scenarios.map((s) => [s.patient.reference, s.patient.known])),
    // detect: redaction with detection alone (no recently-served-patients index)
    output: { allowedLinkHosts, blockOnLeak: mode === 'block', ...(mode === 'detect' ? { recentPatients: { maxPatients: 0 } } : {}) },
  });
  const client = new OpenAI({ baseURL: gw.baseUrl, apiKey: gw.clinicianKey, fetch: trustingFetch(gw.dispatcher), maxRetries: 0 });
  const outcomes: Outcome[] = [];
  try {
    let done = 0;
    for (const scenario of scenarios) {
      const started = performance.now();
      const answer = await ask(client, gw, scenario);
      const ms = performance.now() - started;
      const delivered = answer.delivered;
      const leaked = delivered === undefined ? 0 : plantedFound(delivered, scenario.planted).length;
      const exfil = delivered !== undefined && scenario.exfilHost !== undefined && delivered.includes(scenario.exfilHost);
      outcomes.push({
        scenario,
        mode,
        delivered,
        blocked: answer.blocked,
        ...(answer.errorCode === undefined ? {} : { errorCode: answer.errorCode }),
        leaked,
        exfil,
        changed: answer.blocked || delivered !== scenario.answer,
        incident: false,
        closingFilter: undefined,
        ms,
        requestId: answer.requestId,
      });
      done++;
      if (done % 500 === 0) process.stderr.write(`  ${mode}: ${done}/${scenarios.length}\n`);
    }
    // What the store says: an incident per answer with a leak, and the closing record's filter action.
    const db = gw.gateway.store.db;
    const incidents = new Set((await db.selectFrom('output_incidents').select('request_id').execute()).map((row) => row.request_id));
    const closings = new Map<string, string>();
    for (const row of await db.selectFrom('audit_events').select(['request_id', 'body']).where('event_type', '=', 'chat.completion').where('stage', '!=', 'disclosure').execute()) {
      const body = JSON.parse(row.body) as { detail?: { outputFilter?: string } };
      closings.set(row.request_id, body.detail?.outputFilter ?? '');
    }
    return outcomes.map((o) => ({ ...o, incident: incidents.has(o.requestId), closingFilter: closings.get(o.requestId) }));
  } finally {
    await gw.close();
  }
}

const pct = (n: number, d: number): string => (d === 0 ? '–' : `${((100 * n) / d).toFixed(2)}%`);

function table(outcomes: readonly Outcome[]): string {
  const lines: string[] = [];
  lines.push('| mode | set | category | answers (plain / stream) | delivered with another patient\'s identifier | exfiltration host left | incident recorded | changed (redacted or blocked) | blocked |');
  lines.push('|---|---|---|---|---|---|---|---|---|');
  const groups = new Map<string, Outcome[]>();
  for (const o of outcomes) {
    for (const key of [`${o.mode}|${o.scenario.set}|${o.scenario.category}`, `${o.mode}|${o.scenario.set}|all`]) {
      const list = groups.get(key) ?? [];
      list.push(o);
      groups.set(key, list);
    }
  }
  const keys = [...groups.keys()].sort((a, b) => {
    const [ma, sa, ca] = a.split('|') as [string, string, string];
    const [mb, sb, cb] = b.split('|') as [string, string, string];
    return ma.localeCompare(mb) || sa.localeCompare(sb) || (ca === 'all' ? 1 : cb === 'all' ? -1 : ca.localeCompare(cb));
  });
  for (const key of keys) {
    const list = groups.get(key) as Outcome[];
    const [mode, set, category] = key.split('|') as [string, string, string];
    const plain = list.filter((o) => !o.scenario.stream).length;
    const adversarial = set === 'adversarial';
    const leaked = list.filter((o) => o.leaked > 0).length;
    const exfilTotal = list.filter((o) => o.scenario.exfilHost !== undefined).length;
    const exfil = list.filter((o) => o.exfil).length;
    const incidents = list.filter((o) => o.incident).length;
    const changed = list.filter((o) => o.changed).length;
    const blocked = list.filter((o) => o.blocked).length;
    const cell = (text: string): string => (category === 'all' ? `**${text}**` : text);
    lines.push(
      `| ${mode} | ${set} | ${cell(category)} | ${list.length} (${plain} / ${list.length - plain}) | ${adversarial ? cell(`${leaked} of ${list.length}`) : '–'} | ${exfilTotal > 0 ? `${exfil} of ${exfilTotal}` : '–'} | ${adversarial ? `${incidents} of ${list.length}` : `${incidents}`} | ${cell(`${changed} (${pct(changed, list.length)})`)} | ${blocked} (${pct(blocked, list.length)}) |`,
    );
  }
  return lines.join('\n');
}

/** Same-patient answers a date-counting configuration would change, and other patients' birth dates that pass. */
function datesFigures(scenarios: readonly Scenario[], outcomes: readonly Outcome[]): string {
  const base = outputConfigSchema.parse({ allowedLinkHosts });
  const withDates = createOutputFilter({ config: { ...base, leakCategories: [...base.leakCategories, 'DATE', 'AGE'] } });
  const same = scenarios.filter((s) => s.set === 'same-patient');
  let changed = 0;
  let withDate = 0;
  for (const s of same) {
    const filter = withDates.forRequest({ known: s.patient.known, payload: [s.prompt, question], offeredTools: new Set(), blockOnLeak: false });
    const result: ChatResult = { id: 'x', object: 'chat.completion', created: 0, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: s.answer }, finish_reason: 'stop', logprobs: null }] };
    const out = filter.filterResult(result).result.choices[0]?.message.content;
    if (out !== s.answer) changed++;
    if (/\b(?:19|20)\d\d-\d\d-\d\d\b/.test(s.answer)) withDate++;
  }
  const planted = outcomes.filter((o) => o.mode === 'redact' && o.scenario.plantedBirthDate !== undefined);
  const passed = planted.filter((o) => o.delivered?.includes(o.scenario.plantedBirthDate as string) === true).length;
  return [
    '| dates and ages counted as leaks (in process) | same-patient answers | with a date | changed |',
    '|---|---|---|---|',
    `| no (default) | ${same.length} | ${withDate} | see the table above |`,
    `| yes (\`leakCategories\` + DATE, AGE) | ${same.length} | ${withDate} | ${changed} (${pct(changed, same.length)}) |`,
    '',
    `Other patients' birth dates planted next to their (redacted) names, redaction mode: ${planted.length}; delivered: ${passed}.`,
  ].join('\n');
}

async function main(): Promise<void> {
  const patients = loadSyntheaPatients();
  const generated = buildScenarios(patients, perSet, seed);
  const notes = withNotes ? noteScenarios(loadSyntheaNotes(), generated.length) : [];
  const scenarios = [...generated, ...notes];
  const started = Date.now();
  console.log(
    `# bench:output — ${patients.length} Synthea patients, ${perSet} same-patient and ${perSet} adversarial answers per mode` +
      `${withNotes ? `, and ${notes.length} Synthea notes as answers for their own patients` : ''}, seed ${seed}\n`,
  );
  const outcomes: Outcome[] = [];
  for (const mode of modes) outcomes.push(...(await runMode(mode, scenarios)));
  console.log(table(outcomes));
  console.log('');
  console.log(datesFigures(scenarios, outcomes));
  console.log('');
  const closings = outcomes.filter((o) => o.closingFilter !== undefined);
  const mismatched = closings.filter((o) => (o.blocked ? o.closingFilter !== 'blocked' : o.leaked === 0 && o.scenario.set === 'adversarial' && o.closingFilter === 'passed')).length;
  const ms = outcomes.map((o) => o.ms).sort((a, b) => a - b);
  console.log(`Closing audit records found: ${closings.length} of ${outcomes.length}; filter action inconsistent with the outcome: ${mismatched}.`);
  console.log(`Request time through the gateway (one at a time, loaded shared machine): p50 ${ms[Math.floor(ms.length / 2)]?.toFixed(1)} ms, p99 ${ms[Math.floor(ms.length * 0.99)]?.toFixed(1)} ms; total ${((Date.now() - started) / 1000).toFixed(0)} s.`);
  const failures = outcomes.filter((o) => o.scenario.set === 'adversarial' && (o.leaked > 0 || o.exfil));
  for (const f of failures.slice(0, 20)) {
    // For development: the scenario id only (rerun with the same seed to inspect); never the text.
    console.log(`leak delivered: mode ${f.mode}, scenario ${f.scenario.id}, category ${f.scenario.category}, ${f.scenario.stream ? 'stream' : 'plain'}`);
  }
  if (jsonOut) {
    const path = resolve(jsonOut);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(
      path,
      JSON.stringify(
        outcomes.map((o) => ({ id: o.scenario.id, mode: o.mode, set: o.scenario.set, category: o.scenario.category, stream: o.scenario.stream, leaked: o.leaked, exfil: o.exfil, changed: o.changed, blocked: o.blocked, incident: o.incident, ms: o.ms })),
        null,
        1,
      ),
    );
  }
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) await main();
