// SPDX-License-Identifier: Apache-2.0
/**
 * L2-regularised logistic regression over sparse hashed features, trained by full-batch gradient
 * descent with Adam. Deterministic: no shuffling and no random initialisation, so the same rows
 * always give the same weights (the committed model can be rebuilt byte for byte).
 */
import type { SparseVector } from '../features.js';

export interface TrainingExample {
  readonly vector: SparseVector;
  /** 1 = injection, 0 = benign. */
  readonly label: 0 | 1;
  /** Loss weight; classes are balanced by default. */
  readonly weight?: number;
}

export interface LogisticOptions {
  readonly dims: number;
  /** L2 penalty per weight. */
  readonly l2: number;
  readonly epochs: number;
  readonly learningRate: number;
}

export interface LogisticModel {
  readonly weights: Float32Array;
  readonly bias: number;
}

export const defaultLogisticOptions: Omit<LogisticOptions, 'dims'> = { l2: 1e-4, epochs: 300, learningRate: 0.05 };

/** Dot product of a sparse vector with dense weights. */
export function dot(vector: SparseVector, weights: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < vector.indices.length; i++) sum += (weights[vector.indices[i] as number] as number) * (vector.values[i] as number);
  return sum;
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Trains on `examples`; each class carries half the total loss weight unless weights are given. */
export function trainLogistic(examples: readonly TrainingExample[], options: LogisticOptions): LogisticModel {
  const positives = examples.filter((e) => e.label === 1).length;
  const negatives = examples.length - positives;
  const classWeight = (label: 0 | 1): number => (label === 1 ? examples.length / (2 * Math.max(1, positives)) : examples.length / (2 * Math.max(1, negatives)));
  const sampleWeights = examples.map((e) => e.weight ?? classWeight(e.label));
  const total = sampleWeights.reduce((a, b) => a + b, 0);
  const weights = new Float32Array(options.dims);
  const m = new Float64Array(options.dims);
  const v = new Float64Array(options.dims);
  const grad = new Float64Array(options.dims);
  let bias = 0;
  let mb = 0;
  let vb = 0;
  const beta1 = 0.9;
  const beta2 = 0.999;
  const eps = 1e-8;
  // Only buckets that occur in the data ever get a gradient from the loss; the L2 term keeps the rest at zero.
  const touched = new Set<number>();
  for (const e of examples) for (const i of e.vector.indices) touched.add(i);
  const active = Uint32Array.from([...touched].sort((a, b) => a - b));
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    for (const i of active) grad[i] = 0;
    let gradBias = 0;
    examples.forEach((e, n) => {
      const p = sigmoid(dot(e.vector, weights) + bias);
      const g = ((p - e.label) * (sampleWeights[n] as number)) / total;
      gradBias += g;
      for (let k = 0; k < e.vector.indices.length; k++) {
        const i = e.vector.indices[k] as number;
        grad[i] = (grad[i] as number) + g * (e.vector.values[k] as number);
      }
    });
    const c1 = 1 - beta1 ** epoch;
    const c2 = 1 - beta2 ** epoch;
    for (const i of active) {
      const g = (grad[i] as number) + options.l2 * (weights[i] as number);
      m[i] = beta1 * (m[i] as number) + (1 - beta1) * g;
      v[i] = beta2 * (v[i] as number) + (1 - beta2) * g * g;
      weights[i] = (weights[i] as number) - (options.learningRate * ((m[i] as number) / c1)) / (Math.sqrt((v[i] as number) / c2) + eps);
    }
    mb = beta1 * mb + (1 - beta1) * gradBias;
    vb = beta2 * vb + (1 - beta2) * gradBias * gradBias;
    bias -= (options.learningRate * (mb / c1)) / (Math.sqrt(vb / c2) + eps);
  }
  return { weights, bias };
}
