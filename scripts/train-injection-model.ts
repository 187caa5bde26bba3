// SPDX-License-Identifier: Apache-2.0
/**
 * Trains the prompt-injection classifier from the **train splits only** of the labelled data in
 * ../shared/data/injection, plus benign clinician-style prompts made from the **training part**
 * of the MTSamples notes in ../shared/data/notes (training/clinical.ts; notes split by a hash of
 * their id, the held-out part is never read here), both read in place, and writes the committed model,
 * src/screening/generated/injection-model.ts. Training is deterministic (full-batch, no random
 * state), so the same data gives a byte-identical file.
 *
 *   npx tsx scripts/train-injection-model.ts            # write the model
 *   npx tsx scripts/train-injection-model.ts --check    # fail if the committed model differs
 *
 * Model selection uses the train rows only, by 5-fold cross-validation over near-duplicate groups,
 * repeated three times with other fold assignments and pooled
 * (training/cross-validate.ts `nearDuplicateGroups`: a prompt, its copies behind other questions
 * and its translation share a fold):
 *
 * 1. the L2 penalty is chosen from `l2Grid` by the classifier's own out-of-fold detection on the
 *    direct train rows at the lowest threshold with ≤ 2.5 % false positives on the deepset train
 *    prompts **and** ≤ 1 % on the clinical train prompts (ties go to the stronger penalty);
 * 2. the script then prints the out-of-fold figures of the whole screen (rules + classifier) at
 *    the configured thresholds and the thresholds they suggest (direct: both budgets above;
 *    indirect: at most 1 % false positives on third-party emails); the defaults in
 *    src/screening/config-schema.ts were set from these.
 *
 * The test splits and the held-out notes are not read.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { screeningConfigSchema } from '../src/screening/config-schema.js';
import type { ScreeningChannel } from '../src/screening/rules.js';
import { isClinicalRow, loadScreeningTrainingRows } from '../src/screening/training/clinical.js';
import {
  crossValidate,
  forEachFold,
  l2Grid,
  modelTrainingOptions,
  nearDuplicateGroups,
  rates,
  thresholdFor,
  trainInjectionModel,
  type HeldOutVerdict,
} from '../src/screening/training/cross-validate.js';
import { createInjectionScreener } from '../src/screening/screener.js';
import { sharedDataPath } from '../test/support/shared-data.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const outFile = resolve(root, 'src', 'screening', 'generated', 'injection-model.ts');
const check = process.argv.includes('--check');

const rows = loadScreeningTrainingRows(sharedDataPath('injection'), sharedDataPath('notes'));
const groups = nearDuplicateGroups(rows);
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** False-positive budgets of the direct channel: deepset's benign train prompts, and the clinical train prompts. */
const directBudget = { deepset: 0.025, clinical: 0.01 };
/** The lowest threshold within both direct budgets (each measured on its own benign rows). */
const directThreshold = (results: readonly HeldOutVerdict[]): number =>
  Math.max(
    thresholdFor(results.filter((r) => !isClinicalRow(r.row)), directBudget.deepset),
    thresholdFor(results.filter((r) => isClinicalRow(r.row)), directBudget.clinical),
  );

// 1. The L2 penalty, by the classifier's own out-of-fold detection on direct train rows within both budgets.
/** Fold-hash salts: each repetition of the 5-fold split puts the groups in other folds; results are pooled. */
const repetitions = ['', 'repeat-1:', 'repeat-2:'];
let chosen = { l2: modelTrainingOptions.l2, detection: -1 };
for (const l2 of l2Grid) {
  const results: HeldOutVerdict[] = [];
  for (const salt of repetitions) {
    forEachFold(
      rows,
      5,
      (classifier, heldOut) => {
        // The classifier's probability as the screen computes it (whole text and each sentence), without the rules.
        const screener = createInjectionScreener({ channels: { direct: { threshold: 1, classifierWeight: 1 }, indirect: { threshold: 1, classifierWeight: 1 } }, classifier });
        for (const row of heldOut) {
          if (row.channel !== 'direct') continue;
          const verdict = screener.screen(row.text, 'direct');
          results.push({ row, verdict: { ...verdict, score: verdict.classifierScore } });
        }
      },
      { groups, salt, training: { ...modelTrainingOptions, l2 } },
    );
  }
  const at = directThreshold(results);
  const detection = rates(results, at).detectionRate;
  const clinicalFp = rates(results.filter((r) => isClinicalRow(r.row)), at).falsePositiveRate;
  const deepsetFp = rates(results.filter((r) => !isClinicalRow(r.row)), at).falsePositiveRate;
  console.log(
    `l2 ${l2}: classifier alone, direct train rows, ${repetitions.length}× grouped 5-fold: detection ${pct(detection)} at ${at} ` +
      `(deepset FP ${pct(deepsetFp)} ≤ ${pct(directBudget.deepset)}, clinical FP ${pct(clinicalFp)} ≤ ${pct(directBudget.clinical)})`,
  );
  if (detection >= chosen.detection) chosen = { l2, detection };
}
const trainingOptions = { ...modelTrainingOptions, l2: chosen.l2 };
console.log(`chosen l2 ${chosen.l2}`);
const model = trainInjectionModel(rows, trainingOptions);

