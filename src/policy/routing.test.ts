// SPDX-License-Identifier: Apache-2.0
// The routing decision over its whole input space, against a reference model written here from
// the rules (phigate issue 5, item 4, and the module comment of routing.ts), not derived from
// routing.ts: its own clearance rule, its own residency match, its own category list.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Coverage, CoverageReason } from '../registry/baa.js';
import type { DeploymentPattern, SensitiveCategory } from '../registry/use-case-spec.js';
import { decideRoute, deidPolicyKind, type DeidPolicyKind, type RouteCandidate, type RouteDecision, type RouteInput, type RouteUseCase } from './routing.js';

// ---- The reference model -------------------------------------------------------------------

const CATEGORIES = ['substance_use_part2', 'psychotherapy_notes', 'genetic', 'hiv'] as const;
const LAPSED = ['baa_expired', 'baa_terminated', 'baa_not_yet_effective'];

type RefOutcome =
  | { allow: true; ids: string[]; transform: string; form: string }
  | { allow: false; code: string; reason: string };

const deny = (code: string, reason: string): RefOutcome => ({ allow: false, code, reason });

function refInsideResidency(region: string | undefined, residency: readonly string[]): boolean {
  if (residency.length === 0) return true;
  if (region === undefined) return false;
  for (const entry of residency) {
    if (region === entry || region.slice(0, entry.length + 1) === entry + '-') return true;
  }
  return false;
}

/** May this endpoint receive PHI, and why (not)? */
function refPhiOk(c: RouteCandidate): [boolean, string] {
  if (c.selfHosted) return [true, 'self_hosted'];
  if (c.coverage === undefined) return [false, 'no_vendor'];
  if (c.coverage.reason !== 'covered') return [false, c.coverage.reason];
  if (!refInsideResidency(c.region, c.residency)) return [false, 'region_outside_residency'];
  return [true, 'covered'];
}

function reference(i: RouteInput): RefOutcome {
  const uc = i.useCase;
  if (!uc && i.requireUseCase) return deny('use_case_required', 'use_case_required');
  if (uc && i.roles.every((role) => !uc.roles.includes(role))) return deny('permission_denied', 'role_not_allowed_for_use_case');
  const modelEntry = uc ? uc.models.find((m) => m.name === i.model) : undefined;
  if (uc && !modelEntry) return deny('model_not_allowed_for_use_case', 'model_not_in_use_case');
  if (i.candidates.length === 0) return deny('model_not_found', 'no_endpoint_serves_model');

  const sens: string[] = CATEGORIES.filter((c) => i.sensitivity.includes(c) && (c !== 'hiv' || i.hivRequiresSelfHosted));
  // The stage at which each candidate drops out (4: it survives to the deployment pattern).
  const stageOf = (c: RouteCandidate): number => {
    if (uc && !c.selfHosted && !(c.vendor !== undefined && uc.vendors.includes(c.vendor))) return 1;
    if (uc && modelEntry?.upstream !== undefined && c.upstream !== modelEntry.upstream) return 2;
    if (sens.length > 0 && !c.selfHosted) return 3;
    return 4;
  };
  const stages = i.candidates.map(stageOf);
  if (stages.every((s) => s < 2)) return deny('vendor_not_allowed_for_use_case', 'vendor_not_in_use_case');
  if (stages.every((s) => s < 3)) return deny('model_not_allowed_for_use_case', 'upstream_pin_mismatch');
  for (const c of sens) if (!uc || !uc.sensitiveCategories.includes(c as SensitiveCategory)) return deny('sensitive_category_not_allowed', c);
  if (stages.every((s) => s < 4)) return deny('sensitive_data_requires_self_hosted', sens[0] as string);

  const alive = i.candidates.filter((_, k) => stages[k] === 4);
  const kind = uc ? uc.deploymentPattern : 'none';
  const phiOut = i.deidPolicy === 'pseudonymisation' ? 'pseudonymised' : 'raw';
  let pick: RouteCandidate[];
  let out: string;
  if (kind === 'none') {
    pick = alive;
    out = refPhiOk(alive[0] as RouteCandidate)[0] ? phiOut : 'safe_harbor';
  } else if (kind === 'phi_free') {
    pick = alive;
    out = 'safe_harbor';
  } else if (kind === 'baa_covered') {
    pick = alive.filter((c) => refPhiOk(c)[0]);
    if (pick.length === 0) {
      const why = refPhiOk(alive[0] as RouteCandidate)[1];
      return deny(LAPSED.includes(why) ? 'baa_not_in_force' : 'no_baa_covered_endpoint', why);
    }
    out = phiOut;
  } else {
    pick = alive.filter((c) => c.selfHosted);
    if (pick.length === 0) return deny('no_self_hosted_endpoint', 'private_use_case');
    out = phiOut;
  }
  const head = pick[0] as RouteCandidate;
  const headPhi = refPhiOk(head)[0];
  const ids = [head.id];
  for (const f of head.fallbacks) {
    if (ids.includes(f)) continue;
    const c = pick.find((p) => p.id === f);
    if (c && refPhiOk(c)[0] === headPhi) ids.push(f);
  }
  const form = out === 'safe_harbor' ? (i.phiFound ? 'deidentified' : 'phi_free') : out;
  return { allow: true, ids, transform: out, form };
}

