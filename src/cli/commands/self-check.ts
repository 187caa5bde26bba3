// SPDX-License-Identifier: Apache-2.0
/**
 * The first-run demonstration: one chat completion with a synthetic note through the gateway to
 * the echo endpoint, printing what a vendor would have received — so a new user sees the
 * boundary working without any vendor account.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import pc from 'picocolors';
import { inHome, type RunningGateway } from '../../main.js';

const syntheticNote = 'Summarise in one line: 58-year-old seen for follow-up of type 2 diabetes; HbA1c 7.9%, metformin continued.';

export async function runSelfCheck(gateway: RunningGateway, apiKey: string, home: string): Promise<void> {
  const echo = gateway.config.endpoints.find((endpoint) => endpoint.kind === 'echo');
  const model = echo?.models[0]?.name;
  if (!model) {
    process.stderr.write('  (no echo endpoint configured: skipping the demonstration request)\n');
    return;
  }
  const tls = gateway.config.server.tls;
  const dispatcher = new Agent({ connect: tls.enabled ? { ca: readFileSync(inHome(home, tls.certFile), 'utf8') } : {} });
  try {
    const response = await request(`${gateway.baseUrl}/chat/completions`, {
      method: 'POST',
      dispatcher,
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: syntheticNote }] }),
    });
    const body = (await response.body.json()) as { choices?: { message?: { content?: string } }[] };
    const received = body.choices?.[0]?.message?.content ?? '';
    process.stderr.write(
      [
        `${pc.green('✔')} self-check: POST /v1/chat/completions → ${response.statusCode}, audited`,
        `  what the vendor would have received (echo endpoint):`,
        ...received.split('\n').map((line) => `    ${pc.dim(line)}`),
        `  try it yourself:`,
        `    curl --cacert ${inHome(home, tls.certFile)} ${gateway.baseUrl}/chat/completions \\`,
        `      -H "authorization: Bearer $PHIGATE_API_KEY" -H "content-type: application/json" \\`,
        `      -d '{"model":"${model}","messages":[{"role":"user","content":"Hello"}]}'`,
        '',
      ].join('\n'),
    );
  } finally {
    await dispatcher.close();
  }
}
