// SPDX-License-Identifier: Apache-2.0
/**
 * Step 3 — gather context: the minimum necessary FHIR elements and access-filtered documents a
 * use case declares. Requests without a context-declaring use case carry only what the caller
 * sent, so this step adds nothing for them.
 */
import type { PipelineContext } from './context.js';

export function gatherContext(_ctx: PipelineContext): void {
  // No configured use case declares automatic context yet; the caller's messages are the whole payload.
}
