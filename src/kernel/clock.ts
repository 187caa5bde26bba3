// SPDX-License-Identifier: Apache-2.0
/** The clock is passed in, never read as a global, so tests can fix time. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