type Verdict = 'ok' | 'wrong_allow' | 'wrong_deny' | 'wrong_detail';

function compare(actual: RouteDecision, expected: RefOutcome): Verdict {
  if (actual.allow && !expected.allow) return 'wrong_allow';
  if (!actual.allow && expected.allow) return 'wrong_deny';
  if (actual.allow && expected.allow) {
    const same = actual.transform === expected.transform && actual.form === expected.form && actual.endpoints.map((e) => e.id).join(',') === expected.ids.join(',');
    return same ? 'ok' : 'wrong_detail';
  }
  if (!actual.allow && !expected.allow) return actual.code === expected.code && actual.reason === expected.reason ? 'ok' : 'wrong_detail';
  return 'ok';
}

// ---- The input dimensions -------------------------------------------------------------------

const coverageReasons: readonly CoverageReason[] = [
  'covered', 'unknown_vendor', 'unknown_service', 'never_eligible', 'no_baa_offered', 'baa_not_signed', 'baa_terminated',
  'baa_not_yet_effective', 'baa_expired', 'service_not_covered', 'subprocessor_not_covered',
];

/** Coverage: no vendor named, or the BAA coverage with each reason. */
const coverageOptions: readonly (Coverage | undefined)[] = [undefined, ...coverageReasons.map((reason): Coverage => ({ covered: reason === 'covered', reason }))];
/** Data residency of the BAA against the endpoint's region. */
const residencyOptions: readonly { readonly name: string; readonly residency: readonly string[]; readonly region: string | undefined }[] = [
  { name: 'unrestricted', residency: [], region: 'eu-west-1' },
  { name: 'inside_by_prefix', residency: ['us'], region: 'us-east-1' },
  { name: 'inside_exact', residency: ['eu-west-1', 'us-east-1'], region: 'us-east-1' },
  { name: 'case_differs', residency: ['us'], region: 'US-EAST-1' },
  { name: 'outside', residency: ['eu'], region: 'us-east-1' },
  { name: 'prefix_without_boundary', residency: ['us'], region: 'useast' },
  { name: 'region_unknown', residency: ['us'], region: undefined },
];
interface CoverageKind {
  readonly coverage: Coverage | undefined;
  readonly residency: readonly string[];
  readonly region: string | undefined;
}
const coverageKinds: readonly CoverageKind[] = coverageOptions.flatMap((coverage) => residencyOptions.map((r) => ({ coverage, residency: r.residency, region: r.region })));

interface CandidateKind {
  readonly selfHosted: boolean;
  readonly coverage: CoverageKind;
  /** Whether its vendor is one the use case names (for "no vendor": a vendor named without a service). */
  readonly vendorAllowed: boolean;
}
const candidateKinds: CandidateKind[] = [];
for (const selfHosted of [false, true]) {
  for (const coverage of coverageKinds) {
    for (const vendorAllowed of [false, true]) candidateKinds.push({ selfHosted, coverage, vendorAllowed });
  }
}

function candidate(id: string, kind: CandidateKind, upstream: string, fallbacks: readonly string[]): RouteCandidate {
  const vendor = kind.coverage.coverage === undefined ? (kind.vendorAllowed ? 'v-allowed' : undefined) : kind.vendorAllowed ? 'v-allowed' : 'v-other';
  return { id, vendor, selfHosted: kind.selfHosted, region: kind.coverage.region, upstream, fallbacks, coverage: kind.coverage.coverage, residency: kind.coverage.residency };
}

