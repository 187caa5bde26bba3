// SPDX-License-Identifier: Apache-2.0
/**
 * Child processes of the benchmark (mock, gateways, load generators): spawned directly (no
 * shell, so the pid is the server itself and its CPU can be sampled), their output appended
 * to one log file, and every one of them stopped on exit, on Ctrl-C and on a deadline.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { connect } from 'node:net';

/** A process the registry started. */
export interface ManagedChild {
  readonly name: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** Everything the process wrote to stdout so far. */
  stdout(): string;
  /** The last part of stderr and stdout, for a failure reason. */
  tail(): string;
  /** Resolves with the first match of `pattern` in stdout; rejects on exit or timeout. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts and tracks children. */
export interface ChildRegistry {
  spawn(name: string, command: string, args: readonly string[], options?: SpawnOptions & { stdin?: string }): ManagedChild;
  /** Stops every live child and waits for them. */
  stopAll(): Promise<void>;
  /** Last resort from a synchronous `exit` handler: SIGKILL to every live child. */
  killAllSync(): void;
}

const TAIL_CHARS = 4000;

/** A registry whose children's output goes to `logPath`. */
export function createChildRegistry(logPath: string): ChildRegistry {
  const live = new Set<ManagedChild>();
  let log: WriteStream | undefined;
  const logStream = () => (log ??= createWriteStream(logPath, { flags: 'a' }));

  return {
    spawn(name, command, args, options = {}) {
      const { stdin, ...spawnOptions } = options;
      const proc = spawn(command, args, { ...spawnOptions, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
      if (proc.pid === undefined) throw new Error(`${name}: could not spawn ${command}`);
      let out = '';
      let tail = '';
      const listeners = new Set<() => void>();
      const onData = (isStdout: boolean) => (data: Buffer) => {
        const text = data.toString('utf8');
        if (isStdout) out += text;
        tail = (tail + text).slice(-TAIL_CHARS);
        logStream().write(text.replace(/^(?=.)/gm, `[${name}] `));
        for (const listener of listeners) listener();
      };
      proc.stdout?.on('data', onData(true));
      proc.stderr?.on('data', onData(false));
      if (stdin !== undefined) proc.stdin?.end(stdin);
      const exited = new Promise<number | string>((resolve) => {
        proc.once('exit', (code, signal) => {
          live.delete(child);
          for (const listener of listeners) listener();
          resolve(code ?? signal ?? 'unknown');
        });
        proc.once('error', () => resolve('spawn-error'));
      });
      let hasExited = false;
      void exited.then(() => (hasExited = true));
      const child: ManagedChild = {
        name,
        pid: proc.pid,
        process: proc,
        exited,
        stdout: () => out,
        tail: () => tail,
        waitForLine(pattern, timeoutMs) {
          return new Promise((resolve, reject) => {
            const check = () => {
              const match = pattern.exec(out);
              if (match) return done(() => resolve(match));
              if (hasExited || proc.exitCode !== null || proc.signalCode !== null) return done(() => reject(new Error(`${name} exited before it was ready`)));
            };
            const timer = setTimeout(() => done(() => reject(new Error(`${name} was not ready within ${timeoutMs} ms`))), timeoutMs);
            const done = (settle: () => void) => {
              clearTimeout(timer);
              listeners.delete(check);
              settle();
            };
            listeners.add(check);
            check();
          });
        },
        async stop(graceMs = 3000) {
          if (hasExited) return;
          proc.kill('SIGTERM');
          const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
          await exited;
          clearTimeout(timer);
        },
      };
      live.add(child);
      return child;
    },
    async stopAll() {
      await Promise.all([...live].map((child) => child.stop()));
      await new Promise<void>((resolve) => (log ? log.end(resolve) : resolve()));
      log = undefined;
    },
    killAllSync() {
      for (const child of live) child.process.kill('SIGKILL');
    },
  };
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`, or rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs: number, isAlive: () => boolean = () => true): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!isAlive()) throw new Error('the process exited before it listened');
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listened on port ${port} within ${timeoutMs} ms`);
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
