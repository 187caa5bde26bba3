// SPDX-License-Identifier: Apache-2.0
/** The `phigate` command as a user runs it: a child process, its output and its exit code. */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = new URL('../../bin/phigate.js', import.meta.url).pathname;
const homes: string[] = [];
function tempHome(): string {
  const dir = mkdtempSync(join(tmpdir(), 'phigate-cli-'));
  homes.push(dir);
  return join(dir, 'state');
}
afterAll(() => {
  for (const dir of homes) rmSync(dir, { recursive: true, force: true });
});

async function phigate(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('phigate CLI', () => {
  it('documents every command in --help', async () => {
    const { code, stdout } = await phigate(['--help']);
    expect(code).toBe(0);
    for (const command of ['init', 'serve', 'start', 'deid']) expect(stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    const serveHelp = await phigate(['serve', '--help']);
    expect(serveHelp.stdout).toContain('--home <dir>');
    expect(serveHelp.stdout).toContain('--port <port>');
  });

  it('initialises a state folder and prints the scriptable JSON', async () => {
    const home = tempHome();
    const { code, stdout } = await phigate(['init', '--home', home, '--yes', '--json']);
    expect(code).toBe(0);
    const printed = JSON.parse(stdout) as { baseUrl: string; apiKey: string; caCertPath: string };
    expect(printed.baseUrl).toBe('https://127.0.0.1:8443/v1');
    expect(printed.apiKey).toMatch(/^phigate_/);
    expect(printed.caCertPath).toBe(join(home, 'tls', 'cert.pem'));
    expect(statSync(join(home, 'keys', 'local-kek')).mode & 0o777).toBe(0o600);
    const again = await phigate(['init', '--home', home, '--yes']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already initialised');
  });

  it('refuses to serve an invalid configuration before opening a port, naming the path', async () => {
    const home = tempHome();
    await phigate(['init', '--home', home, '--yes', '--json']);
    writeFileSync(join(home, 'phigate.yaml'), 'server:\n  port: 70000\n');
    const { code, stderr } = await phigate(['serve', '--home', home]);
    expect(code).toBe(1);
    expect(stderr).toContain('server.port');
    expect(stderr).not.toContain('listening');
  });

  it('exits with a clear message when the port is taken, instead of hanging', async () => {
    const home = tempHome();
    await phigate(['init', '--home', home, '--yes', '--json']);
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      const { code, stderr } = await phigate(['serve', '--home', home, '--port', String(port)]);
      expect(code).toBe(1);
      expect(stderr).toContain(`cannot listen on 127.0.0.1:${port} (EADDRINUSE)`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('serves, answers /healthz and stops cleanly on SIGTERM', async () => {
    const home = tempHome();
    await phigate(['init', '--home', home, '--yes', '--json']);
    const child = spawn(process.execPath, [bin, 'serve', '--home', home, '--port', '0'], { env: { PATH: process.env.PATH ?? '', PHIGATE_LOGGING__LEVEL: 'info' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const baseUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line: ${output}`)), 30_000);
      child.stdout.on('data', () => {
        const match = /"baseUrl":"([^"]+)"/.exec(output);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    expect(baseUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/v1$/);
    const dispatcher = new Agent({ connect: { ca: readFileSync(join(home, 'tls', 'cert.pem'), 'utf8') } });
    const health = await request(baseUrl.replace(/\/v1$/, '/healthz'), { dispatcher });
    expect(health.statusCode).toBe(200);
    await health.body.dump();
    await dispatcher.close();
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(`${code}/${signal}`)));
    child.kill('SIGTERM');
    expect(await exited, errors).toBe('0/null');
  });
});
