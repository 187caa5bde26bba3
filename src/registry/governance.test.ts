// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { isGatewayError } from '../kernel/errors.js';
import { defaultCommittee, governanceConfigSchema } from './governance-config.js';
import {
  assertGoLive,
  assertUseCaseTransition,
  assertVersionTransition,
  canReachUseCaseState,
  canTransitionUseCase,
  canTransitionVersion,
  evaluateApprovals,
  goLiveProblems,
  requiredSeats,
  seatForDecision,
  type ApprovalFacts,
  type CommitteeDecision,
} from './governance.js';
import { useCaseStates, versionStates, type UseCaseState, type VersionState } from './registry-view.js';
import { useCaseSpecSchema } from './use-case-spec.js';
import { adminSpec, cdsSpec, sampleSourceAttributes } from './testing/registry-fixtures.js';

/** The whole allowed set, written out once more by hand: every pair not here must be refused. */
const allowedUseCase: readonly `${UseCaseState}>${UseCaseState}`[] = [
  'draft>submitted', 'draft>retired',
  'submitted>approved', 'submitted>draft', 'submitted>retired',
  'approved>live', 'approved>retired',
  'live>suspended', 'live>retired',
  'suspended>live', 'suspended>retired',
];
const allowedVersion: readonly `${VersionState}>${VersionState}`[] = [
  'draft>submitted', 'draft>superseded',
  'submitted>approved', 'submitted>rejected', 'submitted>superseded',
  'approved>superseded',
  'superseded>approved',
];

describe('use-case transition table', () => {
  for (const from of useCaseStates) {
    for (const to of useCaseStates) {
      const allowed = allowedUseCase.includes(`${from}>${to}`);
      it(`${from} → ${to} is ${allowed ? 'allowed' : 'refused'}`, () => {
        expect(canTransitionUseCase(from, to)).toBe(allowed);
        if (allowed) expect(() => assertUseCaseTransition(from, to, 'test')).not.toThrow();
        else {
          try {
            assertUseCaseTransition(from, to, 'test');
            expect.unreachable();
          } catch (err) {
            expect(isGatewayError(err, 'use_case_invalid_transition')).toBe(true);
            expect((err as { detail: unknown }).detail).toEqual({ action: 'test', from, to, subject: 'use_case' });
          }
        }
      });
    }
  }

  it('retired is terminal and every other state can reach live and retired', () => {
    for (const state of useCaseStates) {
      expect(canReachUseCaseState(state, 'retired')).toBe(true);
      expect(canReachUseCaseState(state, 'live')).toBe(state !== 'retired');
    }
    expect(canReachUseCaseState('retired', 'draft')).toBe(false);
    expect(canReachUseCaseState('live', 'draft')).toBe(false);
    expect(canReachUseCaseState('live', 'approved')).toBe(false);
  });
});

describe('version transition table', () => {
  for (const from of versionStates) {
    for (const to of versionStates) {
      const allowed = allowedVersion.includes(`${from}>${to}`);
      it(`${from} → ${to} is ${allowed ? 'allowed' : 'refused'}`, () => {
        expect(canTransitionVersion(from, to)).toBe(allowed);
        if (allowed) expect(() => assertVersionTransition(from, to, 'test')).not.toThrow();
        else expect(() => assertVersionTransition(from, to, 'test')).toThrow(/not in a state that allows/);
      });
    }
  }
});

