// SPDX-License-Identifier: Apache-2.0
/**
 * The one door out. Every payload bound for a vendor passes `authorizeEgress`, which checks the
 * destination against the form the payload is in and only then seals it as an `Outbound` value,
 * the only type a provider accepts. Raw PHI goes only to endpoints cleared for it (a signed BAA
 * or self-hosted); everything else must have been de-identified first.
 */
import type { EndpointConfig } from '../config/schema.js';
import { GatewayError } from '../kernel/errors.js';
import { phiClearance } from '../registry/endpoints.js';
import { sealOutbound, type Outbound, type OutboundForm } from './outbound.js';

/** Whether a payload in `form` may go to `endpoint`. */
export function isEgressAllowed(endpoint: EndpointConfig, form: OutboundForm): boolean {
  switch (form) {
    case 'raw':
    case 'pseudonymised':
      // Surrogates and shifted dates are still PHI under HIPAA: only BAA-covered or self-hosted.
      return phiClearance(endpoint) === 'phi';
    case 'deidentified':
    case 'phi_free':
      return true;
  }
}

/** Checks and seals; refuses with phi_egress_denied naming the endpoint id, never the payload. */
export function authorizeEgress<T>(endpoint: EndpointConfig, payload: T, form: OutboundForm): Outbound<T> {
  if (!isEgressAllowed(endpoint, form)) {
    throw new GatewayError('phi_egress_denied', { detail: { endpoint: endpoint.id, form } });
  }
  return sealOutbound(payload, endpoint.id, form);
}
