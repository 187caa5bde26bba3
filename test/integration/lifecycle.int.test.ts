// SPDX-License-Identifier: Apache-2.0
/**
 * The state folder and the process: nothing PHI-bearing is stored in clear anywhere under the
 * state folder (database, WAL, logs), and shutdown lets in-flight requests finish.
 */
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startFakeOpenAiServer } from '../../src/providers/testing/fake-openai-server.js';
import { startTestGateway, trustingFetch } from '../support/gateway.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('encryption at rest', () => {
  it('leaves no canary PHI in any file under the state folder', async () => {
    const upstream = await startFakeOpenAiServer({ apiKey: 'k' });
    const gw = await startTestGateway({
      env: { KEY: 'k' },
      config: {
        endpoints: [
          { id: 'echo', kind: 'echo', models: [{ name: 'echo' }] },
          { id: 'cloud', kind: 'openai', baseUrl: `${upstream.url}/v1`, apiKey: 'env:KEY', models: [{ name: 'gpt-4o' }] },
        ],
      },
    });
    const canaries = ['Zebulon Quackenbush', '987-65-4320', 'MRN 55501234', 'zebulon.q@example.net', '(555) 867-5309'];
    try {
      const openai = new OpenAI({ baseURL: gw.baseUrl, apiKey: gw.apiKey, fetch: trustingFetch(gw.dispatcher), maxRetries: 0 });
      const note = `Patient ${canaries[0]}, SSN ${canaries[1]}, ${canaries[2]}, email ${canaries[3]}, phone ${canaries[4]}.`;
      for (const model of ['echo', 'gpt-4o']) {
        await openai.chat.completions.create({ model, messages: [{ role: 'user', content: note }] }, { headers: { 'x-phigate-conversation': 'canary' } });
      }
      // The cloud call stored tokens for every canary in the vault: they must be there, encrypted.
      const vaultRows = await gw.gateway.store.db.selectFrom('token_vault').select('value_enc').execute();
      expect(vaultRows.length).toBeGreaterThanOrEqual(3);
      await gw.gateway.store.db.selectFrom('audit_events').select('seq').execute();
      for (const file of filesUnder(gw.home)) {
        const bytes = readFileSync(file);
        for (const canary of canaries) {
          expect(bytes.includes(Buffer.from(canary, 'utf8')), `${canary} found in ${file}`).toBe(false);
          expect(bytes.includes(Buffer.from(canary, 'utf16le')), `${canary} found in ${file}`).toBe(false);
        }
      }
      // The scan is able to fail: the log file is scanned and does hold what the gateway logs.
      expect(readFileSync(join(gw.home, 'phigate.log'), 'utf8')).toContain('/v1/chat/completions');
    } finally {
      await gw.close();
      await upstream.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('lets an in-flight request finish, then refuses new connections', async () => {
    const upstream = await startFakeOpenAiServer({ apiKey: 'k' });
    const gw = await startTestGateway({
      env: { KEY: 'k' },
      config: { endpoints: [{ id: 'vllm', kind: 'openai-compatible', baseUrl: `${upstream.url}/v1`, apiKey: 'env:KEY', selfHosted: true, models: [{ name: 'm' }] }] },
    });
    try {
      upstream.script({ text: 'finished after shutdown began', delayMs: 300 });
      const inFlight = request(`${gw.baseUrl}/chat/completions`, {
        method: 'POST',
        dispatcher: gw.dispatcher,
        headers: { authorization: `Bearer ${gw.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
      });
      await upstream.waitForRequests(1);
      const closing = gw.gateway.close();
      const response = await inFlight;
      const body = (await response.body.json()) as { choices: { message: { content: string } }[] };
      expect(response.statusCode).toBe(200);
      expect(body.choices[0]?.message.content).toBe('finished after shutdown began');
      await closing;
      const refused = await request(`${gw.baseUrl}/models`, { dispatcher: gw.dispatcher }).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(Error);
    } finally {
      await gw.dispatcher.close();
      await upstream.close();
      rmSync(gw.home, { recursive: true, force: true });
    }
  });
});
