// SPDX-License-Identifier: Apache-2.0
/**
 * Model training and k-fold cross-validation shared by the training script and the benchmark.
 * Folds are made from row groups (an injected email and its benign original stay together), so
 * a held-out row's email was never seen in training; the fold of a group comes from a hash of
 * its name, so the folds are the same on every run.
 */
import { createHash } from 'node:crypto';
import { createInjectionClassifier, quantiseWeights, type InjectionModelFile } from '../classifier.js';
import { featureVector } from '../features.js';
import { normaliseForScreening } from '../normalise.js';
import type { ScreeningChannel } from '../rules.js';
import { createInjectionScreener, type ChannelSettings, type ScreeningVerdict } from '../screener.js';
import type { InjectionRow } from './dataset.js';
import { defaultLogisticOptions, trainLogistic, type LogisticOptions } from './logistic.js';

/** The settings the committed model is trained with. */
export const modelTrainingOptions: LogisticOptions = { ...defaultLogisticOptions, dims: 1 << 15 };

/** Trains a model file on `rows` (every row given is used). */
export function trainInjectionModel(rows: readonly InjectionRow[], options: LogisticOptions = modelTrainingOptions): InjectionModelFile {
  const examples = rows.map((row) => ({
    vector: featureVector(normaliseForScreening(row.text).deobfuscated, { dims: options.dims }),
    label: row.label === 'injection' ? (1 as const) : (0 as const),
  }));
  const model = trainLogistic(examples, options);
  const { scale, bytes } = quantiseWeights(model.weights);
  return {
    format: 1,
    dims: options.dims,
    bias: Number(model.bias.toFixed(6)),
    scale: Number(scale.toPrecision(8)),
    weights: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
    trainingDigest: trainingDigest(rows),
    trainingRows: rows.length,
  };
}

/** SHA-256 over the ids, labels and texts of `rows`, in id order. */
export function trainingDigest(rows: readonly InjectionRow[]): string {
  const hash = createHash('sha256');
  for (const row of [...rows].sort((a, b) => (a.id < b.id ? -1 : 1))) hash.update(`${row.id}\t${row.label}\t${row.text}\n`);
  return hash.digest('hex');
}

/** The fold (0..k-1) of a row group. */
export function foldOf(group: string, k: number): number {
  return createHash('sha256').update(group).digest().readUInt32BE(0) % k;
}

export interface HeldOutVerdict {
  readonly row: InjectionRow;
  readonly verdict: ScreeningVerdict;
}

/**
 * k-fold cross-validation: for each fold, a model trained on the other folds only screens the
 * fold's rows on their own channel.
 */
export function crossValidate(
  rows: readonly InjectionRow[],
  k: number,
  channels: Readonly<Record<ScreeningChannel, ChannelSettings>>,
  options: LogisticOptions = modelTrainingOptions,
): HeldOutVerdict[] {
  const out: HeldOutVerdict[] = [];
  for (let fold = 0; fold < k; fold++) {
    const training = rows.filter((row) => foldOf(row.group, k) !== fold);
    const heldOut = rows.filter((row) => foldOf(row.group, k) === fold);
    if (heldOut.length === 0) continue;
    const screener = createInjectionScreener({ channels, classifier: createInjectionClassifier(trainInjectionModel(training, options)) });
    for (const row of heldOut) out.push({ row, verdict: screener.screen(row.text, row.channel) });
  }
  return out;
}

export interface RateSummary {
  readonly injections: number;
  readonly benign: number;
  readonly detected: number;
  readonly falsePositives: number;
  /** detected / injections. */
  readonly detectionRate: number;
  /** falsePositives / benign. */
  readonly falsePositiveRate: number;
}

/** Detection and false-positive rates of verdicts at `threshold` (each verdict's own threshold when absent). */
export function rates(results: readonly HeldOutVerdict[], threshold?: number): RateSummary {
  let injections = 0;
  let benign = 0;
  let detected = 0;
  let falsePositives = 0;
  for (const { row, verdict } of results) {
    const flagged = verdict.score >= (threshold ?? verdict.threshold);
    if (row.label === 'injection') {
      injections++;
      if (flagged) detected++;
    } else {
      benign++;
      if (flagged) falsePositives++;
    }
  }
  return {
    injections,
    benign,
    detected,
    falsePositives,
    detectionRate: injections === 0 ? 0 : detected / injections,
    falsePositiveRate: benign === 0 ? 0 : falsePositives / benign,
  };
}

/** The lowest score threshold whose false-positive rate on `results` is at most `maxFalsePositiveRate`. */
export function thresholdFor(results: readonly HeldOutVerdict[], maxFalsePositiveRate: number): number {
  const benignScores = results.filter((r) => r.row.label === 'benign').map((r) => r.verdict.score).sort((a, b) => b - a);
  const allowed = Math.floor(benignScores.length * maxFalsePositiveRate);
  // Just above the (allowed+1)-th highest benign score, so at most `allowed` benign rows reach it.
  const boundary = benignScores[allowed];
  return boundary === undefined ? 0 : Math.min(0.99, Math.ceil((boundary + 1e-9) * 100) / 100);
}
