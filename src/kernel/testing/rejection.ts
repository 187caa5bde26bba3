// SPDX-License-Identifier: Apache-2.0
/** Test helper: the GatewayError a promise rejects with; fails the test when it resolves or rejects with anything else. */
import { isGatewayError, type GatewayError } from '../errors.js';

export async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isGatewayError(err)) throw new Error(`expected a GatewayError, got ${String(err)}`);
  return err;
}
