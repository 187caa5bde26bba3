// SPDX-License-Identifier: Apache-2.0
/**
 * Starting the things under test, all pointed at the same mock upstream on loopback:
 * `direct` (the mock itself), `min-undici` (the floor), `phigate` (through its CLI, with
 * authentication and audit on) and `portkey` (the peer, installed in `peer/`). A target that
 * cannot start is reported with a reason and the run goes on without it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { freePort, waitForPort } from './children.js';
import type { ChildRegistry, ManagedChild } from './children.js';
import type { TargetName } from './options.js';

/** The model name every request carries; phigate's config maps it to the mock. */
export const BENCH_MODEL = 'gpt-4o-mini';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const REPO_ROOT = join(HERE, '..', '..');
const PEER_DIR = join(HERE, 'peer');
const PORTKEY_SERVER = join(PEER_DIR, 'node_modules', '@portkey-ai', 'gateway', 'build', 'start-server.js');

const tempHomes = new Set<string>();

/** Removes phigate state folders the run created; safe to call from a synchronous exit handler. */
export function removeTempHomesSync(): void {
  for (const home of tempHomes) rmSync(home, { recursive: true, force: true });
  tempHomes.clear();
}

/** A target ready for load. */
export interface RunningTarget {
  readonly name: TargetName;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The gateway process whose CPU is sampled; null for `direct`. */
  readonly pid: number | null;
  /** Version or build facts for the header. */
  readonly detail: string;
  stop(): Promise<void>;
}

/** Either a running target or the reason it is not. */
export type TargetStart = { readonly ok: true; readonly target: RunningTarget } | { readonly ok: false; readonly name: TargetName; readonly reason: string };

/** What every starter needs. */
export interface StartContext {
  readonly registry: ChildRegistry;
  readonly mockPort: number;
  readonly say: (line: string) => void;
  /** The phigate CLI script; default `bin/phigate.js` of this checkout. */
  readonly phigateCli?: string | undefined;
  /** Extra Node flags for gateway processes (e.g. `--cpu-prof`); never for the mock or the load generator. */
  readonly gatewayNodeFlags?: readonly string[];
}