describe('committee', () => {
  const facts = (classification: ApprovalFacts['classification'], submittedBy: string | undefined = 'u-sub'): ApprovalFacts => ({ committee: defaultCommittee, classification, submittedBy });
  const d = (seat: string, userId: string, roles: string[], decision: 'approve' | 'reject' = 'approve'): CommitteeDecision => ({ seat, userId, roles, decision });
  const fullAdmin = [d('chair', 'u-cmio', ['cmio']), d('security', 'u-ciso', ['security_officer']), d('privacy', 'u-po', ['privacy_officer'])];

  it('the configuration default is the shipped committee', () => {
    expect(governanceConfigSchema.parse({}).committee).toEqual(defaultCommittee);
    expect(() => governanceConfigSchema.parse({ committee: [{ seat: 'a', role: 'cmio' }, { seat: 'a', role: 'admin' }] })).toThrow(/unique/);
  });

  it('needs the clinical champion only for clinical use cases', () => {
    expect(requiredSeats(defaultCommittee, 'administrative').map((s) => s.seat)).toEqual(['chair', 'security', 'privacy']);
    expect(requiredSeats(defaultCommittee, 'clinical_decision_support').map((s) => s.seat)).toEqual(['chair', 'security', 'privacy', 'clinical_champion']);
    expect(requiredSeats(defaultCommittee, 'autonomous_clinical_action')).toHaveLength(4);
  });

  it('approves when every required seat approved', () => {
    expect(evaluateApprovals(facts('administrative'), fullAdmin)).toEqual({ status: 'approved', filled: { chair: 'u-cmio', security: 'u-ciso', privacy: 'u-po' }, missing: [], invalid: [] });
    const clinical = evaluateApprovals(facts('clinical_decision_support'), fullAdmin);
    expect(clinical.status).toBe('pending');
    expect(clinical.missing).toEqual(['clinical_champion']);
    expect(evaluateApprovals(facts('clinical_decision_support'), [...fullAdmin, d('clinical_champion', 'u-champ', ['clinical_champion'])]).status).toBe('approved');
  });

  it('one person fills at most one seat', () => {
    const both = ['cmio', 'security_officer'];
    const result = evaluateApprovals(facts('administrative'), [d('chair', 'u-x', both), d('security', 'u-x', both), d('privacy', 'u-po', ['privacy_officer'])]);
    expect(result.status).toBe('pending');
    expect(result.missing).toEqual(['security']);
    expect(result.invalid).toEqual([{ index: 1, problem: 'already_decided' }]);
  });

  it('the submitter cannot decide, roles must match seats, and a seat is filled once', () => {
    const result = evaluateApprovals(facts('administrative', 'u-cmio'), [
      d('chair', 'u-cmio', ['cmio']),
      d('security', 'u-po', ['privacy_officer']),
      d('board', 'u-b', ['cmio']),
      d('privacy', 'u-po', ['privacy_officer']),
      d('privacy', 'u-po2', ['privacy_officer']),
    ]);
    expect(result.invalid).toEqual([
      { index: 0, problem: 'submitter_cannot_decide' },
      { index: 1, problem: 'role_not_held' },
      { index: 2, problem: 'seat_not_required' },
      { index: 4, problem: 'seat_filled' },
    ]);
    expect(result.filled).toEqual({ privacy: 'u-po' });
    expect(result.status).toBe('pending');
  });

  it('any valid rejection rejects, even after every seat approved', () => {
    expect(evaluateApprovals(facts('administrative'), [...fullAdmin, d('chair', 'u-cmio2', ['cmio'], 'reject')]).status).toBe('rejected');
    expect(evaluateApprovals(facts('administrative'), [d('privacy', 'u-po', ['privacy_officer'], 'reject')]).status).toBe('rejected');
    // A rejection that breaks a rule (the submitter's) does not count.
    expect(evaluateApprovals(facts('administrative'), [...fullAdmin, d('chair', 'u-sub', ['cmio'], 'reject')]).status).toBe('approved');
  });

  it('a clinical seat on an administrative use case does not count', () => {
    const result = evaluateApprovals(facts('administrative'), [...fullAdmin, d('clinical_champion', 'u-champ', ['clinical_champion'], 'reject')]);
    expect(result.status).toBe('approved');
    expect(result.invalid).toEqual([{ index: 3, problem: 'seat_not_required' }]);
  });

  it('chooses the seat for a new decision or names the rule that stops it', () => {
    const f = facts('clinical_decision_support');
    const refusal = (fn: () => unknown): unknown => {
      try {
        fn();
      } catch (err) {
        expect(isGatewayError(err, 'use_case_approval_refused')).toBe(true);
        return (err as { detail: unknown }).detail;
      }
      return expect.unreachable();
    };
    expect(seatForDecision(f, [], { userId: 'u-cmio', roles: ['cmio'] }, 'approve')).toBe('chair');
    // Holding two seat roles: the first open one, then the other once the first is taken by someone else.
    expect(seatForDecision(f, [], { userId: 'u-x', roles: ['cmio', 'clinical_champion'] }, 'approve')).toBe('chair');
    expect(seatForDecision(f, [d('chair', 'u-cmio', ['cmio'])], { userId: 'u-x', roles: ['cmio', 'clinical_champion'] }, 'approve')).toBe('clinical_champion');
    expect(refusal(() => seatForDecision(f, [d('chair', 'u-cmio', ['cmio'])], { userId: 'u-c2', roles: ['cmio'] }, 'approve'))).toEqual({ rule: 'seat_filled' });
    // A second member in a filled seat may still reject.
    expect(seatForDecision(f, [d('chair', 'u-cmio', ['cmio'])], { userId: 'u-c2', roles: ['cmio'] }, 'reject')).toBe('chair');
    expect(refusal(() => seatForDecision(f, [], { userId: 'u-sub', roles: ['cmio'] }, 'approve'))).toEqual({ rule: 'submitter_cannot_decide' });
    expect(refusal(() => seatForDecision(f, [], { userId: 'u-admin', roles: ['admin'] }, 'approve'))).toEqual({ rule: 'no_seat_for_roles' });
    expect(refusal(() => seatForDecision(f, [], { userId: 'u-cmio', roles: ['cmio'] }, 'approve', 'privacy'))).toEqual({ rule: 'role_not_held', seat: 'privacy' });
    expect(refusal(() => seatForDecision(f, [d('chair', 'u-cmio', ['cmio'])], { userId: 'u-cmio', roles: ['cmio', 'privacy_officer'] }, 'approve', 'privacy'))).toEqual({ rule: 'already_decided', seat: 'privacy' });
    expect(refusal(() => seatForDecision(facts('administrative'), [], { userId: 'u-champ', roles: ['clinical_champion'] }, 'approve', 'clinical_champion'))).toEqual({ rule: 'seat_not_required', seat: 'clinical_champion' });
  });

  it('uses a configured committee', () => {
    const committee = governanceConfigSchema.parse({ committee: [{ seat: 'cmo', role: 'cmo' }, { seat: 'nursing', role: 'cno', when: 'clinical' }] }).committee;
    const f: ApprovalFacts = { committee, classification: 'administrative', submittedBy: undefined };
    expect(evaluateApprovals(f, [d('cmo', 'u1', ['cmo'])]).status).toBe('approved');
    expect(evaluateApprovals({ ...f, classification: 'clinical_decision_support' }, [d('cmo', 'u1', ['cmo'])]).missing).toEqual(['nursing']);
  });
});

