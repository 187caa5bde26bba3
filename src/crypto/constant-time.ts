// SPDX-License-Identifier: Apache-2.0
/** Comparisons of secrets and secret-derived values (HMACs, hashes) whose time does not depend on where they differ. */
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time string equality. Both sides are hashed first so that unequal lengths take the
 * same path and leak nothing beyond "not equal".
 */
export function constantTimeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