/** Starts one target; never throws for a target that fails to start. */
export async function startTarget(name: TargetName, context: StartContext): Promise<TargetStart> {
  try {
    switch (name) {
      case 'direct':
        return { ok: true, target: { name, url: `http://127.0.0.1:${context.mockPort}/v1/chat/completions`, headers: { authorization: 'Bearer sk-mock' }, pid: null, detail: 'mock upstream', stop: async () => {} } };
      case 'min-undici':
        return { ok: true, target: await startMinUndici(context) };
      case 'phigate':
        return { ok: true, target: await startPhigate(context) };
      case 'portkey':
        return { ok: true, target: await startPortkey(context) };
      default: {
        const unknown: never = name;
        throw new Error(`unknown target ${String(unknown)}`);
      }
    }
  } catch (error) {
    return { ok: false, name, reason: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * The most telling line of a failed process's output: the first error line when there is
 * one (a stack trace's frames and Node's version banner say nothing), else the last lines.
 */
export function telltale(output: string): string {
  const lines = output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('at ') && line !== '^' && !/^Node\.js v\d/.test(line) && !/^[{}]$/.test(line));
  const error = lines.find((line) => /\b\w*Error\b|\berror\b/i.test(line));
  return (error ?? lines.slice(-2).join(' / ')).slice(0, 300);
}

function reasonFrom(child: ManagedChild, error: unknown): Error {
  const detail = telltale(child.tail());
  return new Error(`${error instanceof Error ? error.message : String(error)}${detail ? ` (${detail})` : ''}`);
}

async function startMinUndici({ registry, mockPort, gatewayNodeFlags = [] }: StartContext): Promise<RunningTarget> {
  const child = registry.spawn('min-undici', process.execPath, [...gatewayNodeFlags, '--import', 'tsx', join(HERE, 'min-undici.ts'), '0', `http://127.0.0.1:${mockPort}`], { cwd: REPO_ROOT });
  try {
    const match = await child.waitForLine(/^LISTENING (\d+)$/m, 30_000);
    return { name: 'min-undici', url: `http://127.0.0.1:${match[1]}/v1/chat/completions`, headers: { authorization: 'Bearer sk-mock' }, pid: child.pid, detail: 'node:http + undici Pool', stop: () => child.stop() };
  } catch (error) {
    await child.stop();
    throw reasonFrom(child, error);
  }
}

/** Installs the peer from its lock file when it is missing; says what it runs. */
function ensurePortkeyInstalled(say: (line: string) => void): void {
  if (existsSync(PORTKEY_SERVER)) return;
  const args = ['ci', '--prefix', PEER_DIR, '--ignore-scripts', '--no-audit', '--no-fund'];
  say(`portkey: peer not installed; running: npm ${args.join(' ')}`);
  const result = spawnSync('npm', args, { stdio: 'inherit', timeout: 300_000 });
  if (result.status !== 0 || !existsSync(PORTKEY_SERVER)) throw new Error(`npm ci --prefix ${PEER_DIR} failed (exit ${String(result.status ?? result.signal)})`);
}

async function startPortkey({ registry, mockPort, say, gatewayNodeFlags = [] }: StartContext): Promise<RunningTarget> {
  ensurePortkeyInstalled(say);
  const version = (JSON.parse(readFileSync(join(PEER_DIR, 'node_modules', '@portkey-ai', 'gateway', 'package.json'), 'utf8')) as { version: string }).version;
  const port = await freePort();
  const child = registry.spawn('portkey', process.execPath, [...gatewayNodeFlags, '--import', join(HERE, 'force-loopback.mjs'), PORTKEY_SERVER, `--port=${port}`, '--headless'], {
    cwd: PEER_DIR,
    env: { ...process.env, NODE_ENV: 'production' },
  });
  try {
    await waitForPort(port, 60_000, () => child.process.exitCode === null && child.process.signalCode === null);
  } catch (error) {
    await child.stop();
    throw reasonFrom(child, error);
  }
  return {
    name: 'portkey',
    url: `http://127.0.0.1:${port}/v1/chat/completions`,
    // No config file: each request names the provider and points it at the mock (loopback custom hosts are trusted by default).
    headers: { authorization: 'Bearer sk-mock', 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `http://127.0.0.1:${mockPort}/v1` },
    pid: child.pid,
    detail: `@portkey-ai/gateway ${version}`,
    stop: () => child.stop(),
  };
}

interface InitOutput {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly caCertPath?: string;
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/**
 * Rewrites phigate's config for the benchmark: plain HTTP on loopback, no access log, one
 * openai-compatible endpoint (the mock) serving the bench model. Everything else init wrote
 * (store, keys, audit) is kept, since that is what is being measured.
 */
export function benchConfig(original: unknown, port: number, mockPort: number): Record<string, unknown> {
  const config = asRecord(original);
  const server = asRecord(config['server']);
  const logging = asRecord(config['logging']);
  return {
    ...config,
    server: { ...server, host: '127.0.0.1', port, tls: { ...asRecord(server['tls']), enabled: false } },
    logging: { ...logging, accessLog: false, level: 'warn' },
    endpoints: [
      { id: 'mock', kind: 'openai-compatible', baseUrl: `http://127.0.0.1:${mockPort}/v1`, selfHosted: true, models: [{ name: BENCH_MODEL }] },
    ],
  };
}

async function startPhigate({ registry, mockPort, phigateCli, gatewayNodeFlags = [] }: StartContext): Promise<RunningTarget> {
  const cli = resolve(phigateCli ?? join(REPO_ROOT, 'bin', 'phigate.js'));
  if (!existsSync(cli)) throw new Error(`no phigate CLI at ${cli}`);
  // A fresh path inside a private temporary folder, so init never meets an existing state folder.
  const scratch = mkdtempSync(join(tmpdir(), 'phigate-bench-'));
  const home = join(scratch, 'home');
  tempHomes.add(scratch);
  const cleanupHome = () => {
    rmSync(scratch, { recursive: true, force: true });
    tempHomes.delete(scratch);
  };
  try {
    const init = registry.spawn('phigate-init', process.execPath, [cli, 'init', '--home', home, '--yes', '--json'], { cwd: REPO_ROOT });
    const killer = setTimeout(() => void init.stop(1000), 120_000);
    const code = await init.exited;
    clearTimeout(killer);
    if (code !== 0) throw reasonFrom(init, new Error(`phigate init exited with ${String(code)}`));
    const jsonLine = init
      .stdout()
      .split('\n')
      .reverse()
      .find((line) => line.trim().startsWith('{'));
    let output: InitOutput;
    try {
      output = JSON.parse(jsonLine ?? '') as InitOutput;
    } catch {
      throw new Error('phigate init --json printed no JSON object');
    }
    if (typeof output.apiKey !== 'string' || output.apiKey === '') throw new Error('phigate init --json gave no apiKey');
    const configPath = join(home, 'phigate.yaml');
    if (!existsSync(configPath)) throw new Error(`phigate init did not create ${configPath}`);
    const port = await freePort();
    writeFileSync(configPath, stringify(benchConfig(parse(readFileSync(configPath, 'utf8')), port, mockPort)));

    const serve = registry.spawn('phigate', process.execPath, [...gatewayNodeFlags, cli, 'serve', '--home', home], { cwd: REPO_ROOT });
    try {
      await waitForHealth(`http://127.0.0.1:${port}/healthz`, 60_000, () => serve.process.exitCode === null && serve.process.signalCode === null);
    } catch (error) {
      await serve.stop();
      throw reasonFrom(serve, error);
    }
    return {
      name: 'phigate',
      url: `http://127.0.0.1:${port}/v1/chat/completions`,
      headers: { authorization: `Bearer ${output.apiKey}` },
      pid: serve.pid,
      detail: phigateCli ? `phigate CLI ${cli}` : `phigate (${existsSync(join(REPO_ROOT, 'dist', 'cli', 'main.js')) ? 'dist build' : 'sources via tsx'})`,
      stop: async () => {
        await serve.stop();
        cleanupHome();
      },
    };
  } catch (error) {
    cleanupHome();
    throw error;
  }
}

async function waitForHealth(url: string, timeoutMs: number, isAlive: () => boolean): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < until) {
    if (!isAlive()) throw new Error(`the server exited before ${new URL(url).pathname} answered`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
      last = `HTTP ${response.status}`;
    } catch {
      last = 'connection refused';
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${new URL(url).pathname} did not answer 200 within ${timeoutMs} ms (last: ${last})`);
}
