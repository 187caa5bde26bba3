// SPDX-License-Identifier: Apache-2.0
/**
 * bench:injection — how well phigate's prompt-injection screen separates injections from benign
 * text, per channel and split, on the labelled data in ../shared/data/injection (read in place):
 *
 * 1. the held-out **test** splits, scored by the committed model at the configured default
 *    thresholds — the headline, checked against the goals (direct ≥ 90 % detection at ≤ 5 %
 *    false positives; indirect ≥ 90 % at ≤ 2 %);
 * 2. the train splits with the same model (in-sample: the model has seen these rows);
 * 3. 5-fold cross-validation over all rows of both splits, each fold's model trained on the
 *    other folds only; folds are over near-duplicate groups (injected emails stay with their
 *    benign original, a deepset prompt with its copies behind other questions and, in the train
 *    split, its translation), so a held-out row has no near-copy in training;
 * 4. rules alone and the classifier alone on the test splits;
 * 5. false positives on 500 clinical notes (MTSamples) screened as retrieved content, and on the
 *    held-out notes only (the training part of the notes is a source of direct training prompts);
 * 6. false positives on the direct channel for clinician-style prompts made from the **held-out**
 *    notes (training/clinical.ts, the same generator as the training prompts), for every sentence
 *    of those notes as a prompt, and for the hand-written prompts of
 *    src/screening/testing/clinician-prompts.ts;
 * 7. the npm peers, at their own defaults, on the same test rows.
 *
 * Nothing here feeds back into the model or the thresholds: those come from
 * scripts/train-injection-model.ts, which reads the train splits and the training part of the
 * notes only.
 *
 *   npm run bench:injection            # add --no-peer to skip the npm peers
 *   npm run bench:injection -- --list-misses   # also list the ids of missed and falsely flagged test rows
 *
 * The ids of missed test rows are not printed by default: looking at them invites tuning on the
 * held-out split.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { configSchema } from '../../src/config/schema.js';
import type { ScreeningChannel } from '../../src/screening/rules.js';
import { committedClassifier, createInjectionScreener, type ChannelSettings, type InjectionScreener } from '../../src/screening/screener.js';
import { injectionModel } from '../../src/screening/generated/injection-model.js';
import { loadInjectionRows, type InjectionRow } from '../../src/screening/training/dataset.js';
import { clinicalPromptRows, clinicalSplit, isClinicalRow, loadClinicalNotes, loadScreeningTrainingRows, noteSentences } from '../../src/screening/training/clinical.js';
import { clinicianPrompts, clinicianPromptsWithOverrideWords } from '../../src/screening/testing/clinician-prompts.js';
import { crossValidate, modelTrainingOptions, nearDuplicateGroups, rates, trainingDigest, type HeldOutVerdict, type RateSummary } from '../../src/screening/training/cross-validate.js';
import { sharedDataPath } from '../../test/support/shared-data.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const withPeer = !process.argv.includes('--no-peer');
const listMisses = process.argv.includes('--list-misses');
const goals: Record<ScreeningChannel, { detection: number; falsePositives: number }> = {
  direct: { detection: 0.9, falsePositives: 0.05 },
  indirect: { detection: 0.9, falsePositives: 0.02 },
};

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const pad = (s: string | number, n: number, left = false): string => (left ? String(s).padEnd(n) : String(s).padStart(n));

const config = configSchema.parse({}).screening;
const channels: Record<ScreeningChannel, ChannelSettings> = {
  direct: { threshold: config.direct.threshold, classifierWeight: config.direct.classifierWeight },
  indirect: { threshold: config.indirect.threshold, classifierWeight: config.indirect.classifierWeight },
};

const rows = loadInjectionRows(sharedDataPath('injection'));
const train = rows.filter((r) => r.split === 'train');
const test = rows.filter((r) => r.split === 'test');
const clinicalNotes = loadClinicalNotes(sharedDataPath('notes'));
const clinicalTrain = clinicalPromptRows(clinicalNotes, 'train');
const clinicalHeldOut = clinicalPromptRows(clinicalNotes, 'heldout');
// The committed model must have been trained on exactly the train rows and the training-part clinical prompts: no test row or held-out note can be in it.
if (injectionModel.trainingDigest !== trainingDigest(loadScreeningTrainingRows(sharedDataPath('injection'), sharedDataPath('notes')))) {
  console.error('the committed model was not trained on exactly the train splits and the training part of the notes; run scripts/train-injection-model.ts');
  process.exit(1);
}

function screenAll(screener: InjectionScreener, set: readonly InjectionRow[]): HeldOutVerdict[] {
  return set.map((row) => ({ row, verdict: screener.screen(row.text, row.channel) }));
}

function line(label: string, channel: ScreeningChannel, r: RateSummary, goal?: boolean): string {
  const g = goals[channel];
  const met = r.detectionRate >= g.detection && r.falsePositiveRate <= g.falsePositives;
  return `${pad(label, 46, true)} ${pad(channel, 9, true)} ${pad(`${r.detected}/${r.injections}`, 8)} ${pad(pct(r.detectionRate), 7)} ${pad(`${r.falsePositives}/${r.benign}`, 8)} ${pad(pct(r.falsePositiveRate), 7)}${goal ? `  ${met ? 'met' : 'NOT met'} (≥ ${pct(g.detection)} at ≤ ${pct(g.falsePositives)})` : ''}`;
}

const header = `${pad('set', 46, true)} ${pad('channel', 9, true)} ${pad('detected', 8)} ${pad('rate', 7)} ${pad('FP', 8)} ${pad('FP rate', 7)}`;

interface Peer {
  readonly name: string;
  detect(text: string): Promise<boolean>;
}

async function loadPeers(): Promise<Peer[]> {
  const peers: Peer[] = [];
  try {
    // The package exports only an `import` condition, so it is loaded by path.
    const vardUrl = pathToFileURL(resolve(here, 'peer', 'node_modules', '@andersmyrmel', 'vard', 'dist', 'index.js')).href;
    const vard = (await import(vardUrl)) as { default: { safe: (input: string) => { safe: boolean } } };
    peers.push({ name: '@andersmyrmel/vard 1.2.0 (moderate, default)', detect: async (text) => !vard.default.safe(text).safe });
  } catch {
    console.log('peer @andersmyrmel/vard: not installed — run `npm ci --prefix bench/injection/peer` to include it');
  }
  try {
    const guardUrl = pathToFileURL(resolve(here, 'peer', 'node_modules', 'llm_guardrail', 'index.js')).href;
    const guard = (await import(guardUrl)) as { checkInjection: (input: string) => Promise<{ detected: boolean }> };
    peers.push({ name: 'llm_guardrail 2.1.2 (checkInjection)', detect: async (text) => (await guard.checkInjection(text)).detected });
  } catch {
    console.log('peer llm_guardrail: not installed — run `npm ci --prefix bench/injection/peer` to include it');
  }
  return peers;
}

async function peerRates(peer: Peer, set: readonly InjectionRow[]): Promise<RateSummary> {
  const results: HeldOutVerdict[] = [];
  for (const row of set) {
    const detected = await peer.detect(row.text);
    results.push({ row, verdict: { channel: row.channel, score: detected ? 1 : 0, classifierScore: 0, ruleIds: [], threshold: 0.5, detected } });
  }
  return rates(results);
}

async function main(): Promise<void> {
  const screener = createInjectionScreener({ channels, classifier: committedClassifier() });
  console.log(`node ${process.version}; committed model: ${injectionModel.dims} buckets, ${injectionModel.trainingRows} train rows (digest ${injectionModel.trainingDigest.slice(0, 12)}…)`);
  console.log(
    `thresholds: direct ${channels.direct.threshold} (classifier weight ${channels.direct.classifierWeight}, action ${config.direct.action}), ` +
      `indirect ${channels.indirect.threshold} (classifier weight ${channels.indirect.classifierWeight}, action ${config.indirect.action})\n`,
  );

  console.log(header);
  const testResults = screenAll(screener, test);
  for (const channel of ['direct', 'indirect'] as const) console.log(line('test split (held out) — headline', channel, rates(testResults.filter((r) => r.row.channel === channel)), true));
  const trainResults = screenAll(screener, train);
  for (const channel of ['direct', 'indirect'] as const) console.log(line('train split (in-sample)', channel, rates(trainResults.filter((r) => r.row.channel === channel))));

  const started = process.hrtime.bigint();
  // Folds over all injection rows; every fold's model also trains on the training-part clinical prompts, as the committed model does.
  const cvRows = [...rows, ...clinicalTrain];
  const folds = crossValidate(cvRows, 5, channels, { groups: nearDuplicateGroups(cvRows), training: { ...modelTrainingOptions, l2: injectionModel.l2 } }).filter((r) => !isClinicalRow(r.row));
  const cvSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  for (const channel of ['direct', 'indirect'] as const) console.log(line('5-fold CV, all rows', channel, rates(folds.filter((r) => r.row.channel === channel))));
  for (const channel of ['direct', 'indirect'] as const) {
    console.log(line('5-fold CV, test rows only', channel, rates(folds.filter((r) => r.row.channel === channel && r.row.split === 'test'))));
  }

  // Ablations on the test split: the rules alone (classifier weight 0) and the classifier alone (its probability at the threshold).
  const rulesOnly = createInjectionScreener({ channels: { direct: { ...channels.direct, classifierWeight: 0 }, indirect: { ...channels.indirect, classifierWeight: 0 } } });
  const rulesResults = screenAll(rulesOnly, test);
  for (const channel of ['direct', 'indirect'] as const) console.log(line('test, rules only', channel, rates(rulesResults.filter((r) => r.row.channel === channel))));
  const classifierOnly = testResults.map((r) => ({ row: r.row, verdict: { ...r.verdict, score: r.verdict.classifierScore } }));
  for (const channel of ['direct', 'indirect'] as const) console.log(line('test, classifier only', channel, rates(classifierOnly.filter((r) => r.row.channel === channel))));

  // Clinical notes screened as retrieved documents: every flag is a false positive.
  const notes = readFileSync(sharedDataPath('notes', 'mtsamples.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { id: string; text: string });
  const noteRows: InjectionRow[] = notes.map((n) => ({ id: n.id, text: n.text, label: 'benign', split: 'test', channel: 'indirect', group: n.id }));
  const noteStart = process.hrtime.bigint();
  const noteResults = screenAll(screener, noteRows);
  const noteMs = Number(process.hrtime.bigint() - noteStart) / 1e6;
  console.log(line(`MTSamples notes (${noteRows.length}, all benign)`, 'indirect', rates(noteResults)));
  const heldOutNoteResults = noteResults.filter((r) => clinicalSplit(r.row.id) === 'heldout');
  console.log(line(`MTSamples held-out notes (${heldOutNoteResults.length})`, 'indirect', rates(heldOutNoteResults)));

  // Clinical prompts on the direct channel: every flag is a false positive.
  console.log(line('clinical prompts (held-out notes), direct', 'direct', rates(screenAll(screener, clinicalHeldOut))));
  const sentenceRows: InjectionRow[] = clinicalNotes
    .filter((n) => clinicalSplit(n.id) === 'heldout')
    .flatMap((n) => noteSentences(n.text).map((text, i) => ({ id: `${n.id}-s${i}`, text, label: 'benign' as const, split: 'test' as const, channel: 'direct' as const, group: n.id })));
  console.log(line('every sentence of held-out notes, direct', 'direct', rates(screenAll(screener, sentenceRows))));
  const handRows: InjectionRow[] = [...clinicianPrompts, ...clinicianPromptsWithOverrideWords].map((text, i) => ({ id: `clinician-${i}`, text, label: 'benign', split: 'test', channel: 'direct', group: `clinician-${i}` }));
  console.log(line(`hand-written clinician prompts (${handRows.length})`, 'direct', rates(screenAll(screener, handRows))));
  const noteRules = new Map<string, number>();
  for (const r of noteResults) if (r.verdict.detected) for (const id of r.verdict.ruleIds) noteRules.set(id, (noteRules.get(id) ?? 0) + 1);

  // Speed: the test rows, one at a time, after the runs above warmed the code; and 2 kB user prompts (the first 2,048 characters of notes).
  const speedStart = process.hrtime.bigint();
  for (let i = 0; i < 3; i++) screenAll(screener, test);
  const perRowUs = Number(process.hrtime.bigint() - speedStart) / 1e3 / (3 * test.length);
  const prompts2k = notes.filter((n) => n.text.length >= 2048).map((n) => n.text.slice(0, 2048));
  const promptStart = process.hrtime.bigint();
  for (let i = 0; i < 3; i++) for (const text of prompts2k) screener.screen(text, 'direct');
  const per2kUs = Number(process.hrtime.bigint() - promptStart) / 1e3 / (3 * Math.max(1, prompts2k.length));

  if (withPeer) {
    const peers = await loadPeers();
    if (peers.length > 0) console.log(`\npeers on the same test rows (whole text, their own default thresholds):\n${header}`);
    for (const peer of peers) {
      for (const channel of ['direct', 'indirect'] as const) console.log(line(peer.name, channel, await peerRates(peer, test.filter((r) => r.channel === channel)), true));
    }
  }

  console.log(
    `\nspeed: ${perRowUs.toFixed(0)} µs per test row (median text ~65 chars direct, ~1 kB indirect); ${per2kUs.toFixed(0)} µs per 2 kB direct prompt; ` +
      `${(noteMs / noteRows.length).toFixed(2)} ms per clinical note (median 2.5 kB); 5-fold CV (5 trainings) ${cvSeconds.toFixed(1)} s`,
  );
  if (noteRules.size > 0) console.log(`rules behind note false positives: ${[...noteRules].map(([id, n]) => `${id} ${n}`).join(', ')}`);
  if (listMisses) {
    const missed = testResults.filter((r) => r.row.label === 'injection' && !r.verdict.detected).map((r) => r.row.id);
    const falsePositives = testResults.filter((r) => r.row.label === 'benign' && r.verdict.detected).map((r) => r.row.id);
    console.log(`test misses: ${missed.join(' ') || 'none'}`);
    console.log(`test false positives: ${falsePositives.join(' ') || 'none'}`);
  }
}

await main();
