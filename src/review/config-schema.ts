// SPDX-License-Identifier: Apache-2.0
/**
 * The `review` section of the configuration: how long a reviewer's claim on a held answer
 * lasts before another reviewer may take it over. Imported by config/schema.ts; depends on zod
 * only, so the configuration module stays at the bottom of the dependency graph.
 */
import { z } from 'zod';

export const reviewConfigSchema = z
  .strictObject({
    /** Minutes a claim (lease) lasts; a reviewer renews it by claiming again. */
    leaseMinutes: z.number().int().min(1).max(24 * 60).default(15),
  })
  .prefault({});

export type ReviewConfig = z.infer<typeof reviewConfigSchema>;
