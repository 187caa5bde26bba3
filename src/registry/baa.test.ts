// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { baaCoverage, dayStart, type CoverageReason } from './baa.js';
import { vendorSchema, type Vendor } from './vendor-spec.js';

/** A vendor with one BAA-eligible service, one without a BAA offer and one consumer product. */
function vendor(baa: Record<string, unknown>, subprocessors: unknown[] = []): Vendor {
  return vendorSchema.parse({
    id: 'acme',
    legalName: 'Acme AI, Inc.',
    services: [
      { id: 'chat', name: 'Chat API', category: 'llm', eligibility: 'baa_available' },
      { id: 'embed', name: 'Embeddings API', category: 'llm', eligibility: 'baa_available' },
      { id: 'stt', name: 'Transcription', category: 'transcription', eligibility: 'none' },
      { id: 'app', name: 'Acme for Home', category: 'consumer_app', eligibility: 'never' },
    ],
    baa,
    subprocessors,
  });
}

const signed = { status: 'signed', effectiveDate: '2026-01-01', expiryDate: '2026-12-31', coveredServices: ['chat', 'app', 'stt'] };
const at = (iso: string): number => Date.parse(iso);

describe('baaCoverage', () => {
  it('covers a listed, eligible service while the BAA is in force', () => {
    expect(baaCoverage(vendor(signed), 'chat', at('2026-06-01T12:00:00Z'))).toEqual({ covered: true, reason: 'covered', daysToExpiry: 213 });
  });

  it('gives each reason for not covering, the first that applies', () => {
    const now = at('2026-06-01T00:00:00Z');
    const cases: [Vendor | undefined, string, CoverageReason][] = [
      [undefined, 'chat', 'unknown_vendor'],
      [vendor(signed), 'nope', 'unknown_service'],
      // A consumer product stays refused even when an (impossible) record lists it.
      [vendor(signed), 'app', 'never_eligible'],
      [vendor(signed), 'stt', 'no_baa_offered'],
      [vendor({}), 'chat', 'baa_not_signed'],
      [vendor({ ...signed, status: 'not_signed' }), 'chat', 'baa_not_signed'],
      [vendor({ ...signed, status: 'terminated' }), 'chat', 'baa_terminated'],
      [vendor({ ...signed, status: 'expired' }), 'chat', 'baa_expired'],
      [vendor({ ...signed, effectiveDate: '2026-07-01' }), 'chat', 'baa_not_yet_effective'],
      [vendor({ ...signed, expiryDate: '2026-05-31' }), 'chat', 'baa_expired'],
      [vendor(signed), 'embed', 'service_not_covered'],
      [vendor(signed, [{ name: 'Hosting Co', baa: { status: 'not_signed' } }]), 'chat', 'subprocessor_not_covered'],
    ];
    for (const [v, service, reason] of cases) {
      const coverage = baaCoverage(v, service, now);
      expect({ service, reason: coverage.reason, covered: coverage.covered }).toEqual({ service, reason, covered: false });
    }
  });

  it('is in force from the first instant of the effective day to the last millisecond of the expiry day, UTC', () => {
    const v = vendor(signed);
    expect(baaCoverage(v, 'chat', dayStart('2026-01-01') - 1).reason).toBe('baa_not_yet_effective');
    expect(baaCoverage(v, 'chat', dayStart('2026-01-01')).covered).toBe(true);
    expect(baaCoverage(v, 'chat', at('2026-12-31T23:59:59.999Z'))).toEqual({ covered: true, reason: 'covered', daysToExpiry: 0 });
    expect(baaCoverage(v, 'chat', at('2027-01-01T00:00:00.000Z'))).toEqual({ covered: false, reason: 'baa_expired', daysToExpiry: -1 });
  });

  it('counts days to expiry in whole UTC days, independent of the time of day', () => {
    const v = vendor(signed);
    expect(baaCoverage(v, 'chat', at('2026-12-30T00:00:00Z')).daysToExpiry).toBe(1);
    expect(baaCoverage(v, 'chat', at('2026-12-30T23:59:59Z')).daysToExpiry).toBe(1);
    expect(baaCoverage(v, 'chat', at('2026-12-31T00:00:00Z')).daysToExpiry).toBe(0);
    expect(baaCoverage(v, 'chat', at('2026-12-01T08:00:00Z')).daysToExpiry).toBe(30);
  });

  it('leaves days to expiry out without an expiry date (an evergreen BAA)', () => {
    const coverage = baaCoverage(vendor({ ...signed, expiryDate: undefined }), 'chat', at('2030-01-01T00:00:00Z'));
    expect(coverage).toEqual({ covered: true, reason: 'covered' });
  });

  it('needs every subprocessor of the service to hold a signed, unexpired BAA', () => {
    const now = at('2026-06-01T00:00:00Z');
    const sub = (baa: Record<string, unknown>, services: string[] = []) => ({ name: 'Hosting Co', services, baa });
    expect(baaCoverage(vendor(signed, [sub({ status: 'signed' })]), 'chat', now).covered).toBe(true);
    expect(baaCoverage(vendor(signed, [sub({ status: 'signed', expiryDate: '2026-06-01' })]), 'chat', now).covered).toBe(true);
    expect(baaCoverage(vendor(signed, [sub({ status: 'signed', expiryDate: '2026-05-31' })]), 'chat', now).reason).toBe('subprocessor_not_covered');
    expect(baaCoverage(vendor(signed, [sub({ status: 'terminated' })]), 'chat', now).reason).toBe('subprocessor_not_covered');
    // A subprocessor of another service does not affect this one; an empty list means "all services".
    expect(baaCoverage(vendor({ ...signed, coveredServices: ['chat', 'embed'] }, [sub({ status: 'not_signed' }, ['embed'])]), 'chat', now).covered).toBe(true);
    expect(baaCoverage(vendor({ ...signed, coveredServices: ['chat', 'embed'] }, [sub({ status: 'not_signed' }, ['embed'])]), 'embed', now).reason).toBe('subprocessor_not_covered');
    // One bad subprocessor among good ones is enough to refuse.
    const two = [sub({ status: 'signed' }), { ...sub({ status: 'expired' }), name: 'Second Co' }];
    expect(baaCoverage(vendor(signed, two), 'chat', now).reason).toBe('subprocessor_not_covered');
  });
});
