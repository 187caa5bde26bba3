// SPDX-License-Identifier: Apache-2.0
/**
 * The `screening` section of the configuration: prompt-injection screening per channel.
 *
 * - `direct` is the user's own prompt. `block` refuses the request (`prompt_injection_detected`);
 *   `flag` lets it through and writes an audit record.
 * - `indirect` is third-party content placed in the prompt: retrieved documents, tool results,
 *   and content the user clearly pasted (quoted, fenced, forwarded). `drop` withholds the flagged
 *   piece (a retrieved chunk is removed, a tool result or pasted block is replaced by a fixed
 *   notice) and lets the rest through; `block` refuses the request; `flag` only audits.
 *
 * Default thresholds were chosen by `scripts/train-injection-model.ts` from out-of-fold scores
 * on the train rows only — folds over near-duplicate groups; direct: at most 2.5 % false
 * positives on the deepset train prompts and 1 % on the clinical prompts made from the training
 * part of the notes; indirect: 1 % on emails — never from the test splits or the held-out notes;
 * `npm run bench:injection` measures them.
 */
import { z } from 'zod';

const threshold = z.number().min(0.01).max(1);
const classifierWeight = z.number().min(0).max(1);

export const screeningConfigSchema = z
  .strictObject({
    /** Screen requests at all. */
    enabled: z.boolean().default(true),
    direct: z
      .strictObject({
        threshold: threshold.default(0.53),
        action: z.enum(['block', 'flag']).default('block'),
        /** How much the classifier counts beside the rules (0..1). */
        classifierWeight: classifierWeight.default(1),
      })
      .prefault({}),
    indirect: z
      .strictObject({
        threshold: threshold.default(0.8),
        action: z.enum(['block', 'drop', 'flag']).default('drop'),
        classifierWeight: classifierWeight.default(0.5),
      })
      .prefault({}),
    /** Treat clearly pasted third-party content inside user messages (fenced, quoted, forwarded, tagged) as indirect. */
    pastedContent: z.boolean().default(true),
  })
  .prefault({});

export type ScreeningConfig = z.infer<typeof screeningConfigSchema>;