describe('go-live checks', () => {
  it('administrative use cases need nothing extra', () => {
    expect(goLiveProblems(useCaseSpecSchema.parse(adminSpec()))).toEqual([]);
  });

  it('decision support needs a regulatory assessment and HTI-1 source attributes', () => {
    expect(goLiveProblems(useCaseSpecSchema.parse(cdsSpec()))).toEqual([]);
    expect(goLiveProblems(useCaseSpecSchema.parse(cdsSpec({ regulatory: {}, sourceAttributes: undefined })))).toEqual(['regulatory_assessment_required', 'source_attributes_required']);
  });

  it('an autonomous clinical action needs an FDA clearance and source attributes', () => {
    const spec = useCaseSpecSchema.parse(cdsSpec({ classification: 'autonomous_clinical_action', regulatory: {} }));
    expect(goLiveProblems(spec)).toEqual(['fda_clearance_required']);
    expect(goLiveProblems({ ...spec, regulatory: { fdaClearance: 'K231234' } })).toEqual([]);
    expect(goLiveProblems({ ...spec, regulatory: { fdaClearance: 'K231234' }, sourceAttributes: undefined })).toEqual(['source_attributes_required']);
    expect(() => assertGoLive(spec)).toThrow(/before it can go live/);
    expect(() => assertGoLive({ ...spec, regulatory: { fdaClearance: 'K231234' }, sourceAttributes: sampleSourceAttributes })).not.toThrow();
  });
});
