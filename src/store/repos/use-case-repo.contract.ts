// SPDX-License-Identifier: Apache-2.0
/**
 * Contract for the use-case repository, run on SQLite and PGlite (`use-case-repo.test.ts`) and on
 * the real PostgreSQL server (`use-case-repo.int.test.ts`).
 */
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isGatewayError } from '../../kernel/errors.js';
import { adminSpec } from '../../registry/testing/registry-fixtures.js';
import { useCaseSpecSchema } from '../../registry/use-case-spec.js';
import { migrateToLatest } from '../migrate.js';
import type { Database } from '../schema.js';
import { createUseCaseRepo, type NewVersion, type UseCaseRepo } from './use-case-repo.js';
import { readRegistryRevision } from './vendor-repo.js';

export interface UseCaseDbUnderTest {
  readonly db: Kysely<Database>;
  readonly cleanup?: () => Promise<void>;
}

const at = 1_800_000_000_000;

function version(number: number, overrides: Partial<NewVersion> = {}): NewVersion {
  return {
    number,
    spec: useCaseSpecSchema.parse(adminSpec()),
    state: 'draft',
    createdBy: 'u-author',
    createdAt: at,
    reason: 'first draft',
    submittedBy: null,
    submittedAt: null,
    approvedAt: null,
    decidedAt: null,
    ...overrides,
  };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    return isGatewayError(err) ? err.code : 'other';
  }
  return undefined;
}

export function describeUseCaseRepoContract(name: string, open: () => Promise<UseCaseDbUnderTest>): void {
  describe(`use-case repository: ${name}`, () => {
    let under: UseCaseDbUnderTest;
    let repo: UseCaseRepo;

    beforeEach(async () => {
      under = await open();
      await migrateToLatest(under.db);
      repo = createUseCaseRepo(under.db);
    });

    afterEach(async () => {
      await under.db.destroy();
      await under.cleanup?.();
    });

    const create = () =>
      repo.apply({
        id: 'pa-letters', expectedVersion: 0, state: 'draft', liveVersion: null, createdBy: 'u-author', at,
        newVersions: [version(1)],
        transitions: [{ version: 1, action: 'create', fromState: null, toState: 'draft', actor: 'u-author', reason: null }],
      });

    it('creates a use case with its first version and bumps the registry revision', async () => {
      const before = await readRegistryRevision(under.db);
      const { useCase, revision } = await create();
      expect(useCase).toEqual({ id: 'pa-letters', state: 'draft', liveVersion: null, version: 1, createdBy: 'u-author', createdAt: at, updatedAt: at });
      expect(revision).toBe(before + 1);
      const got = await repo.get('pa-letters');
      expect(got?.useCase).toEqual(useCase);
      expect(got?.versions).toHaveLength(1);
      expect(got?.versions[0]?.spec.data.freeText).toBe(true);
      expect(got?.versions[0]?.reason).toBe('first draft');
      expect(await repo.history('pa-letters')).toMatchObject([{ action: 'create', fromState: null, toState: 'draft', version: 1, actor: 'u-author' }]);
      expect(await codeOf(create())).toBe('use_case_exists');
      expect(await readRegistryRevision(under.db)).toBe(before + 1);
    });

    it('writes only over the version it read, and rolls back a failed change whole', async () => {
      await create();
      const change = { id: 'pa-letters', state: 'submitted' as const, liveVersion: null, at: at + 1, versionUpdates: [{ number: 1, state: 'submitted' as const, submittedBy: 'u-author', submittedAt: at + 1 }] };
      expect((await repo.apply({ ...change, expectedVersion: 1 })).useCase.version).toBe(2);
      expect(await codeOf(repo.apply({ ...change, expectedVersion: 1 }))).toBe('use_case_version_conflict');
      expect(await codeOf(repo.apply({ ...change, id: 'nope', expectedVersion: 1 }))).toBe('use_case_not_found');
      const revision = await readRegistryRevision(under.db);
      // The use-case row moves first; an update naming a missing version then fails, and nothing stays.
      expect(await codeOf(repo.apply({ ...change, expectedVersion: 2, state: 'approved', versionUpdates: [{ number: 9, state: 'approved' }] }))).toBe('use_case_version_not_found');
      expect((await repo.get('pa-letters'))?.useCase).toMatchObject({ state: 'submitted', version: 2 });
      expect(await readRegistryRevision(under.db)).toBe(revision);
    });

    it('keeps one decision per person and one approval per seat', async () => {
      await create();
      const approval = { version: 1, seat: 'chair', role: 'cmio', userId: 'u-cmio', decision: 'approve' as const, reason: 'ok', at: at + 2, source: 'console' as const };
      await repo.apply({ id: 'pa-letters', expectedVersion: 1, state: 'draft', liveVersion: null, at: at + 2, approvals: [approval] });
      expect(await codeOf(repo.apply({ id: 'pa-letters', expectedVersion: 2, state: 'draft', liveVersion: null, at: at + 3, approvals: [{ ...approval, seat: 'security' }] }))).toBe('other');
      expect(await codeOf(repo.apply({ id: 'pa-letters', expectedVersion: 2, state: 'draft', liveVersion: null, at: at + 3, approvals: [{ ...approval, userId: 'u-cmio2' }] }))).toBe('other');
      // A rejection in a filled seat is a different person's decision and is kept.
      await repo.apply({ id: 'pa-letters', expectedVersion: 2, state: 'draft', liveVersion: null, at: at + 3, approvals: [{ ...approval, userId: 'u-cmio2', decision: 'reject' }] });
      expect((await repo.get('pa-letters'))?.approvals.map((a) => [a.userId, a.decision])).toEqual([['u-cmio', 'approve'], ['u-cmio2', 'reject']]);
    });

    it('serves the live version spec of live use cases only', async () => {
      await create();
      await repo.apply({
        id: 'other', expectedVersion: 0, state: 'live', liveVersion: 2, createdBy: 'u-author', at,
        newVersions: [version(1, { state: 'superseded', approvedAt: at }), version(2, { state: 'approved', approvedAt: at, spec: useCaseSpecSchema.parse(adminSpec({ roles: ['coder'] })) })],
      });
      await repo.apply({ id: 'third', expectedVersion: 0, state: 'suspended', liveVersion: 1, createdBy: 'u-author', at, newVersions: [version(1, { state: 'approved', approvedAt: at })] });
      const serving = await repo.serving();
      expect(serving.map((s) => [s.id, s.state, s.liveVersion, s.spec?.roles])).toEqual([
        ['other', 'live', 2, ['coder']],
        ['pa-letters', 'draft', null, undefined],
        ['third', 'suspended', 1, undefined],
      ]);
      expect((await repo.list()).map((a) => [a.useCase.id, a.versions.length])).toEqual([['other', 2], ['pa-letters', 1], ['third', 1]]);
    });

    it('refuses to read a row that no longer holds a valid spec', async () => {
      await create();
      await under.db.updateTable('use_case_versions').set({ spec: '{"name":"x"}' }).execute();
      await expect(repo.get('pa-letters')).rejects.toThrow(/valid use-case spec/);
      await expect(repo.apply({ id: 'bad', expectedVersion: 0, state: 'draft', liveVersion: null, createdBy: 'u', at, newVersions: [version(1, { spec: { name: 'x' } as never })] })).rejects.toThrow();
      expect(await under.db.selectFrom('use_cases').select('id').where('id', '=', 'bad').executeTakeFirst()).toBeUndefined();
    });
  });
}
