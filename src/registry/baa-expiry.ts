// SPDX-License-Identifier: Apache-2.0
/**
 * BAA expiry: warns before a signed BAA ends and records it as `expired` once it has.
 *
 * Enforcement does not wait for this check: `baaCoverage` refuses past the expiry day at call
 * time, so PHI stops at midnight UTC after the expiry day whether or not the check has run. The
 * check is what people see: for each signed BAA it warns once per threshold (30 and 7 days by
 * default) with an audit event `vendor.baa_expiring` and a log line with ids only, and after the
 * expiry day it sets the status to `expired` (audited `vendor.baa_expired`), which bumps the
 * registry revision so every instance's snapshot shows the lapse.
 *
 * Warnings are marked in `vendor_baa_warnings` keyed by vendor, expiry day and threshold, so
 * several instances running the check at once warn once, and a renewed BAA (a new expiry day)
 * warns again. A first run inside the 7-day window sends the 7-day warning only and marks the
 * 30-day one as passed.
 *
 * Not routed through the break-glass alert channels: their outbox rows belong to break-glass
 * sessions and their mail and syslog formats name break-glass. Point log alerting at the
 * `baa expiring` / `baa expired` lines, or read the audit events.
 */
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../kernel/clock.js';
import { isGatewayError } from '../kernel/errors.js';
import { uuidv7 } from '../kernel/ids.js';
import type { VendorRepo } from '../store/repos/vendor-repo.js';
import type { Logger } from '../telemetry/logger.js';
import { daysUntilExpiry, vendorAuditEvent, vendorEventTypes } from './vendors.js';

/** Days before expiry at which a warning goes out. */
export const defaultExpiryThresholds: readonly number[] = [30, 7];

export interface BaaExpiryDeps {
  readonly repo: Pick<VendorRepo, 'list' | 'upsert' | 'markWarningSent'>;
  readonly audit: Pick<AuditWriter, 'append'>;
  readonly clock: Clock;
  readonly instanceId: string;
  readonly logger?: Pick<Logger, 'warn'> | undefined;
  /** Warning thresholds in days (default 30 and 7). */
  readonly thresholds?: readonly number[];
}

export interface BaaExpiryWarning {
  readonly vendorId: string;
  readonly expiryDate: string;
  readonly thresholdDays: number;
  readonly daysToExpiry: number;
}

export interface BaaExpiryResult {
  /** The request id the run's audit events carry. */
  readonly requestId: string;
  readonly checked: number;
  readonly warnings: readonly BaaExpiryWarning[];
  /** Vendors whose BAA this run recorded as expired. */
  readonly expired: readonly { readonly vendorId: string; readonly expiryDate: string }[];
  /** Vendors changed by someone else during the run; the next run looks again. */
  readonly skipped: readonly string[];
}

/** One pass over the registry at the clock's now. Safe to run on several instances at once. */
export async function runBaaExpiryCheck(deps: BaaExpiryDeps): Promise<BaaExpiryResult> {
  const now = deps.clock.now();
  const requestId = `baa-expiry-${uuidv7(now)}`;
  const thresholds = [...new Set(deps.thresholds ?? defaultExpiryThresholds)].filter((t) => Number.isInteger(t) && t >= 0).sort((a, b) => a - b);
  const warnings: BaaExpiryWarning[] = [];
  const expired: { vendorId: string; expiryDate: string }[] = [];
  const skipped: string[] = [];
  const records = await deps.repo.list();
  let checked = 0;

  for (const record of records) {
    const { vendor } = record;
    const { baa } = vendor;
    if (baa.status !== 'signed' || baa.expiryDate === undefined) continue;
    checked++;
    const expiryDate = baa.expiryDate;
    const left = daysUntilExpiry(expiryDate, deps.clock.now());

    if (left < 0) {
      try {
        const saved = await deps.repo.upsert({ ...vendor, baa: { ...baa, status: 'expired' } }, record.version);
        await deps.audit.append(
          vendorAuditEvent({
            type: vendorEventTypes.baaExpired,
            now: deps.clock.now(),
            instance: deps.instanceId,
            requestId,
            vendorId: vendor.id,
            change: { statusBefore: 'signed', status: 'expired', expiryDate, version: saved.record.version },
          }),
        );
        deps.logger?.warn({ vendor: vendor.id, expiryDate, requestId }, 'baa expired');
        expired.push({ vendorId: vendor.id, expiryDate });
      } catch (err) {
        // Someone amended, renewed or terminated it meanwhile: their record stands.
        if (!isGatewayError(err, 'vendor_version_conflict') && !isGatewayError(err, 'vendor_not_found')) throw err;
        skipped.push(vendor.id);
      }
      continue;
    }

    const due = thresholds.filter((t) => left <= t);
    const tightest = due[0];
    if (tightest === undefined) continue;
    // Mark the wider thresholds as passed too, so a late first run never sends "30 days" after "7 days".
    let announce = false;
    for (const threshold of due) {
      const first = await deps.repo.markWarningSent(vendor.id, expiryDate, threshold);
      if (threshold === tightest) announce = first;
    }
    if (!announce) continue;
    await deps.audit.append(
      vendorAuditEvent({
        type: vendorEventTypes.baaExpiring,
        now: deps.clock.now(),
        instance: deps.instanceId,
        requestId,
        vendorId: vendor.id,
        change: { expiryDate, thresholdDays: tightest, daysToExpiry: left, coveredServices: baa.coveredServices },
      }),
    );
    deps.logger?.warn({ vendor: vendor.id, expiryDate, thresholdDays: tightest, daysToExpiry: left, requestId }, 'baa expiring');
    warnings.push({ vendorId: vendor.id, expiryDate, thresholdDays: tightest, daysToExpiry: left });
  }
  return { requestId, checked, warnings, expired, skipped };
}

/**
 * Runs the check soon after start and then every `intervalMs` (hourly by default), on a timer
 * that does not keep the process alive. Runs never overlap; failures go to `onError`. `stop()`
 * resolves once a run in progress has finished, so the store can close after it.
 */
export function scheduleBaaExpiryChecks(run: () => Promise<unknown>, onError: (err: unknown) => void, intervalMs = 3_600_000): { stop(): Promise<void> } {
  let current: Promise<void> | undefined;
  let stopped = false;
  const tick = (): void => {
    if (current !== undefined || stopped) return;
    current = run()
      .then(() => undefined, onError)
      .finally(() => {
        current = undefined;
      });
  };
  const first = setTimeout(tick, Math.min(intervalMs, 5_000));
  first.unref();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
      await current;
    },
  };
}
