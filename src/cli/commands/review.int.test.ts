// SPDX-License-Identifier: Apache-2.0
// `phigate review` in-process against a real state folder (SQLite file, local key file, audit
// chain): answers held the way the gateway holds them, then listed, opened, claimed, edited,
// rejected and traced to their Provenance from the command line, under the queue's rules.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliStateFolder, runCli, withCliStore } from '../../../test/support/cli-state.js';
import { createSqlAuditSink } from '../../audit/sql-sink.js';
import { createAuditWriter } from '../../audit/writer.js';
import { loadConfig } from '../../config/load.js';
import { systemClock } from '../../kernel/clock.js';
import { sampleResult, treatmentUseCase } from '../../review/queue.contract.js';
import { createReviewQueue } from '../../review/queue.js';
import { loadR4Validator } from '../../review/testing/fhir-r4-validator.js';
import type { OpenedStore } from '../../store/store.js';
import { createLogger } from '../../telemetry/logger.js';

let dir: string;
let home: string;
const held: string[] = [];
const patient = 'Patient/cli-review-1';

async function phigate(...args: string[]): Promise<string> {
  return runCli(home, args);
}

async function withStore<T>(action: (store: OpenedStore) => Promise<T>): Promise<T> {
  return withCliStore(home, action);
}

beforeAll(async () => {
  ({ dir, home } = await createCliStateFolder('phigate-review-cli-'));
  await withStore(async (store) => {
    await store.users.create({ id: 'u-ask', name: 'dr-ask', roles: ['physician'], kind: 'user' });
    await store.users.create({ id: 'u-rev', name: 'dr-review', roles: ['physician'], kind: 'user' });
    await store.users.create({ id: 'u-sec', name: 'ciso', roles: ['security_officer'], kind: 'user' });
  });
  await phigate('careteam', 'add', '--user', 'dr-ask', '--patient', patient, '--role', 'attending');
  await phigate('careteam', 'add', '--user', 'dr-review', '--patient', patient, '--role', 'attending');
  // Held the way the gateway's pipeline holds them.
  await withStore(async (store) => {
    const config = loadConfig({ home, env: {} });
    const audit = await createAuditWriter({ sink: createSqlAuditSink(store.db), writeTimeoutMs: 5000 });
    const deps = { config, store, audit, clock: systemClock, keyedHash: (v: string, p: string) => store.fieldCrypto.blindIndex(v, p), instanceId: 'test', logger: createLogger({ level: 'silent' }) };
    const queue = createReviewQueue(deps);
    for (let i = 0; i < 2; i++) {
      const item = await queue.hold({
        request: { actor: { userId: 'u-ask', kind: 'user', roles: ['physician'], authMethod: 'api_key' }, requestId: `req-${i}` },
        subjectUserId: 'u-ask',
        patient,
        purpose: 'TREAT',
        useCase: treatmentUseCase,
        surface: 'chat.completion',
        endpoint: { id: 'echo' },
        upstreamModel: 'echo',
        result: sampleResult(),
        citations: [{ documentId: 'DocumentReference/n-4', chunkId: 'c1' }],
        jsonMode: false,
      });
      held.push(item.id);
    }
    await audit.drain();
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('phigate review', () => {
  it('lists, opens, claims and edits as the reviewer; the requester may not', async () => {
    const list = JSON.parse(await phigate('review', 'list', '--as', 'dr-review', '--json')) as { id: string; status: string }[];
    expect(list.map((i) => [i.id, i.status])).toEqual(held.map((id) => [id, 'queued']));
    expect(JSON.parse(await phigate('review', 'list', '--as', 'dr-ask', '--json'))).toEqual([]);
    await expect(phigate('review', 'claim', held[0] ?? '', '--as', 'dr-ask')).rejects.toThrow('A reviewer may not review an answer they requested');
    await expect(phigate('review', 'list', '--as', 'nobody')).rejects.toThrow('no active user');

    const shown = await phigate('review', 'show', held[0] ?? '', '--as', 'dr-review');
    expect(shown).toContain(patient);
    expect(shown).toContain('Start metformin 500 mg twice daily');
    expect(shown).toContain('stated confidence: 0.7');

    const claimed = JSON.parse(await phigate('review', 'claim', '--as', 'dr-review', '--json')) as { id: string; status: string; version: number };
    expect(claimed).toMatchObject({ id: held[0], status: 'claimed', version: 2 });
    await expect(phigate('review', 'approve', held[0] ?? '', '--as', 'dr-review', '--version', '1')).rejects.toThrow('changed since it was read');
    const file = join(dir, 'edit.txt');
    writeFileSync(file, 'Start metformin 500 mg once daily.');
    const edited = JSON.parse(await phigate('review', 'edit', held[0] ?? '', '--as', 'dr-review', '--file', file, '--version', '2', '--json')) as { status: string };
    expect(edited.status).toBe('edited');

    const resource = JSON.parse(await phigate('review', 'provenance', held[0] ?? '', '--as', 'ciso')) as Record<string, unknown>;
    const validate = loadR4Validator('Provenance');
    expect(validate(resource) ? [] : validate.errors).toEqual([]);
    expect(resource).toMatchObject({ resourceType: 'Provenance', id: held[0], activity: { coding: [{ code: 'UPDATE' }] } });
  });

  it('rejects with a reason; a decided item cannot be claimed again; everything is in the audit chain', async () => {
    await phigate('review', 'claim', held[1] ?? '', '--as', 'dr-review');
    expect(await phigate('review', 'reject', held[1] ?? '', '--as', 'dr-review', '--reason', 'Contraindicated: eGFR below 30.')).toContain('rejected');
    await expect(phigate('review', 'claim', held[1] ?? '', '--as', 'dr-review')).rejects.toThrow('already been decided');
    expect(await phigate('review', 'claim', '--as', 'dr-review')).toContain('(nothing to claim)');
    const rows = await withStore((store) => store.db.selectFrom('audit_events').select(['body']).where('event_type', 'like', 'review.%').orderBy('seq').execute());
    const events = rows.map((r) => JSON.parse(r.body) as { type: string; outcome: string; actor?: { userId: string; authMethod: string } });
    expect(events.filter((e) => e.actor?.authMethod === 'cli').map((e) => [e.type, e.outcome, e.actor?.userId])).toEqual([
      ['review.list', 'success', 'u-rev'],
      ['review.list', 'success', 'u-ask'],
      ['review.claim', 'denied', 'u-ask'],
      ['review.read', 'success', 'u-rev'],
      ['review.claim', 'success', 'u-rev'],
      ['review.approve', 'denied', 'u-rev'],
      ['review.edit', 'success', 'u-rev'],
      ['review.provenance', 'success', 'u-sec'],
      ['review.claim', 'success', 'u-rev'],
      ['review.reject', 'success', 'u-rev'],
      ['review.claim', 'denied', 'u-rev'],
      ['review.claim', 'success', 'u-rev'],
    ]);
    for (const row of rows) expect(row.body).not.toContain('metformin');
  });
});
