// SPDX-License-Identifier: Apache-2.0
/**
 * Patient-level access through the real gateway: care teams, units, purposes, break-glass with a
 * real webhook receiving the alert, the review queue, imports, and attempts to reach a patient
 * by swapping ids in headers, bodies and delegation claims. Nothing refused reaches the vendor.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../../src/access/alerts/webhook.js';
import { generateApiKey } from '../../src/auth/api-keys.js';
import { uuidv7 } from '../../src/kernel/ids.js';
import { startFakeOpenAiServer } from '../../src/providers/testing/fake-openai-server.js';
import type { FakeVendorServer } from '../../src/providers/testing/fake-server.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

interface Hook {
  readonly body: string;
  readonly signature: string | undefined;
  readonly timestamp: string | undefined;
}

let gw: TestGateway;
let upstream: FakeVendorServer;
let hookServer: Server;
const hooks: Hook[] = [];
let secretDir: string;
const webhookSecret = 'whsec-test-0123456789';
const keys: Record<string, string> = {};
const ids: Record<string, string> = {};

async function createUser(name: string, roles: string[], kind: 'user' | 'service' = 'user'): Promise<void> {
  const store = gw.gateway.store;
  const id = uuidv7();
  await store.users.create({ id, name, roles, kind });
  const key = generateApiKey((secret) => store.fieldCrypto.blindIndex(secret, 'api-key'));
  await store.apiKeys.create({ id: key.keyId, userId: id, secretHash: key.secretHash, roles, useCases: [] });
  keys[name] = key.key;
  ids[name] = id;
}

async function call(path: string, key: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const response = await request(`${gw.baseUrl.replace(/\/v1$/, '')}${path}`, {
    method: (init.method ?? 'POST') as 'POST',
    dispatcher: gw.dispatcher,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...init.headers },
    ...(init.method === 'GET' ? {} : { body: JSON.stringify(init.body ?? {}) }),
  });
  const text = await response.body.text();
  return { status: response.statusCode, body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>, requestId: String(response.headers['x-request-id']) };
}

const chatBody = { model: 'gpt-4o', messages: [{ role: 'user', content: 'Summarise the latest labs.' }] };

function chat(user: string, headers: Record<string, string>, body: unknown = chatBody) {
  return call('/v1/chat/completions', keys[user] as string, { body, headers });
}

const admin = (path: string, body?: unknown, method = 'POST') => call(`/admin/api/access${path}`, gw.apiKey, { body, method });

async function auditEvents(requestId: string) {
  const rows = await gw.gateway.store.db.selectFrom('audit_events').select(['body', 'stage', 'event_type']).where('request_id', '=', requestId).orderBy('seq').execute();
  return rows.map((row) => JSON.parse(row.body) as Record<string, unknown>);
}

function filesUnder(path: string): string[] {
  return readdirSync(path).flatMap((name) => (statSync(join(path, name)).isDirectory() ? filesUnder(join(path, name)) : [join(path, name)]));
}

function errorCode(res: { body: Record<string, unknown> }): unknown {
  return (res.body.error as { code?: string } | undefined)?.code;
}

beforeAll(async () => {
  hookServer = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      hooks.push({ body, signature: req.headers['x-phigate-signature'] as string | undefined, timestamp: req.headers['x-phigate-timestamp'] as string | undefined });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
  secretDir = mkdtempSync(join(tmpdir(), 'phigate-access-secret-'));
  writeFileSync(join(secretDir, 'webhook'), webhookSecret, { mode: 0o600 });
  upstream = await startFakeOpenAiServer({ apiKey: 'k' });
  gw = await startTestGateway({
    env: { KEY: 'k' },
    config: {
      endpoints: [{ id: 'cloud', kind: 'openai', baseUrl: `${upstream.url}/v1`, apiKey: 'env:KEY', vendor: 'acme', models: [{ name: 'gpt-4o' }] }],
      access: {
        breakGlass: {
          channels: [{ kind: 'webhook', id: 'privacy-office', url: `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/alerts`, secret: `file:${join(secretDir, 'webhook')}` }],
          pollMs: 100,
          retryBaseMs: 50,
        },
      },
    },
  });
  await createUser('dr-house', ['physician']);
  await createUser('nurse-joy', ['nurse']);
  await createUser('sam-sched', ['scheduler']);
  await createUser('er-doc', ['physician']);
  await createUser('far-doc', ['physician']);
  await createUser('pat-privacy', ['privacy_officer']);
  await createUser('scribe-bot', ['ai_service'], 'service');
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
  await new Promise<void>((resolve) => hookServer?.close(() => resolve()));
  rmSync(secretDir, { recursive: true, force: true });
});

describe('care-team access', () => {
  it('lets an assigned physician in and keeps an unassigned patient out before any vendor call', async () => {
    expect((await admin('/care-team', { user: 'dr-house', patient: 'Patient/p1', role: 'attending' })).status).toBe(201);
    const allowed = await chat('dr-house', { 'x-phigate-patient': 'Patient/p1', 'x-phigate-purpose': 'TREAT' });
    expect(allowed.status).toBe(200);
    const allowedEvents = await auditEvents(allowed.requestId);
    expect(allowedEvents.at(-1)).toMatchObject({ stage: 'completed', accessBasis: 'care_team' });

    const before = upstream.requests.length;
    const denied = await chat('dr-house', { 'x-phigate-patient': 'Patient/p2', 'x-phigate-purpose': 'TREAT' });
    expect(denied.status).toBe(403);
    expect(errorCode(denied)).toBe('patient_access_denied');
    expect(upstream.requests.length).toBe(before);
    const events = await auditEvents(denied.requestId);
    expect(events.map((e) => e.stage)).toEqual(['refused']);
    expect(events[0]).toMatchObject({ outcome: 'denied', errorCode: 'patient_access_denied' });
  });

  it('never gains access by swapping patient ids in headers, bodies or delegation claims', async () => {
    const before = upstream.requests.length;
    const attempts = [
      // Another patient in the header, the assigned one in the body.
      chat('dr-house', { 'x-phigate-patient': 'Patient/p2', 'x-phigate-purpose': 'TREAT' }, { ...chatBody, user: 'Patient/p1', metadata: { patient: 'Patient/p1' } }),
      // Ids differ by case or by suffix.
      chat('dr-house', { 'x-phigate-patient': 'Patient/P1', 'x-phigate-purpose': 'TREAT' }),
      chat('dr-house', { 'x-phigate-patient': 'Patient/p1.1', 'x-phigate-purpose': 'TREAT' }),
      // A user borrowing the assigned physician's identity.
      chat('sam-sched', { 'x-phigate-patient': 'Patient/p1', 'x-phigate-purpose': 'TREAT', 'x-phigate-on-behalf-of': ids['dr-house'] as string }),
      // A service account naming a patient with nobody behind it.
      call('/v1/chat/completions', keys['scribe-bot'] as string, { body: chatBody, headers: { 'x-phigate-patient': 'Patient/p1', 'x-phigate-purpose': 'TREAT' } }),
    ];
    const results = await Promise.all(attempts);
    for (const res of results) expect(res.status, JSON.stringify(res.body)).toBeGreaterThanOrEqual(400);
    expect(results.map(errorCode)).toEqual(['patient_access_denied', 'patient_access_denied', 'patient_access_denied', 'on_behalf_of_denied', 'on_behalf_of_required']);
    // Two patients at once (a repeated header arrives joined) is malformed, not "either".
    const twice = await request(`${gw.baseUrl}/chat/completions`, {
      method: 'POST',
      dispatcher: gw.dispatcher,
      headers: [
        'authorization', `Bearer ${keys['dr-house']}`, 'content-type', 'application/json',
        'x-phigate-patient', 'Patient/p2', 'x-phigate-patient', 'Patient/p1', 'x-phigate-purpose', 'TREAT',
      ],
      body: JSON.stringify(chatBody),
    });
    await twice.body.text();
    expect(twice.statusCode).toBe(400);
    expect(upstream.requests.length).toBe(before);
    // The same patient written as an absolute reference is the same patient.
    expect((await chat('dr-house', { 'x-phigate-patient': 'https://ehr.example.org/fhir/Patient/p1', 'x-phigate-purpose': 'TREAT' })).status).toBe(200);
  });

  it('acts for a delegating user only with that user\'s access', async () => {
    expect((await call(`/admin/api/users/${ids['scribe-bot']}/delegations`, gw.apiKey, { body: { userId: ids['dr-house'] } })).status).toBe(201);
    const asHouse = { 'x-phigate-on-behalf-of': ids['dr-house'] as string, 'x-phigate-purpose': 'TREAT' };
    const ok = await call('/v1/chat/completions', keys['scribe-bot'] as string, { body: chatBody, headers: { ...asHouse, 'x-phigate-patient': 'Patient/p1' } });
    expect(ok.status).toBe(200);
    const other = await call('/v1/chat/completions', keys['scribe-bot'] as string, { body: chatBody, headers: { ...asHouse, 'x-phigate-patient': 'Patient/p2' } });
    expect(errorCode(other)).toBe('patient_access_denied');
  });

  it('checks the purpose against the role: a scheduler cannot claim treatment', async () => {
    await admin('/care-team', { user: 'sam-sched', patient: 'Patient/p1', role: 'front-desk' });
    expect(errorCode(await chat('sam-sched', { 'x-phigate-patient': 'Patient/p1', 'x-phigate-purpose': 'TREAT' }))).toBe('purpose_not_allowed');
    expect((await chat('sam-sched', { 'x-phigate-patient': 'Patient/p1', 'x-phigate-purpose': 'PATADMIN' })).status).toBe(200);
  });

  it('requires the role check for requests naming no patient', async () => {
    expect((await chat('nurse-joy', {})).status).toBe(200);
    expect(errorCode(await chat('pat-privacy', {}))).toBe('permission_denied');
  });

  it('stops granting once the assignment ends', async () => {
    const created = await admin('/care-team', { user: 'nurse-joy', patient: 'Patient/p9', role: 'primary_nurse' });
    expect((await chat('nurse-joy', { 'x-phigate-patient': 'Patient/p9', 'x-phigate-purpose': 'TREAT' })).status).toBe(200);
    expect((await admin(`/care-team/${String(created.body.id)}/end`)).status).toBe(200);
    expect(errorCode(await chat('nurse-joy', { 'x-phigate-patient': 'Patient/p9', 'x-phigate-purpose': 'TREAT' }))).toBe('patient_access_denied');
  });
});

describe('units and organisations', () => {
  it('grants the same unit, never another organisation', async () => {
    await admin('/units/icu', { organisation: 'general' }, 'PUT');
    await admin('/units/remote-ward', { organisation: 'other-health' }, 'PUT');
    for (const user of ['nurse-joy', 'er-doc', 'far-doc']) await admin(`/profiles/${user}`, { organisation: 'general', breakGlassEligible: user === 'er-doc' }, 'PUT');
    await admin('/units/icu/members', { user: 'nurse-joy' });
    await admin('/units/icu/patients', { patient: 'Patient/p3' });
    await admin('/units/remote-ward/patients', { patient: 'Patient/p4' });
    expect((await chat('nurse-joy', { 'x-phigate-patient': 'Patient/p3', 'x-phigate-purpose': 'TREAT' })).status).toBe(200);
    // Not a member of the ward, even in the same organisation.
    expect(errorCode(await chat('far-doc', { 'x-phigate-patient': 'Patient/p3', 'x-phigate-purpose': 'TREAT' }))).toBe('patient_access_denied');
    // Another organisation's patient: refused, even with a care-team row and break-glass.
    await admin('/care-team', { user: 'er-doc', patient: 'Patient/p4', role: 'consult' });
    const glass = await chat('er-doc', { 'x-phigate-patient': 'Patient/p4', 'x-phigate-purpose': 'ETREAT', 'x-phigate-break-glass': 'emergency_treatment:unconscious patient, no records' });
    expect(glass.body.error).toMatchObject({ code: 'patient_access_denied', detail: { reason: 'other_organisation' } });
  });
});

describe('break-glass', () => {
  it('opens a session only for an eligible user, alerts the webhook, flags every request and goes to review', async () => {
    const reason = 'unresponsive patient in the ED, no chart available';
    const notEligible = await chat('far-doc', { 'x-phigate-patient': 'Patient/p5', 'x-phigate-purpose': 'ETREAT', 'x-phigate-break-glass': `emergency_treatment:${reason}` });
    expect(errorCode(notEligible)).toBe('patient_access_denied');
    const malformed = await chat('er-doc', { 'x-phigate-patient': 'Patient/p5', 'x-phigate-purpose': 'ETREAT', 'x-phigate-break-glass': 'because' });
    expect(errorCode(malformed)).toBe('invalid_header');

    const opened = await chat('er-doc', { 'x-phigate-patient': 'Patient/p5', 'x-phigate-purpose': 'ETREAT', 'x-phigate-break-glass': `emergency_treatment:${reason}` });
    expect(opened.status).toBe(200);
    const events = await auditEvents(opened.requestId);
    const start = events.find((e) => e.type === 'breakglass.start');
    const closing = events.at(-1) as Record<string, unknown>;
    expect(start).toMatchObject({ breakGlass: true, detail: { category: 'emergency_treatment', alertsQueued: 1 } });
    expect(closing).toMatchObject({ stage: 'completed', breakGlass: true, accessBasis: 'break_glass', breakGlassSessionId: start?.breakGlassSessionId });
    // The free text is nowhere in the audit log.
    const all = await gw.gateway.store.db.selectFrom('audit_events').select('body').execute();
    expect(all.some((row) => row.body.includes('unresponsive'))).toBe(false);

    // Later requests in the time box are flagged without asking again.
    const again = await chat('er-doc', { 'x-phigate-patient': 'Patient/p5', 'x-phigate-purpose': 'ETREAT' });
    expect((await auditEvents(again.requestId)).at(-1)).toMatchObject({ breakGlass: true, breakGlassSessionId: start?.breakGlassSessionId });
    // …but only for that patient.
    expect(errorCode(await chat('er-doc', { 'x-phigate-patient': 'Patient/p6', 'x-phigate-purpose': 'ETREAT' }))).toBe('patient_access_denied');

    // The alert reached the webhook, signed, without the reason.
    await expect.poll(() => hooks.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    const hook = hooks[0] as Hook;
    expect(hook.signature).toBe(signWebhook(webhookSecret, hook.timestamp as string, hook.body));
    expect(JSON.parse(hook.body)).toMatchObject({ type: 'phigate.break_glass.started', sessionId: start?.breakGlassSessionId, userId: ids['er-doc'], category: 'emergency_treatment' });
    expect(hook.body).not.toContain('unresponsive');
    expect(hook.body).not.toContain('p5');

    // The review queue: only the privacy officer; misuse makes an incident.
    expect(errorCode(await call('/admin/api/access/break-glass?status=open', gw.apiKey, { method: 'GET' }))).toBe('permission_denied');
    const queue = await call('/admin/api/access/break-glass?status=open', keys['pat-privacy'] as string, { method: 'GET' });
    const open = (queue.body.data as { id: string; reason: string; patient: string }[]).find((s) => s.id === start?.breakGlassSessionId);
    expect(open).toMatchObject({ reason, patient: 'Patient/p5' });
    const reviewed = await call(`/admin/api/access/break-glass/${String(open?.id)}/review`, keys['pat-privacy'] as string, { body: { outcome: 'misuse', note: 'patient was not in the ED' } });
    expect(reviewed.body).toMatchObject({ reviewStatus: 'misuse' });
    const incidents = await call('/admin/api/access/incidents', keys['pat-privacy'] as string, { method: 'GET' });
    expect(incidents.body.data).toEqual([expect.objectContaining({ kind: 'break_glass_misuse', sessionId: open?.id, userId: ids['er-doc'] })]);
    const reviewEvents = await auditEvents(reviewed.requestId);
    expect(reviewEvents).toEqual([expect.objectContaining({ type: 'breakglass.review', detail: expect.objectContaining({ outcome: 'misuse' }) })]);
    // Nothing under the state folder (database, WAL, logs) holds the reason in clear.
    for (const file of filesUnder(gw.home)) expect(readFileSync(file).includes(Buffer.from('unresponsive patient')), file).toBe(false);
    expect(readFileSync(join(gw.home, 'phigate.log'), 'utf8')).toContain('/v1/chat/completions');
    // A closed review cannot be reopened.
    expect(errorCode(await call(`/admin/api/access/break-glass/${String(open?.id)}/review`, keys['pat-privacy'] as string, { body: { outcome: 'justified' } }))).toBe('invalid_request');
  });
});

describe('break-glass through the admin API', () => {
  it('opens a session for the caller, after which their requests for that patient are flagged', async () => {
    const headers = { 'x-phigate-patient': 'Patient/p10', 'x-phigate-purpose': 'ETREAT' };
    expect(errorCode(await chat('er-doc', headers))).toBe('patient_access_denied');
    const refused = await call('/admin/api/access/break-glass', keys['far-doc'] as string, { body: { patient: 'Patient/p10', category: 'patient_safety', reason: 'needs allergy list now', purpose: 'ETREAT' } });
    expect(errorCode(refused)).toBe('patient_access_denied');
    const opened = await call('/admin/api/access/break-glass', keys['er-doc'] as string, { body: { patient: 'Patient/p10', category: 'patient_safety', reason: 'needs allergy list now', purpose: 'ETREAT', minutes: 5 } });
    expect(opened.status).toBe(201);
    expect((opened.body.expiresAt as number) - (opened.body.startedAt as number)).toBe(5 * 60_000);
    const next = await chat('er-doc', headers);
    expect(next.status).toBe(200);
    expect((await auditEvents(next.requestId)).at(-1)).toMatchObject({ breakGlass: true, breakGlassSessionId: opened.body.id });
    // Ending it early closes the door again.
    expect((await call(`/admin/api/access/break-glass/${String(opened.body.id)}/end`, keys['er-doc'] as string)).status).toBe(200);
    expect(errorCode(await chat('er-doc', headers))).toBe('patient_access_denied');
  });
});

describe('imports and administration', () => {
  it('imports a CSV all-or-nothing, naming lines but never values', async () => {
    const bad = await admin('/care-team/import', { csv: 'user,patient,role,start,end\nnurse-joy,Patient/p20,primary_nurse,2026-01-01,\nghost-user,Patient/p21,attending,2026-01-01,\n' });
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ imported: 0, problems: [{ at: 'line 3', field: 'user', problem: 'no such user' }] });
    expect(JSON.stringify(bad.body)).not.toContain('p21');
    expect(errorCode(await chat('nurse-joy', { 'x-phigate-patient': 'Patient/p20', 'x-phigate-purpose': 'TREAT' }))).toBe('patient_access_denied');

    const good = await admin('/care-team/import', {
      csv: 'user,patient,role,start,end\r\nnurse-joy,Patient/p20,primary_nurse,2026-01-01,\r\n"dr-house",p21,"night attending",2026-01-01T08:00:00Z,2099-01-01\r\n',
    });
    expect(good.body).toMatchObject({ imported: 2, problems: [] });
    expect((await chat('nurse-joy', { 'x-phigate-patient': 'Patient/p20', 'x-phigate-purpose': 'TREAT' })).status).toBe(200);
    expect((await chat('dr-house', { 'x-phigate-patient': 'Patient/p21', 'x-phigate-purpose': 'TREAT' })).status).toBe(200);
  });

  it('refuses care-team changes to those without the permission, and audits every change', async () => {
    expect(errorCode(await call('/admin/api/access/care-team', keys['dr-house'] as string, { body: { user: 'dr-house', patient: 'Patient/p7', role: 'attending' } }))).toBe('permission_denied');
    const created = await admin('/care-team', { user: 'dr-house', patient: 'Patient/p8', role: 'attending' });
    const events = await auditEvents(created.requestId);
    expect(events).toEqual([expect.objectContaining({ type: 'careteam.assign', patientHash: expect.any(String), actor: expect.objectContaining({ roles: ['admin'] }) })]);
    expect(JSON.stringify(events)).not.toContain('p8');
  });
});
