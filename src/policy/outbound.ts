// SPDX-License-Identifier: Apache-2.0
/**
 * The `Outbound` value: the only thing a provider accepts as a payload to send to a vendor.
 * Its brand is a module-private symbol, so the type cannot be satisfied by an object literal
 * anywhere else; `sealOutbound` is called only by the egress step, after it has checked the
 * destination against the payload (DESIGN §1.5, "the one door out").
 */

declare const outboundBrand: unique symbol;

/** How the payload was protected before it left. */
export type OutboundForm = 'raw' | 'deidentified' | 'pseudonymised' | 'phi_free';

export interface Outbound<T> {
  readonly [outboundBrand]: true;
  readonly payload: T;
  /** Registry id of the endpoint the egress check approved; a provider refuses any other. */
  readonly endpointId: string;
  readonly form: OutboundForm;
}

/**
 * Seals a payload for one endpoint. Only `policy/egress.ts` calls this in product code (and
 * provider contract tests, to drive adapters directly); outbound.test.ts fails the build when
 * any other source file does.
 */
export function sealOutbound<T>(payload: T, endpointId: string, form: OutboundForm): Outbound<T> {
  return Object.freeze({ payload, endpointId, form }) as Outbound<T>;
}
