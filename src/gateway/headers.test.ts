// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../kernel/errors.js';
import { parseGatewayHeaders } from './headers.js';

const from = (headers: Record<string, string>) => (name: string) => headers[name];

describe('gateway headers', () => {
  it('normalise a patient reference and purpose code', () => {
    expect(
      parseGatewayHeaders(from({ 'x-phigate-patient': 'https://ehr.example.org/fhir/Patient/abc-123', 'x-phigate-purpose': 'treat', 'x-phigate-use-case': 'discharge-summary' })),
    ).toEqual({ patient: 'Patient/abc-123', purpose: 'TREAT', useCase: 'discharge-summary' });
  });

  it('refuse malformed values naming the header, never echoing the value', () => {
    for (const [header, value] of [
      ['x-phigate-patient', 'John Smith'],
      ['x-phigate-purpose', 'CURIOSITY'],
      ['x-phigate-use-case', 'Has Spaces'],
    ] as const) {
      let caught: unknown;
      try {
        parseGatewayHeaders(from({ [header]: value }));
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(GatewayError);
      expect((caught as GatewayError).code).toBe('invalid_header');
      expect((caught as GatewayError).detail?.header).toBe(header);
      expect(JSON.stringify((caught as GatewayError).detail)).not.toContain(value);
    }
  });
});