const lines: string[] = [];
for (let i = 0; i < model.weights.length; i += 116) lines.push(`  '${model.weights.slice(i, i + 116)}'`);
const source = `// SPDX-License-Identifier: Apache-2.0
// Generated by scripts/train-injection-model.ts from the train splits of ../shared/data/injection
// and clinical prompts from the training part of ../shared/data/notes (provenance and licences in
// ../SOURCES.md). Do not edit.
import type { InjectionModelFile } from '../classifier.js';

/** Naive-Bayes-scaled logistic regression over ${model.dims} hashed n-gram buckets, trained on ${model.trainingRows} rows (L2 ${chosen.l2}, chosen by grouped cross-validation). */
export const injectionModel: InjectionModelFile = {
  format: ${model.format},
  dims: ${model.dims},
  bias: ${model.bias},
  scale: ${model.scale},
  trainingDigest: '${model.trainingDigest}',
  trainingRows: ${model.trainingRows},
  l2: ${model.l2},
  weights: [
${lines.join(',\n')},
  ].join(''),
};
`;

if (check) {
  if (readFileSync(outFile, 'utf8') !== source) {
    console.error(`${outFile} differs from a fresh training run; run scripts/train-injection-model.ts`);
    process.exit(1);
  }
  console.log('committed injection model matches a fresh training run');
} else {
  writeFileSync(outFile, source);
  console.log(`wrote ${outFile} (${model.trainingRows} train rows, ${model.dims} buckets, digest ${model.trainingDigest.slice(0, 16)}…)`);
}

// Out-of-fold figures on the train rows, with the configured defaults and the suggested thresholds.
const defaults = screeningConfigSchema.parse({});
const settings = {
  direct: { threshold: defaults.direct.threshold, classifierWeight: defaults.direct.classifierWeight },
  indirect: { threshold: defaults.indirect.threshold, classifierWeight: defaults.indirect.classifierWeight },
};
const heldOut = repetitions.flatMap((salt) => crossValidate(rows, 5, settings, { groups, salt, training: trainingOptions }));
const suggest: Record<ScreeningChannel, (results: readonly HeldOutVerdict[]) => number> = {
  direct: directThreshold,
  indirect: (results) => thresholdFor(results, 0.01),
};
const describe = (results: readonly HeldOutVerdict[], threshold?: number): string => {
  const all = rates(results, threshold);
  const parts = [`detection ${pct(all.detectionRate)}, false positives ${pct(all.falsePositiveRate)}`];
  if (results.some((r) => isClinicalRow(r.row))) {
    const deepset = rates(results.filter((r) => !isClinicalRow(r.row)), threshold);
    const clinical = rates(results.filter((r) => isClinicalRow(r.row)), threshold);
    parts.push(`deepset FP ${deepset.falsePositives}/${deepset.benign} = ${pct(deepset.falsePositiveRate)}, clinical FP ${clinical.falsePositives}/${clinical.benign} = ${pct(clinical.falsePositiveRate)}`);
  }
  return parts.join('; ');
};
for (const channel of ['direct', 'indirect'] as const) {
  const results = heldOut.filter((r) => r.row.channel === channel);
  const suggested = suggest[channel](results);
  console.log(
    `${channel.padEnd(8)} train ${repetitions.length}× grouped 5-fold: threshold ${settings[channel].threshold} → ${describe(results)}\n` +
      `${' '.repeat(9)}suggested ${suggested} → ${describe(results, suggested)}`,
  );
}
