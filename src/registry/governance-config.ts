// SPDX-License-Identifier: Apache-2.0
/**
 * The `governance` section of the configuration: the seats of the AI governance committee that
 * must approve a use-case version before it may go live. Imported by config/schema.ts; depends
 * on zod only, so the configuration module stays at the bottom of the dependency graph.
 *
 * ```yaml
 * governance:
 *   committee:
 *     - { seat: chair, role: cmio }
 *     - { seat: security, role: security_officer }
 *     - { seat: privacy, role: privacy_officer }
 *     - { seat: clinical_champion, role: clinical_champion, when: clinical }
 * ```
 */
import { z } from 'zod';

const seatId = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'lowercase letters, digits or "_"');

export const committeeSeatSchema = z.strictObject({
  /** The seat's name, recorded with each decision (`chair`, `security`, …). */
  seat: seatId,
  /** The role a person must hold to sit in this seat. */
  role: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/),
  /** `always`, or `clinical`: only for use cases classified other than administrative. */
  when: z.enum(['always', 'clinical']).default('always'),
});
export type CommitteeSeat = z.infer<typeof committeeSeatSchema>;

/** The shipped committee: CMIO/CMO chairs, with the CISO and the privacy officer; a clinical champion for clinical use cases. */
export const defaultCommittee: readonly CommitteeSeat[] = [
  { seat: 'chair', role: 'cmio', when: 'always' },
  { seat: 'security', role: 'security_officer', when: 'always' },
  { seat: 'privacy', role: 'privacy_officer', when: 'always' },
  { seat: 'clinical_champion', role: 'clinical_champion', when: 'clinical' },
];

export const governanceConfigSchema = z
  .strictObject({
    /** Every seat that must approve (one person fills at most one seat; the submitter fills none). */
    committee: z
      .array(committeeSeatSchema)
      .min(1)
      .refine((seats) => new Set(seats.map((s) => s.seat)).size === seats.length, 'seat names must be unique')
      .default(() => defaultCommittee.map((s) => ({ ...s }))),
  })
  .prefault({});
export type GovernanceConfig = z.infer<typeof governanceConfigSchema>;
