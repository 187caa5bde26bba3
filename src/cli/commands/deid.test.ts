// SPDX-License-Identifier: Apache-2.0
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { Command, CommanderError } from '@commander-js/extra-typings';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDetector } from '../../deid/testing/test-detector.js';
import { registerDeidCommand } from './deid.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'phigate-deid-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function collect(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks).toString('utf8');
}

async function run(args: string[], stdinText = '', tty = false, realEngine = false): Promise<{ stdout: string; stderr: string; error: CommanderError | undefined }> {
  const stdout = new PassThrough();
  const stderr = Object.assign(new PassThrough(), { isTTY: tty, columns: 80, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  const out = collect(stdout);
  const err = collect(stderr);
  const program = new Command().name('phigate').exitOverride().configureOutput({ writeErr: (s) => stderr.write(s), writeOut: (s) => stdout.write(s) });
  registerDeidCommand(program, {
    stdin: Readable.from([stdinText]), stdout, stderr,
    ...(realEngine ? {} : { createDetector: () => createTestDetector(['Ann Lee', 'Bo Chan']) }),
  });
  let error: CommanderError | undefined;
  try {
    await program.parseAsync(['deid', ...args], { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    error = e;
  }
  return { stdout: out(), stderr: err(), error };
}

describe('phigate deid', () => {
  it('de-identifies a plain text file to a file and prints a summary', async () => {
    await writeFile(join(dir, 'note.txt'), 'Ann Lee called 617-555-0142 on 2021-03-04.');
    const r = await run(['--input', join(dir, 'note.txt'), '--output', join(dir, 'out.txt')]);
    expect(r.error).toBeUndefined();
    expect(await readFile(join(dir, 'out.txt'), 'utf8')).toBe('[REDACTED] called [REDACTED] on [REDACTED].');
    expect(r.stderr).toMatch(/NAME\s+1\n/);
    expect(r.stderr).toMatch(/PHONE\s+1\n/);
    expect(r.stderr).toMatch(/total\s+3\n/);
  });

  it('reads stdin and writes stdout, sniffing JSONL', async () => {
    const r = await run(['-i', '-', '-o', '-', '--transform', 'tokens', '-q'], '{"id":"a","text":"Ann Lee and Bo Chan"}\n{"id":"b","text":"Bo Chan"}\n');
    expect(r.stdout).toBe('{"id":"a","text":"[NAME_1] and [NAME_2]"}\n{"id":"b","text":"[NAME_1]"}\n');
    expect(r.stderr).toBe('');
    const plain = await run(['-i', '-', '-o', '-', '-q'], 'Hello Ann Lee');
    expect(plain.stdout).toBe('Hello [REDACTED]');
  });

  it('writes spans that index the input text as UTF-16', async () => {
    const text = '😀 Ann Lee, é 617-555-0142';
    await writeFile(join(dir, 'in.jsonl'), `${JSON.stringify({ id: 7, text })}\n`);
    const r = await run(['-i', join(dir, 'in.jsonl'), '-o', '-', '--spans', '-q']);
    const line = JSON.parse(r.stdout) as { id: number; text: string; spans: { start: number; end: number; type: string }[] };
    expect(line.id).toBe(7);
    expect(line.text).toBe('😀 [REDACTED], é [REDACTED]');
    expect(line.spans).toEqual([{ start: 3, end: 10, type: 'NAME' }, { start: 14, end: 26, type: 'PHONE' }]);
    expect(line.spans.map((s) => text.slice(s.start, s.end))).toEqual(['Ann Lee', '617-555-0142']);
  });

  it('processes a directory into a directory, with surrogates', async () => {
    await mkdir(join(dir, 'in', 'sub'), { recursive: true });
    await writeFile(join(dir, 'in', 'a.txt'), 'Ann Lee');
    await writeFile(join(dir, 'in', 'sub', 'b.jsonl'), '{"id":"x","text":"Bo Chan, 2021-03-04"}\n');
    const r = await run(['-i', join(dir, 'in'), '-o', join(dir, 'out'), '-t', 'surrogates'], '', true);
    expect(r.error).toBeUndefined();
    const a = await readFile(join(dir, 'out', 'a.txt'), 'utf8');
    expect(a).not.toContain('Ann');
    expect(a).toMatch(/^\S+ \S+$/);
    const b = JSON.parse(await readFile(join(dir, 'out', 'sub', 'b.jsonl'), 'utf8')) as { text: string };
    expect(b.text).toMatch(/^\S+ \S+, \d{4}-\d{2}-\d{2}$/);
    expect(b.text).not.toContain('2021-03-04');
    expect(r.stderr).toContain('2 document(s) in 2 input(s)');
  });

  it('reports invalid JSONL lines by number without their content, and fails at the end', async () => {
    await writeFile(join(dir, 'bad.jsonl'), '{"id":"ok","text":"Ann Lee"}\nnot json SECRET-CONTENT\n{"id":"n","text":5}\n[1]\n');
    const r = await run(['-i', join(dir, 'bad.jsonl'), '-o', join(dir, 'out.jsonl')]);
    expect(r.stderr).toContain('bad.jsonl:2: invalid JSON');
    expect(r.stderr).toContain('bad.jsonl:3: expected an object with a string "text"');
    expect(r.stderr).toContain('bad.jsonl:4:');
    expect(r.stderr).not.toContain('SECRET');
    expect(r.error?.exitCode).toBe(2);
    expect(await readFile(join(dir, 'out.jsonl'), 'utf8')).toBe('{"id":"ok","text":"[REDACTED]"}\n');
  });

  it('fails clearly on missing input, empty directories, oversized and binary documents', async () => {
    const missing = await run(['-i', join(dir, 'nope.txt'), '-o', '-']);
    expect(missing.error?.exitCode).toBe(2);
    expect(missing.stderr).toContain('input not found or not readable');
    await mkdir(join(dir, 'empty'));
    expect((await run(['-i', join(dir, 'empty'), '-o', join(dir, 'o')])).stderr).toContain('no files in the input directory');
    await writeFile(join(dir, 'big.txt'), 'x'.repeat(100));
    const big = await run(['-i', join(dir, 'big.txt'), '-o', '-', '--max-chars', '10', '-q']);
    expect(big.stderr).toContain('larger than the limit');
    await writeFile(join(dir, 'big.jsonl'), `${JSON.stringify({ id: 1, text: 'y'.repeat(15) })}\n`);
    expect((await run(['-i', join(dir, 'big.jsonl'), '-o', '-', '--max-chars', '10', '-q'])).stderr).toContain('big.jsonl:1: The input exceeds the de-identification size limit');
    await writeFile(join(dir, 'bin.txt'), Buffer.from([0x41, 0x00, 0xff, 0xfe]));
    expect((await run(['-i', join(dir, 'bin.txt'), '-o', '-', '-q'])).stderr).toContain('binary data');
    expect((await run(['-i', '-', '-o', '-', '-t', 'nonsense'])).error).toBeDefined();
    await writeFile(join(dir, 'empty.txt'), '');
    const empty = await run(['-i', join(dir, 'empty.txt'), '-o', '-', '-q']);
    expect(empty.error).toBeUndefined();
    expect(empty.stdout).toBe('');
  });

  it('replaces invalid UTF-8 and keeps going', async () => {
    await writeFile(join(dir, 'latin1.txt'), Buffer.concat([Buffer.from('Ann Lee '), Buffer.from([0xe9, 0xff])]));
    const r = await run(['-i', join(dir, 'latin1.txt'), '-o', '-', '-q']);
    expect(r.stdout).toBe('[REDACTED] \uFFFD\uFFFD');
  });

  it('uses the real detection engine by default', async () => {
    const r = await run(['-i', '-', '-o', '-', '--spans', '-q'], '{"id":"r","text":"Patient: John Smith, SSN 123-45-6789, phone (617) 555-0142."}\n', false, true);
    const line = JSON.parse(r.stdout) as { text: string; spans: { type: string }[] };
    expect(line.text).not.toMatch(/123-45-6789|555-0142/);
    expect(line.spans.map((s) => s.type)).toEqual(expect.arrayContaining(['SSN', 'PHONE']));
  });
});
