// SPDX-License-Identifier: Apache-2.0
/**
 * Output filtering: other patients' identifiers in answers (names, numbers, FHIR patient
 * references; redacted or blocked, with an incident), links and images to hosts not allowed,
 * and tool calls the request did not offer.
 *
 * @module
 */
export { createAllowedIdentifiers } from './allowed.js';
export type { AllowedIdentifiers, AllowedSources } from './allowed.js';
export { categoryDetail, closingDetail, outputAuditEventTypes, outputLeakEvent, toolCallRemovedEvent } from './audit.js';
export type { OutputAuditSubject } from './audit.js';
export { defaultLeakCategories, outputConfigSchema } from './config-schema.js';
export type { OutputConfig } from './config-schema.js';
export { createLeakChecker, createLeakMemory, detectionView, redactLeaks, urlText } from './leak-check.js';
export type { Finding, LeakChecker, LeakCheckerOptions, LeakCheckInput, LeakMemory, OutputDetector, Verdict } from './leak-check.js';
export { constructHorizon, defuseOpenConstructs, isAllowedDestination, neutraliseLinks, openConstructStart } from './links.js';
export type { LinkPolicy, NeutralisedLinks } from './links.js';
export { createOutputFilter } from './output-filter.js';
export type { OutputFilter, OutputFilterOptions } from './output-filter.js';
export { createRecentPatients, identifierForms } from './recent-patients.js';
export type { RecentPatients, RecentPatientsOptions } from './recent-patients.js';
export { createResponseFilter, offeredTools, payloadTexts } from './response-filter.js';
export type { FilterAction, ResponseFilter, ResponseFilterInput } from './response-filter.js';
export { createSegmenter, forcedCutLookahead } from './segmenter.js';
export type { Segmenter, SegmenterOptions } from './segmenter.js';
export { isCity, sweepCodes, sweepNames, sweepReferences, sweepStreets } from './sweeps.js';
export { createTally, createTextFilter, leakCount } from './text-filter.js';
export type { FilterTally, TextFilter, TextFilterContext } from './text-filter.js';
