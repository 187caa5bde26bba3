// SPDX-License-Identifier: Apache-2.0
/**
 * Model training and k-fold cross-validation shared by the training script and the benchmark.
 * Folds are made from row groups, so a held-out row never has a near-copy in training: an
 * injected email and its benign original stay together, and so do the deepset prompts that
 * contain one another (the data set builds many rows by putting an earlier prompt behind a
 * benign one) and the English and German versions of one prompt (see `nearDuplicateGroups`). The
 * fold of a group comes from a hash of its name, so the folds are the same on every run.
 */
import { createHash } from 'node:crypto';
import { createInjectionClassifier, quantiseWeights, type InjectionClassifier, type InjectionModelFile } from '../classifier.js';
import { featureVector } from '../features.js';
import { normaliseForScreening } from '../normalise.js';
import type { ScreeningChannel } from '../rules.js';
import { createInjectionScreener, type ChannelSettings, type ScreeningVerdict } from '../screener.js';
import { augmentDirectRows } from './augment.js';
import type { InjectionRow } from './dataset.js';
import { defaultLogisticOptions, type TrainingExample } from './logistic.js';
import { trainNbLogistic, type NbLogisticOptions } from './nb-logistic.js';

/** The settings the committed model is trained with (the L2 penalty is chosen by the training script from a grid). */
export const modelTrainingOptions: NbLogisticOptions = { ...defaultLogisticOptions, dims: 1 << 15, alpha: 1 };

/** L2 penalties the training script chooses from by grouped cross-validation on the train rows. */
export const l2Grid: readonly number[] = [1e-5, 3e-5, 1e-4, 3e-4];

/** Trains a model file on `rows` (every row given is used, plus generated variants of the direct rows). */
export function trainInjectionModel(rows: readonly InjectionRow[], options: NbLogisticOptions = modelTrainingOptions): InjectionModelFile {
  const texts = [...rows.map((row) => ({ text: row.text, label: row.label, weight: 1 })), ...augmentDirectRows(rows)];
  // Each class carries half the loss, counting a variant like a row.
  const classTotal = { injection: 0, benign: 0 };
  for (const t of texts) classTotal[t.label] += t.weight;
  const total = classTotal.injection + classTotal.benign;
  const examples: TrainingExample[] = texts.map((t) => ({
    vector: featureVector(normaliseForScreening(t.text).deobfuscated, { dims: options.dims }),
    label: t.label === 'injection' ? 1 : 0,
    weight: (t.weight * total) / (2 * Math.max(1e-9, classTotal[t.label])),
  }));
  const model = trainNbLogistic(examples, options);
  const { scale, bytes } = quantiseWeights(model.weights);
  return {
    format: 2,
    dims: options.dims,
    bias: Number(model.bias.toFixed(6)),
    scale: Number(scale.toPrecision(8)),
    weights: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
    trainingDigest: trainingDigest(rows),
    trainingRows: rows.length,
    l2: options.l2,
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

function comparable(text: string): string {
  return text
    .toLowerCase()
    .replace(/\\[nrt]?/g, ' ')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** Shortest prompt whose occurrence inside another row makes the two one group. */
const minContainedChars = 15;
/** In the deepset train split, row n (n < 180) and row n + 180 are the English and German versions of one prompt. */
const deepsetTranslationOffset = 180;

/**
 * Cross-validation groups for `rows`: each row's own `group`, merged (union-find) with every
 * direct row whose text contains it or that it contains (ignoring case and punctuation; 15+
 * characters), and with its translation in the deepset train split. Without this, a held-out
 * prompt would usually have a copy of itself, behind some other question, in the training folds,
 * and cross-validation would measure memory rather than detection.
 */
export function nearDuplicateGroups(rows: readonly InjectionRow[]): Map<string, string> {
  const parent = new Map<string, string>();
  const find = (id: string): string => {
    let root = id;
    while (parent.get(root) !== undefined && parent.get(root) !== root) root = parent.get(root) as string;
    parent.set(id, root);
    return root;
  };
  const union = (a: string, b: string): void => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(ra, rb);
  };
  for (const row of rows) union(row.id, `group:${row.group}`);
  const direct = rows.filter((row) => row.channel === 'direct');
  const texts = direct.map((row) => comparable(row.text));
  for (let i = 0; i < direct.length; i++) {
    const inner = texts[i] as string;
    if (inner.length < minContainedChars) continue;
    for (let j = 0; j < direct.length; j++) if (i !== j && (texts[j] as string).includes(inner)) union((direct[i] as InjectionRow).id, (direct[j] as InjectionRow).id);
  }
  const ids = new Set(rows.map((row) => row.id));
  for (const row of direct) {
    const match = /^deepset-train-(\d+)$/.exec(row.id);
    const n = match ? Number(match[1]) : Number.NaN;
    if (n < deepsetTranslationOffset) {
      const twin = `deepset-train-${String(n + deepsetTranslationOffset).padStart(4, '0')}`;
      if (ids.has(twin)) union(row.id, twin);
    }
  }
  return new Map(rows.map((row) => [row.id, find(row.id)]));
}

export interface HeldOutVerdict {
  readonly row: InjectionRow;
  readonly verdict: ScreeningVerdict;
}

export interface CrossValidationOptions {
  /** Training settings of each fold's model. */
  readonly training?: NbLogisticOptions;
  /** The group of a row (rows of one group share a fold); `row.group` when absent. */
  readonly groups?: ReadonlyMap<string, string>;
  /** Salt of the fold hash, for repeated cross-validation with other splits. */
  readonly salt?: string;
}

/** k-fold over groups: calls `visit` with each fold's classifier (trained on the other folds only) and the fold's rows. */
export function forEachFold(
  rows: readonly InjectionRow[],
  k: number,
  visit: (classifier: InjectionClassifier, heldOut: readonly InjectionRow[]) => void,
  options: CrossValidationOptions = {},
): void {
  const groupOf = (row: InjectionRow): string => `${options.salt ?? ''}${options.groups?.get(row.id) ?? row.group}`;
  for (let fold = 0; fold < k; fold++) {
    const training = rows.filter((row) => foldOf(groupOf(row), k) !== fold);
    const heldOut = rows.filter((row) => foldOf(groupOf(row), k) === fold);
    if (heldOut.length === 0) continue;
    visit(createInjectionClassifier(trainInjectionModel(training, options.training ?? modelTrainingOptions)), heldOut);
  }
}

/**
 * k-fold cross-validation: for each fold, a model trained on the other folds only screens the
 * fold's rows on their own channel.
 */
export function crossValidate(
  rows: readonly InjectionRow[],
  k: number,
  channels: Readonly<Record<ScreeningChannel, ChannelSettings>>,
  options: CrossValidationOptions = {},
): HeldOutVerdict[] {
  const out: HeldOutVerdict[] = [];
  forEachFold(
    rows,
    k,
    (classifier, heldOut) => {
      const screener = createInjectionScreener({ channels, classifier });
      for (const row of heldOut) out.push({ row, verdict: screener.screen(row.text, row.channel) });
    },
    options,
  );
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
