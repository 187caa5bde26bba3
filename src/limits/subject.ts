// SPDX-License-Identifier: Apache-2.0
/** Which counters a request draws on. */
import type { Principal } from '../auth/principal.js';
import type { LimitSubject } from './limiter.js';

const useCasePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * A service acting for a user counts against that user, so a busy integration cannot spend a
 * person's quota under its own name; the key and use-case scopes still apply.
 */
export function limitSubjectOf(principal: Principal, header: (name: string) => string | undefined): LimitSubject {
  const useCase = header('x-phigate-use-case')?.trim();
  return {
    userId: principal.onBehalfOf?.userId ?? principal.userId,
    apiKeyId: principal.apiKeyId,
    useCase: useCase !== undefined && useCasePattern.test(useCase) ? useCase : undefined,
  };
}
