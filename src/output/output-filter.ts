// SPDX-License-Identifier: Apache-2.0
/**
 * The output filter of one deployment: the detection engine, its dictionaries and the leak
 * checker, built once (building the engine takes a few hundred milliseconds) and shared by every
 * request; `forRequest` makes the per-answer filter.
 */
import { createDeidEngine } from '../deid/detect.js';
import { loadDictionaries } from '../deid/dictionaries/index.js';
import type { OutputConfig } from './config-schema.js';
import { createLeakChecker, type LeakChecker, type OutputDetector } from './leak-check.js';
import { createRecentPatients, type RecentPatients } from './recent-patients.js';
import { createResponseFilter, type ResponseFilter, type ResponseFilterInput } from './response-filter.js';

export interface OutputFilter {
  readonly config: OutputConfig;
  readonly checker: LeakChecker;
  /** The patients this process served recently (config `output.recentPatients`). */
  readonly recent: RecentPatients;
  forRequest(input: Omit<ResponseFilterInput, 'config' | 'checker'>): ResponseFilter;
}

export interface OutputFilterOptions {
  readonly config: OutputConfig;
  readonly language?: 'en' | 'es';
  /** The detector to use; a new engine for `language` by default. */
  readonly detector?: OutputDetector;
}

/**
 * Builds the deployment's output filter.
 *
 * @example
 * const filter = createOutputFilter({ config: config.output, language: config.deid.language });
 * const answer = filter.forRequest({ known, payload, offeredTools, blockOnLeak: false });
 * const { result, blocked } = answer.filterResult(completion);
 */
export function createOutputFilter(options: OutputFilterOptions): OutputFilter {
  const language = options.language ?? 'en';
  const checker = createLeakChecker({
    detector: options.detector ?? createDeidEngine({ language }),
    dictionaries: loadDictionaries(language),
    leakCategories: options.config.leakCategories,
    language,
  });
  const recent = createRecentPatients({ maxPatients: options.config.recentPatients.maxPatients, ttlMs: options.config.recentPatients.ttlMs });
  return {
    config: options.config,
    checker,
    recent,
    forRequest: (input) => createResponseFilter({ ...input, config: options.config, checker }),
  };
}
