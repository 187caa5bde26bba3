// SPDX-License-Identifier: Apache-2.0
/**
 * The `output` section of the configuration: what the output filter treats as another
 * patient's identifier, how it acts on one, which link hosts answers may point to, and what
 * happens to tool calls the request did not offer. Imported by config/schema.ts; depends on zod
 * and the de-identification vocabulary only, so the configuration module stays at the bottom of
 * the dependency graph.
 */
import { z } from 'zod';
import { phiCategories, type PhiCategory } from '../deid/types.js';
import { parseToken } from '../deid/tokens.js';

/**
 * Categories that identify a person across patients. Dates and ages are left out on purpose: a
 * date or an age alone rarely singles out another patient, and answers are full of them (visit,
 * lab and medication dates); `bench/output` measures what counting them would cost. Locations
 * count only at street level (a number and a word: "12 Elm Street", "Apt 4B", "PO Box 7"); a
 * town, a state or a ZIP code alone does not. Organisations and professions are not identifiers.
 */
export const defaultLeakCategories: readonly PhiCategory[] = [
  'NAME', 'LOCATION', 'PHONE', 'FAX', 'EMAIL', 'SSN', 'MRN', 'HEALTH_PLAN', 'ACCOUNT', 'LICENSE',
  'VEHICLE', 'DEVICE', 'URL', 'IP', 'BIOMETRIC', 'ID',
];

/** A host name as `URL.hostname` writes it: lower-case labels, no scheme, port or path. */
const hostName = z
  .string()
  .regex(/^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/, 'a lower-case host name such as kb.example.org (no scheme, port or path)');

/** A replacement written into answers: never a de-identification token, never markdown link syntax. */
const marker = z
  .string()
  .min(1)
  .max(64)
  .refine((value) => parseToken(value) === undefined, 'must not look like a de-identification token such as [NAME_1]')
  .refine((value) => !/[()<>]|\]\s*\(|:\/\//.test(value), 'must not contain link or HTML syntax');

export const outputConfigSchema = z
  .strictObject({
    /** Turns the filter off entirely (answers pass as the vendor gave them). Keep it on. */
    enabled: z.boolean().default(true),
    /** Categories that count as another patient's identifier when they are not this request's own. */
    leakCategories: z.array(z.enum(phiCategories)).default([...defaultLeakCategories]),
    /** Block the whole answer instead of redacting, for every use case (a use case can also ask for it). */
    blockOnLeak: z.boolean().default(false),
    /** Written in place of a redacted identifier. */
    redactionMarker: marker.default('[REDACTED]'),
    /** Written in place of a link, image or URL to a host not listed below. */
    linkMarker: marker.default('[link removed]'),
    /**
     * Hosts answers may link to or load images from (exact, or any sub-domain of a listed host).
     * List only hosts you trust with whatever an answer could carry in a URL. Empty: none.
     */
    allowedLinkHosts: z.array(hostName).default([]),
    /**
     * Patients this gateway process served recently: keyed hashes of their identifiers' canonical
     * forms, in memory only (random per-process key, nothing stored), so an answer for another
     * patient that repeats them is caught whatever their spelling (recent-patients.ts).
     * `maxPatients: 0` turns it off (detection only).
     */
    recentPatients: z
      .strictObject({
        maxPatients: z.number().int().min(0).max(1_000_000).default(50_000),
        ttlMs: z.number().int().min(60_000).max(7 * 86_400_000).default(86_400_000),
      })
      .prefault({}),
    /** A tool call naming a tool the request did not offer: `remove` it from the answer, or `block` the answer. */
    unofferedToolCalls: z.enum(['remove', 'block']).default('remove'),
    /**
     * Longest stretch of a streamed answer held back while the filter looks for the end of a
     * sentence (UTF-16 code units). Longer runs without one are cut where no identifier or link is.
     */
    streamWindowChars: z.number().int().min(256).max(65_536).default(2048),
  })
  .prefault({});

export type OutputConfig = z.infer<typeof outputConfigSchema>;
