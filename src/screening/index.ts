// SPDX-License-Identifier: Apache-2.0
/** Prompt-injection screening: normalisation, rules, the linear classifier and the per-channel screen. */
export { normaliseForScreening, type NormalisedText, type NormalisationSignals } from './normalise.js';
export { injectionRules, matchRules, type InjectionRule, type RuleHit, type ScreeningChannel } from './rules.js';
export { createInjectionClassifier, type InjectionClassifier, type InjectionModelFile } from './classifier.js';
export { createInjectionScreener, committedClassifier, type InjectionScreener, type ScreeningVerdict, type ChannelSettings } from './screener.js';
export { screeningConfigSchema, type ScreeningConfig } from './config-schema.js';