const patterns: readonly (DeploymentPattern | 'none')[] = ['none', 'phi_free', 'baa_covered', 'private'];
/** Whether the requested model is in the use case, and how its upstream is pinned. */
const modelModes = ['absent', 'unpinned', 'pinned_first', 'pinned_other'] as const;
type ModelMode = (typeof modelModes)[number];

function subsets<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let mask = 0; mask < 1 << items.length; mask++) out.push(items.filter((_, k) => (mask & (1 << k)) !== 0));
  return out;
}
const categorySubsets = subsets(CATEGORIES) as SensitiveCategory[][];

function useCaseOf(pattern: DeploymentPattern, rolesAllowed: boolean, model: ModelMode, allowed: readonly SensitiveCategory[], pinSecond = 'u9'): RouteUseCase {
  const models = model === 'absent' ? [{ name: 'other-model' }] : [{ name: 'm', ...(model === 'unpinned' ? {} : { upstream: model === 'pinned_first' ? 'u1' : pinSecond }) }];
  return { deploymentPattern: pattern, roles: rolesAllowed ? ['physician', 'nurse'] : ['nurse'], vendors: ['v-allowed'], models, sensitiveCategories: [...allowed] };
}

interface Tally {
  cases: number;
  allows: number;
  ok: number;
  wrong_allow: number;
  wrong_deny: number;
  wrong_detail: number;
  transforms: Record<string, number>;
  codes: Record<string, number>;
}
const tally = (): Tally => ({ cases: 0, allows: 0, ok: 0, wrong_allow: 0, wrong_deny: 0, wrong_detail: 0, transforms: {}, codes: {} });

function check(t: Tally, failures: RouteInput[], input: RouteInput): void {
  const actual = decideRoute(input);
  const verdict = compare(actual, reference(input));
  t.cases++;
  t[verdict]++;
  if (actual.allow) {
    t.allows++;
    t.transforms[actual.transform] = (t.transforms[actual.transform] ?? 0) + 1;
  } else {
    t.codes[actual.code] = (t.codes[actual.code] ?? 0) + 1;
  }
  if (verdict !== 'ok' && failures.length < 5) failures.push(input);
}

// ---- The exhaustive tables -------------------------------------------------------------------

