// SPDX-License-Identifier: Apache-2.0
/**
 * Whether a vendor's BAA covers one of its services at a given moment. Pure, so the routing
 * decision, the egress check at call time and the expiry warnings all read the same answer.
 *
 * A BAA covers a service only when: the service can be covered at all (not a consumer product),
 * the BAA is recorded as signed, its effective date has come, its expiry day has not passed
 * (UTC), it lists the service, and every subprocessor the service uses has a signed, unexpired
 * BAA of its own. Anything else is "not covered", with the first reason that applies.
 */
import type { Vendor } from './vendor-spec.js';

export type CoverageReason =
  | 'covered'
  | 'unknown_vendor'
  | 'unknown_service'
  | 'never_eligible'
  | 'no_baa_offered'
  | 'baa_not_signed'
  | 'baa_terminated'
  | 'baa_not_yet_effective'
  | 'baa_expired'
  | 'service_not_covered'
  | 'subprocessor_not_covered';

export interface Coverage {
  readonly covered: boolean;
  readonly reason: CoverageReason;
  /** Whole days until the BAA's expiry day ends (0 on the expiry day); undefined without an expiry date. */
  readonly daysToExpiry?: number;
}

const dayMs = 86_400_000;

/** Start of a YYYY-MM-DD day in UTC, in epoch ms. */
export function dayStart(day: string): number {
  return Date.parse(`${day}T00:00:00Z`);
}

/** Coverage of `serviceId` under `vendor`'s BAA at `now` (epoch ms). */
export function baaCoverage(vendor: Vendor | undefined, serviceId: string, now: number): Coverage {
  if (!vendor) return { covered: false, reason: 'unknown_vendor' };
  const service = vendor.services.find((s) => s.id === serviceId);
  if (!service) return { covered: false, reason: 'unknown_service' };
  if (service.eligibility === 'never') return { covered: false, reason: 'never_eligible' };
  if (service.eligibility === 'none') return { covered: false, reason: 'no_baa_offered' };
  const baa = vendor.baa;
  const daysToExpiry = baa.expiryDate === undefined ? undefined : Math.floor((dayStart(baa.expiryDate) + dayMs - 1 - now) / dayMs);
  const withDays = <T extends Coverage>(c: T): T => (daysToExpiry === undefined ? c : { ...c, daysToExpiry });
  if (baa.status === 'terminated') return withDays({ covered: false, reason: 'baa_terminated' });
  if (baa.status === 'expired') return withDays({ covered: false, reason: 'baa_expired' });
  if (baa.status !== 'signed') return withDays({ covered: false, reason: 'baa_not_signed' });
  if (baa.effectiveDate !== undefined && now < dayStart(baa.effectiveDate)) return withDays({ covered: false, reason: 'baa_not_yet_effective' });
  if (baa.expiryDate !== undefined && now >= dayStart(baa.expiryDate) + dayMs) return withDays({ covered: false, reason: 'baa_expired' });
  if (!baa.coveredServices.includes(serviceId)) return withDays({ covered: false, reason: 'service_not_covered' });
  for (const sub of vendor.subprocessors) {
    if (sub.services.length > 0 && !sub.services.includes(serviceId)) continue;
    const expired = sub.baa.expiryDate !== undefined && now >= dayStart(sub.baa.expiryDate) + dayMs;
    if (sub.baa.status !== 'signed' || expired) return withDays({ covered: false, reason: 'subprocessor_not_covered' });
  }
  return withDays({ covered: true, reason: 'covered' });
}
