// SPDX-License-Identifier: Apache-2.0
/**
 * Step 7 — filter output: identifiers in the answer that do not belong to this request's
 * patient are a leak. No output filter is configured in this release, so answers pass as the
 * vendor gave them; the step keeps its place in the order the threat model reviews.
 */
import type { PipelineContext } from './context.js';

export function filterOutput(_ctx: PipelineContext): void {
  // Pass-through until output filters are configured for a use case.
}
