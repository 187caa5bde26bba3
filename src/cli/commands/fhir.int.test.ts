// SPDX-License-Identifier: Apache-2.0
/** `phigate fhir jwks|check` against a real state folder and the local SMART/FHIR server. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from '@commander-js/extra-typings';
import type { JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse, stringify } from 'yaml';
import { startFhirTestServer, type FhirTestServer } from '../../fhir/testing/fhir-server.js';
import { createSmartTestKey } from '../../fhir/testing/smart-keys.js';
import { initHome } from '../../main.js';
import { registerFhirCommand } from './fhir.js';

let home: string;
let server: FhirTestServer;

beforeAll(async () => {
  home = join(mkdtempSync(join(tmpdir(), 'phigate-fhir-cli-')), 'state');
  await initHome(home, {});
  const key = await createSmartTestKey('RS384', 'cli-key');
  writeFileSync(join(home, 'smart-key.pem'), key.pem, { mode: 0o600 });
  server = await startFhirTestServer();
  const file = join(home, 'phigate.yaml');
  const config = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, stringify({ ...config, fhir: { baseUrl: server.baseUrl, clientId: 'phigate-cli', privateKey: 'file:smart-key.pem', keyId: 'cli-key' } }));
});
afterAll(async () => {
  await server.close();
  rmSync(join(home, '..'), { recursive: true, force: true });
});

async function run(...args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number | undefined }> {
  const program = new Command().name('phigate').exitOverride();
  registerFhirCommand(program);
  const out: string[] = [];
  const err: string[] = [];
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err.push(String(chunk));
    return true;
  });
  const before = process.exitCode;
  try {
    await program.parseAsync([...args, '--home', home], { from: 'user' });
    return { stdout: out.join(''), stderr: err.join(''), exitCode: process.exitCode === before ? undefined : (process.exitCode as number) };
  } finally {
    process.exitCode = before;
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

describe('phigate fhir', () => {
  it('check fails while the EHR does not know our key, and works once the printed JWKS is registered', async () => {
    const refused = await run('fhir', 'check', '--json');
    expect(JSON.parse(refused.stdout)).toEqual({ ok: false, code: 'fhir_unavailable', detail: { stage: 'token', reason: 'token_refused', status: 401 } });
    expect(refused.exitCode).toBe(1);

    const jwks = JSON.parse((await run('fhir', 'jwks')).stdout) as JSONWebKeySet;
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', kid: 'cli-key', alg: 'RS384', use: 'sig' });
    expect(JSON.stringify(jwks)).not.toMatch(/"d"|PRIVATE/);
    server.registerClient({ clientId: 'phigate-cli', jwks });

    const ok = await run('fhir', 'check');
    expect(ok.stderr).toBe('SMART Backend Services works: a token for system/Patient.rs was granted\n');
    expect(ok.exitCode).toBeUndefined();
    // No patient data was read.
    expect(server.requests).toEqual([]);
  });
});
