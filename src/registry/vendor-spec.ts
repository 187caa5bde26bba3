// SPDX-License-Identifier: Apache-2.0
/**
 * The vendor record: a legal entity, the services it sells, its Business Associate Agreement
 * and its subprocessors. This schema is the one shape for the store, the admin API and the
 * policy-as-code YAML. Nothing here is PHI; it is governed configuration.
 *
 * A BAA is a contract (45 CFR 164.502(e), 164.504(e)); phigate records what the deployer signed
 * and enforces it: raw PHI only reaches a service the BAA lists, while the BAA is in force.
 */
import { z } from 'zod';

export const vendorIdPattern = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const vendorId = z.string().regex(vendorIdPattern, 'lowercase letters, digits, ".", "_" or "-"');
export const serviceId = vendorId;

/** A calendar date, YYYY-MM-DD (a BAA is in force through the whole expiry day, UTC). */
export const isoDay = z.iso.date();

export const baaStatuses = ['not_signed', 'signed', 'expired', 'terminated'] as const;
export type BaaStatus = (typeof baaStatuses)[number];

/**
 * Whether a service can be covered at all: `baa_available` (the vendor signs BAAs for it),
 * `none` (the vendor offers no BAA for it), `never` (consumer products: never eligible for PHI,
 * whatever is recorded).
 */
export const hipaaEligibilities = ['baa_available', 'none', 'never'] as const;
export type HipaaEligibility = (typeof hipaaEligibilities)[number];

export const serviceCategories = ['llm', 'healthcare_api', 'transcription', 'voice', 'messaging', 'vector_database', 'monitoring', 'consumer_app'] as const;
export type ServiceCategory = (typeof serviceCategories)[number];

export const serviceSchema = z.strictObject({
  id: serviceId,
  name: z.string().min(1).max(200),
  category: z.enum(serviceCategories),
  eligibility: z.enum(hipaaEligibilities),
  /** Conditions of eligibility, for the reviewer (e.g. "HIPAA-eligible services only, enterprise tier"). */
  notes: z.string().max(2000).optional(),
});
export type VendorService = z.infer<typeof serviceSchema>;

export const baaRecordSchema = z.strictObject({
  status: z.enum(baaStatuses).default('not_signed'),
  effectiveDate: isoDay.optional(),
  expiryDate: isoDay.optional(),
  /** Where the signed document lives (contract system id or URL) and its SHA-256, hex. */
  documentRef: z.string().min(1).max(1000).optional(),
  documentSha256: z.string().regex(/^[a-f0-9]{64}$/, '64 lowercase hex characters').optional(),
  /** Service ids of this vendor the BAA covers; PHI may reach only these. */
  coveredServices: z.array(serviceId).default([]),
  zeroDataRetention: z.boolean().default(false),
  noTrainingOnCustomerData: z.boolean().default(false),
  /** Regions the vendor may hold data in (e.g. "us-east-1", "us"); empty = not restricted by the BAA. */
  dataResidency: z.array(z.string().min(1).max(64)).default([]),
  /** Who recorded the signature (user id) and when (ISO time); set by the registry. */
  recordedBy: z.string().min(1).max(128).optional(),
  recordedAt: z.iso.datetime({ offset: true }).optional(),
});
export type BaaRecord = z.infer<typeof baaRecordSchema>;

export const subprocessorSchema = z.strictObject({
  name: z.string().min(1).max(200),
  purpose: z.string().max(500).optional(),
  /** Services of this vendor that pass data to the subprocessor. Empty = all of them. */
  services: z.array(serviceId).default([]),
  baa: z.strictObject({ status: z.enum(baaStatuses).default('not_signed'), expiryDate: isoDay.optional() }).prefault({}),
});
export type Subprocessor = z.infer<typeof subprocessorSchema>;

export const vendorSchema = z.strictObject({
  id: vendorId,
  legalName: z.string().min(1).max(300),
  services: z.array(serviceSchema).min(1),
  baa: baaRecordSchema.prefault({}),
  subprocessors: z.array(subprocessorSchema).default([]),
  /** True for entries from the shipped catalogue (their services and eligibility come from it). */
  catalogue: z.boolean().default(false),
});
export type Vendor = z.infer<typeof vendorSchema>;
