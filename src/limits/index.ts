// SPDX-License-Identifier: Apache-2.0
/** Rate limits and token quotas. */
export { createLimiter, formatReset, type Limiter, type LimitsConfig, type LimitSubject } from './limiter.js';
export { createMemoryCounterStore, createRedisCounterStore, type CounterStore, type WindowCount } from './counter-store.js';
export { chargeUsage } from './charge-usage.js';
export { limitSubjectOf } from './subject.js';