describe('routing table (one candidate, every dimension)', () => {
  it('agrees with the reference model on every combination', { timeout: 600_000 }, () => {
    const t = tally();
    const failures: RouteInput[] = [];
    const lists: RouteCandidate[][] = [[], ...candidateKinds.map((kind) => [candidate('e1', kind, 'u1', [])])];
    for (const pattern of patterns) {
      for (const requireUseCase of [false, true]) {
        for (const rolesAllowed of [false, true]) {
          for (const model of modelModes) {
            for (const allowed of categorySubsets) {
              const useCase = pattern === 'none' ? undefined : useCaseOf(pattern, rolesAllowed, model, allowed);
              for (const candidates of lists) {
                for (const sensitivity of categorySubsets) {
                  for (const hivRequiresSelfHosted of [false, true]) {
                    for (const phiFound of [false, true]) {
                      for (const deidPolicy of ['safe_harbor', 'pseudonymisation'] as DeidPolicyKind[]) {
                        check(t, failures, { useCase, requireUseCase, roles: ['physician'], model: 'm', candidates, phiFound, sensitivity, deidPolicy, hivRequiresSelfHosted });
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    // 4 patterns × 2 requireUseCase × 2 roles × 4 model modes × 16 allowed subsets × (1 + 60) candidate
    // lists (none, or self-hosted × 12 coverage options × 7 residency situations × vendor allowed) × 16 sensitivity subsets × 2 HIV × 2 PHI found × 2 policies.
    expect(candidateKinds.length).toBe(336);
    expect(t.cases).toBe(4 * 2 * 2 * 4 * 16 * 337 * 16 * 2 * 2 * 2);
    console.log(`routing table, one candidate: ${t.cases} cases, ${t.allows} allowed`, JSON.stringify({ transforms: t.transforms, codes: t.codes }));
    expect(failures).toEqual([]);
    expect({ wrongAllows: t.wrong_allow, wrongDenies: t.wrong_deny, wrongDetail: t.wrong_detail }).toEqual({ wrongAllows: 0, wrongDenies: 0, wrongDetail: 0 });
    // Not vacuous: every transform and every refusal code occurs.
    expect(Object.keys(t.transforms).sort()).toEqual(['pseudonymised', 'raw', 'safe_harbor']);
    expect(Object.keys(t.codes).sort()).toEqual([
      'baa_not_in_force', 'model_not_allowed_for_use_case', 'model_not_found', 'no_baa_covered_endpoint', 'no_self_hosted_endpoint', 'permission_denied',
      'sensitive_category_not_allowed', 'sensitive_data_requires_self_hosted', 'use_case_required', 'vendor_not_allowed_for_use_case',
    ]);
  });
});

/** The second endpoint: self-hosted or not × every coverage option × vendor allowed or not, its region inside the residency. */
const secondKinds = candidateKinds.filter((kind) => kind.coverage.residency.length === 1 && kind.coverage.region === 'us-east-1' && kind.coverage.residency[0] === 'us');

describe('routing table (two candidates: primary, fallback, filtering)', () => {
  it('agrees with the reference model on every combination', { timeout: 600_000 }, () => {
    const t = tally();
    const failures: RouteInput[] = [];
    const sensitivityCases: [SensitiveCategory[], SensitiveCategory[]][] = [[[], []], [['psychotherapy_notes'], ['psychotherapy_notes']]];
    for (const pattern of patterns) {
      for (const model of ['unpinned', 'pinned_first', 'pinned_other'] as const) {
        for (const [sensitivity, allowed] of sensitivityCases) {
          const useCase = pattern === 'none' ? undefined : useCaseOf(pattern, true, model, allowed, 'u2');
          for (const first of candidateKinds) {
            for (const second of secondKinds) {
              for (const declared of [[], ['e1', 'e2', 'e2']]) {
                const candidates = [candidate('e1', first, 'u1', declared), candidate('e2', second, 'u2', ['e1'])];
                for (const phiFound of [false, true]) {
                  for (const deidPolicy of ['safe_harbor', 'pseudonymisation'] as DeidPolicyKind[]) {
                    check(t, failures, { useCase, requireUseCase: false, roles: ['physician'], model: 'm', candidates, phiFound, sensitivity, deidPolicy, hivRequiresSelfHosted: true });
                  }
                }
              }
            }
          }
        }
      }
    }
    // 4 patterns × 3 model modes × 2 sensitivity cases × 336 first × 48 second candidate kinds × 2 fallback declarations (none; itself, the other, the other again) × 2 PHI found × 2 policies.
    expect(secondKinds.length).toBe(48);
    expect(t.cases).toBe(4 * 3 * 2 * 336 * 48 * 2 * 2 * 2);
    console.log(`routing table, two candidates: ${t.cases} cases, ${t.allows} allowed`);
    expect(failures).toEqual([]);
    expect({ wrongAllows: t.wrong_allow, wrongDenies: t.wrong_deny, wrongDetail: t.wrong_detail }).toEqual({ wrongAllows: 0, wrongDenies: 0, wrongDetail: 0 });
  });
});

// ---- Decisions worth naming ------------------------------------------------------------------

const covered: Coverage = { covered: true, reason: 'covered' };
const base = { requireUseCase: false, roles: ['physician'], model: 'm', phiFound: true, sensitivity: [] as SensitiveCategory[], deidPolicy: 'safe_harbor' as DeidPolicyKind, hivRequiresSelfHosted: true };
const cand = (id: string, over: Partial<RouteCandidate> = {}): RouteCandidate => ({ id, vendor: 'acme', selfHosted: false, region: 'us-east-1', upstream: 'u1', fallbacks: [], coverage: covered, residency: [], ...over });
const spec = (over: Partial<RouteUseCase> = {}): RouteUseCase => ({ deploymentPattern: 'baa_covered', roles: ['physician'], vendors: ['acme'], models: [{ name: 'm' }], sensitiveCategories: [], ...over });

describe('decisions worth naming', () => {
  it('a phi_free use case de-identifies even for a BAA-covered endpoint, and says phi_free when nothing was found', () => {
    expect(decideRoute({ ...base, useCase: spec({ deploymentPattern: 'phi_free' }), candidates: [cand('a')] })).toMatchObject({ allow: true, transform: 'safe_harbor', form: 'deidentified' });
    expect(decideRoute({ ...base, phiFound: false, useCase: spec({ deploymentPattern: 'phi_free' }), candidates: [cand('a')] })).toMatchObject({ allow: true, form: 'phi_free' });
    expect(decideRoute({ ...base, deidPolicy: 'pseudonymisation', useCase: spec({ deploymentPattern: 'phi_free' }), candidates: [cand('a')] })).toMatchObject({ allow: true, transform: 'safe_harbor' });
  });

  it('psychotherapy notes go only to a self-hosted endpoint, only when the use case allows them', () => {
    const candidates = [cand('cloud'), cand('local', { selfHosted: true, vendor: undefined, coverage: undefined })];
    const allowing = spec({ sensitiveCategories: ['psychotherapy_notes'] });
    expect(decideRoute({ ...base, sensitivity: ['psychotherapy_notes'], useCase: allowing, candidates })).toMatchObject({ allow: true, transform: 'raw', endpoints: [{ id: 'local' }] });
    expect(decideRoute({ ...base, sensitivity: ['psychotherapy_notes'], useCase: spec(), candidates })).toEqual({ allow: false, code: 'sensitive_category_not_allowed', reason: 'psychotherapy_notes' });
    expect(decideRoute({ ...base, sensitivity: ['psychotherapy_notes'], useCase: allowing, candidates: [cand('cloud')] })).toEqual({ allow: false, code: 'sensitive_data_requires_self_hosted', reason: 'psychotherapy_notes' });
    // No use case allows nothing.
    expect(decideRoute({ ...base, sensitivity: ['genetic'], useCase: undefined, candidates })).toMatchObject({ allow: false, code: 'sensitive_category_not_allowed' });
  });

  it('HIV restricts routing only where state law requires it (the option)', () => {
    expect(decideRoute({ ...base, sensitivity: ['hiv'], useCase: spec(), candidates: [cand('cloud')] })).toMatchObject({ allow: false, code: 'sensitive_category_not_allowed', reason: 'hiv' });
    expect(decideRoute({ ...base, hivRequiresSelfHosted: false, sensitivity: ['hiv'], useCase: spec(), candidates: [cand('cloud')] })).toMatchObject({ allow: true, transform: 'raw' });
  });

  it('an expired BAA is baa_not_in_force; a BAA that never covered the service is no_baa_covered_endpoint', () => {
    expect(decideRoute({ ...base, useCase: spec(), candidates: [cand('a', { coverage: { covered: false, reason: 'baa_expired', daysToExpiry: -3 } })] })).toEqual({ allow: false, code: 'baa_not_in_force', reason: 'baa_expired' });
    expect(decideRoute({ ...base, useCase: spec(), candidates: [cand('a', { coverage: { covered: false, reason: 'service_not_covered' } })] })).toEqual({ allow: false, code: 'no_baa_covered_endpoint', reason: 'service_not_covered' });
    expect(decideRoute({ ...base, useCase: spec(), candidates: [cand('a', { residency: ['eu'] })] })).toEqual({ allow: false, code: 'no_baa_covered_endpoint', reason: 'region_outside_residency' });
  });

  it('without a use case: raw to a covered endpoint, de-identified elsewhere (today\'s behaviour), unless a use case is required', () => {
    expect(decideRoute({ ...base, useCase: undefined, candidates: [cand('a')] })).toMatchObject({ allow: true, transform: 'raw', form: 'raw' });
    expect(decideRoute({ ...base, useCase: undefined, candidates: [cand('a', { coverage: undefined })] })).toMatchObject({ allow: true, transform: 'safe_harbor' });
    expect(decideRoute({ ...base, requireUseCase: true, useCase: undefined, candidates: [cand('a')] })).toMatchObject({ allow: false, code: 'use_case_required' });
  });

  it('a use case\'s vendors and model pins choose among endpoints; fallbacks keep the primary\'s clearance', () => {
    const candidates = [
      cand('other-vendor', { vendor: 'globex', fallbacks: [] }),
      cand('old-version', { upstream: 'u0' }),
      cand('primary', { fallbacks: ['no-baa', 'backup', 'primary'] }),
      cand('no-baa', { coverage: { covered: false, reason: 'baa_not_signed' } }),
      cand('backup'),
    ];
    const decision = decideRoute({ ...base, useCase: spec({ deploymentPattern: 'phi_free', models: [{ name: 'm', upstream: 'u1' }] }), candidates });
    expect(decision).toMatchObject({ allow: true, transform: 'safe_harbor' });
    expect(decision.allow && decision.endpoints.map((e) => e.id)).toEqual(['primary', 'backup']);
  });

  it('maps the configured de-identification policies to their kind', () => {
    expect(['tokens', 'redact', 'generalise', 'surrogates', 'date-shift'].map((p) => deidPolicyKind(p as 'tokens'))).toEqual(['safe_harbor', 'safe_harbor', 'safe_harbor', 'pseudonymisation', 'pseudonymisation']);
  });
});

// ---- Properties over random candidate lists ----------------------------------------------------

const coverageArb = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(...coverageReasons).map((reason): Coverage => ({ covered: reason === 'covered', reason })),
);
const candidateArb = (id: string) =>
  fc.record({
    id: fc.constant(id),
    vendor: fc.option(fc.constantFrom('acme', 'globex', 'initech'), { nil: undefined }),
    selfHosted: fc.boolean(),
    region: fc.option(fc.constantFrom('us-east-1', 'us-west-2', 'eu-west-1', 'useast'), { nil: undefined }),
    upstream: fc.constantFrom('u1', 'u2'),
    fallbacks: fc.subarray(['c0', 'c1', 'c2', 'c3']),
    coverage: coverageArb,
    residency: fc.subarray(['us', 'eu', 'us-east-1']),
  });
const candidatesArb = fc.integer({ min: 0, max: 4 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, k) => candidateArb(`c${k}`))));
const useCaseArb = fc.option(
  fc.record({
    deploymentPattern: fc.constantFrom('phi_free', 'baa_covered', 'private'),
    roles: fc.subarray(['physician', 'nurse', 'coder'], { minLength: 1 }),
    vendors: fc.subarray(['acme', 'globex', 'initech']),
    models: fc.constantFrom([{ name: 'm' }], [{ name: 'm', upstream: 'u1' }], [{ name: 'm', upstream: 'u2' }], [{ name: 'x' }]),
    sensitiveCategories: fc.subarray([...CATEGORIES]),
  }),
  { nil: undefined },
);
const inputArb: fc.Arbitrary<RouteInput> = fc.record({
  useCase: useCaseArb,
  requireUseCase: fc.boolean(),
  roles: fc.subarray(['physician', 'nurse', 'coder']),
  model: fc.constant('m'),
  candidates: candidatesArb,
  phiFound: fc.boolean(),
  sensitivity: fc.subarray([...CATEGORIES]),
  deidPolicy: fc.constantFrom('safe_harbor', 'pseudonymisation'),
  hivRequiresSelfHosted: fc.boolean(),
}) as fc.Arbitrary<RouteInput>;

describe('properties', () => {
  it('decideRoute equals the reference model on random candidate lists (up to four endpoints)', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        expect(compare(decideRoute(input), reference(input))).toBe('ok');
      }),
      { numRuns: 20_000, seed: 5_2026 },
    );
  });

  it('PHI never reaches an endpoint not cleared for it; sensitive data only self-hosted; phi_free never raw', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const decision = decideRoute(input);
        if (!decision.allow) return;
        for (const endpoint of decision.endpoints) {
          if (decision.transform !== 'safe_harbor') expect(refPhiOk(endpoint)[0]).toBe(true);
          if (CATEGORIES.some((c) => input.sensitivity.includes(c) && (c !== 'hiv' || input.hivRequiresSelfHosted))) expect(endpoint.selfHosted).toBe(true);
          expect(refPhiOk(endpoint)[0]).toBe(refPhiOk(decision.endpoints[0] as RouteCandidate)[0]);
        }
        if (input.useCase?.deploymentPattern === 'phi_free') expect(decision.transform).toBe('safe_harbor');
        if (input.useCase?.deploymentPattern === 'private') expect(decision.endpoints.every((e) => e.selfHosted)).toBe(true);
        if (decision.transform === 'pseudonymised') expect(input.deidPolicy).toBe('pseudonymisation');
      }),
      { numRuns: 20_000, seed: 6_2026 },
    );
  });

  it('revoking a BAA never widens a route: fewer covered endpoints never allow more raw PHI', () => {
    fc.assert(
      fc.property(inputArb, fc.nat(), (input, pick) => {
        if (input.candidates.length === 0) return;
        const k = pick % input.candidates.length;
        const revoked = input.candidates.map((c, j) => (j === k ? { ...c, coverage: { covered: false, reason: 'baa_terminated' } as Coverage } : c));
        const after = decideRoute({ ...input, candidates: revoked });
        const revokedOne = revoked[k] as RouteCandidate;
        if (after.allow && after.transform !== 'safe_harbor' && !revokedOne.selfHosted) expect(after.endpoints).not.toContain(revokedOne);
      }),
      { numRuns: 10_000, seed: 7_2026 },
    );
  });
});
