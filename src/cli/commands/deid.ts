// SPDX-License-Identifier: Apache-2.0
/**
 * `phigate deid`: de-identify plain text or JSONL (`{"id","text"}` per line) from a file, a
 * directory or stdin, and write the de-identified text. With `--spans`, writes JSONL lines
 * `{"id","text","spans":[{"start","end","type"}]}` where `text` is the de-identified text and the
 * span offsets index the INPUT text as UTF-16 code units (JavaScript string offsets), with the
 * category names of src/deid/types.ts. Messages name files and line numbers, never content.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { Option } from '@commander-js/extra-typings';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import cliProgress from 'cli-progress';
import { createDeidEngine } from '../../deid/detect.js';
import { createDeidentifier, defaultMaxInputLength } from '../../deid/deidentify.js';
import type { Deidentifier, SpanDetector } from '../../deid/deidentify.js';
import { createMemoryTokenVault } from '../../deid/token-vault.js';
import { deidPolicies } from '../../deid/transforms/apply.js';
import type { DeidPolicyName, DeidResult } from '../../deid/transforms/apply.js';
import { isDeidError } from '../../deid/transforms/deid-error.js';
import { phiCategories } from '../../deid/types.js';
import type { PhiCategory } from '../../deid/types.js';

/** What the command reads and writes besides files; injectable for tests. */
export interface DeidCommandDeps {
  readonly stdin?: Readable;
  readonly stdout?: Writable;
  readonly stderr?: Writable & { isTTY?: boolean };
  /** Builds the detector; default the real engine for `--language`. */
  readonly createDetector?: (language: 'en' | 'es') => SpanDetector;
}

const transformNames = Object.keys(deidPolicies) as DeidPolicyName[];
const jsonlExtensions = new Set(['.jsonl', '.ndjson']);

interface Source {
  readonly label: string;
  readonly relPath: string;
  readonly format: 'text' | 'jsonl';
  readonly path: string | undefined;
}

interface Stats {
  documents: number;
  errors: number;
  files: number;
  readonly counts: Map<PhiCategory, number>;
}

/** Adds `deid` to a `phigate` program. */
export function registerDeidCommand(program: CommandUnknownOpts, deps: DeidCommandDeps = {}): CommandUnknownOpts {
  const cmd = program
    .command('deid')
    .description('De-identify clinical text (plain text or JSONL {"id","text"} lines) in a file, a directory or stdin')
    .requiredOption('-i, --input <path>', 'input file or directory, or - for stdin')
    .requiredOption('-o, --output <path>', 'output file or directory, or - for stdout')
    .addOption(new Option('-t, --transform <kind>', 'what replaces PHI').choices(transformNames).default('redact' as DeidPolicyName))
    .addOption(new Option('--format <format>', 'input format; auto uses the extension (.jsonl/.ndjson) or sniffs stdin').choices(['auto', 'text', 'jsonl'] as const).default('auto' as const))
    .addOption(new Option('--language <lang>', 'language pack').choices(['en', 'es'] as const).default('en' as const))
    .option('--spans', 'write JSONL {"id","text","spans"} with spans indexing the input text', false)
    .option('--key-file <path>', 'secret key for surrogates and date shifts (default: PHIGATE_DEID_KEY, else a random key per run)')
    .option('--max-chars <n>', 'largest document accepted, in UTF-16 code units', (v) => parsePositive(v), defaultMaxInputLength)
    .option('-q, --quiet', 'no progress bar and no summary', false);

  cmd.action(async () => {
    const opts = cmd.opts() as {
      input: string; output: string; transform: DeidPolicyName; format: 'auto' | 'text' | 'jsonl'; language: 'en' | 'es';
      spans: boolean; keyFile?: string; maxChars: number; quiet: boolean;
    };
    const stdin = deps.stdin ?? process.stdin;
    const stdout = deps.stdout ?? process.stdout;
    const stderr = deps.stderr ?? process.stderr;
    const fail = (message: string): never => cmd.error(`phigate deid: ${message}`, { exitCode: 2, code: 'phigate.deid' });

    const sources = await listSources(opts.input, opts.format, fail);
    const inputIsDir = opts.input !== '-' && (await stat(opts.input)).isDirectory();
    const key = await loadKey(opts.keyFile, fail);
    const detector = (deps.createDetector ?? ((language) => createDeidEngine({ language })))(opts.language);
    const deid = createDeidentifier({ detector, policy: deidPolicies[opts.transform], key, vault: createMemoryTokenVault(), maxInputLength: opts.maxChars });
    const stats: Stats = { documents: 0, errors: 0, files: 0, counts: new Map() };
    const report = (message: string): void => {
      stats.errors += 1;
      stderr.write(`phigate deid: ${message}\n`);
    };

    const outputIsDir = opts.output !== '-' && (inputIsDir || (await isDirectory(opts.output)));
    const bar = inputIsDir && !opts.quiet && stderr.isTTY === true
      ? new cliProgress.SingleBar({ stream: stderr as NodeJS.WritableStream, format: 'deid [{bar}] {value}/{total} files', hideCursor: false }, cliProgress.Presets.shades_classic)
      : undefined;
    bar?.start(sources.length, 0);

    let shared: Writable | undefined;
    try {
      for (const source of sources) {
        let target: Writable;
        let ownTarget = false;
        if (opts.output === '-') {
          target = stdout;
        } else if (outputIsDir) {
          const outPath = join(opts.output, inputIsDir ? source.relPath : basename(source.relPath));
          await mkdir(dirname(outPath), { recursive: true });
          target = createWriteStream(outPath);
          ownTarget = true;
        } else {
          shared ??= createWriteStream(opts.output);
          target = shared;
        }
        try {
          await processSource(source, { deid, stdin, target, spans: opts.spans, maxChars: opts.maxChars, stats, report });
          stats.files += 1;
        } catch (err) {
          report(`${source.label}: ${describeError(err)}`);
        } finally {
          if (ownTarget) await closeStream(target);
        }
        bar?.increment();
      }
    } finally {
      bar?.stop();
      if (shared) await closeStream(shared);
    }
    if (!opts.quiet) stderr.write(summaryTable(stats));
    if (stats.errors > 0) fail(`${stats.errors} document(s) or line(s) could not be processed`);
  });
  return cmd as unknown as CommandUnknownOpts;
}

function parsePositive(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error('must be a positive integer');
  return n;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function loadKey(keyFile: string | undefined, fail: (m: string) => never): Promise<Uint8Array> {
  if (keyFile !== undefined) {
    try {
      const key = await readFile(keyFile);
      if (key.length < 16) fail('the key file must hold at least 16 bytes');
      return key;
    } catch (err) {
      if ((err as { code?: string }).code === 'phigate.deid') throw err;
      return fail(`cannot read the key file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  const env = process.env.PHIGATE_DEID_KEY;
  if (env !== undefined && env.length >= 16) return Buffer.from(env, 'utf8');
  // Without a configured key, surrogates and shifts are consistent within this run only.
  return randomBytes(32);
}

async function listSources(input: string, format: 'auto' | 'text' | 'jsonl', fail: (m: string) => never): Promise<Source[]> {
  const formatOf = (path: string): 'text' | 'jsonl' => (format !== 'auto' ? format : jsonlExtensions.has(extname(path).toLowerCase()) ? 'jsonl' : 'text');
  if (input === '-') return [{ label: 'stdin', relPath: '-', format: format === 'auto' ? 'text' : format, path: undefined }];
  let info;
  try {
    info = await stat(input);
  } catch (err) {
    return fail(`input not found or not readable: ${input} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (info.isFile()) return [{ label: input, relPath: basename(input), format: formatOf(input), path: input }];
  if (!info.isDirectory()) return fail(`input is neither a file nor a directory: ${input}`);
  const root = resolve(input);
  const out: Source[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > 32) return;
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const full = join(dir, e.name);
      if (e.isDirectory()) await walk(full, depth + 1);
      else if (e.isFile()) out.push({ label: relative(process.cwd(), full) || full, relPath: relative(root, full), format: formatOf(full), path: full });
    }
  };
  await walk(root, 0);
  if (out.length === 0) fail(`no files in the input directory: ${input}`);
  return out;
}

interface ProcessContext {
  readonly deid: Deidentifier;
  readonly stdin: Readable;
  readonly target: Writable;
  readonly spans: boolean;
  readonly maxChars: number;
  readonly stats: Stats;
  readonly report: (message: string) => void;
}

async function processSource(source: Source, ctx: ProcessContext): Promise<void> {
  const stream = source.path === undefined ? ctx.stdin : createReadStream(source.path);
  if (source.format === 'text') {
    const text = await readAll(stream, ctx.maxChars * 4);
    if (text.includes('\u0000')) throw new Error('binary data (NUL bytes) is not text');
    if (source.path === undefined && /^\s*\{/.test(text) && text.trimEnd().endsWith('}')) {
      // stdin in auto mode: JSON objects per line are JSONL, anything else is plain text.
      const lines = text.split(/\r?\n/);
      if (lines.every((l) => l.trim() === '' || /^\s*\{.*\}\s*$/.test(l))) return processLines(lines, source, ctx);
    }
    await writeResult(ctx, source.relPath, text, await deidOne(ctx, text, source.relPath), false);
    return;
  }
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  await processLines(lines, source, ctx);
}

async function processLines(lines: AsyncIterable<string> | Iterable<string>, source: Source, ctx: ProcessContext): Promise<void> {
  let lineNo = 0;
  for await (const line of lines) {
    lineNo += 1;
    if (line.trim() === '') continue;
    const where = `${source.label}:${lineNo}`;
    // JSON escapes can take six characters per code unit.
    if (line.length > ctx.maxChars * 6 + 1024) {
      ctx.report(`${where}: line longer than the limit`);
      continue;
    }
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      ctx.report(`${where}: invalid JSON`);
      continue;
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record) || typeof (record as { text?: unknown }).text !== 'string') {
      ctx.report(`${where}: expected an object with a string "text"`);
      continue;
    }
    const { id: rawId, text } = record as { id?: unknown; text: string };
    const id = typeof rawId === 'string' || typeof rawId === 'number' ? rawId : `${source.relPath}:${lineNo}`;
    try {
      await writeResult(ctx, id, text, await deidOne(ctx, text, String(id)), true);
    } catch (err) {
      ctx.report(`${where}: ${describeError(err)}`);
    }
  }
}

async function deidOne(ctx: ProcessContext, text: string, conversationId: string): Promise<DeidResult> {
  const result = await ctx.deid.deidentify(text, { conversationId: conversationId.slice(0, 256) || 'doc' });
  ctx.stats.documents += 1;
  for (const [type, n] of Object.entries(result.counts) as [PhiCategory, number][]) ctx.stats.counts.set(type, (ctx.stats.counts.get(type) ?? 0) + n);
  return result;
}

async function writeResult(ctx: ProcessContext, id: string | number, _input: string, result: DeidResult, jsonl: boolean): Promise<void> {
  let out: string;
  if (ctx.spans) {
    out = `${JSON.stringify({ id, text: result.text, spans: result.spans.map((s) => ({ start: s.start, end: s.end, type: s.type })) })}\n`;
  } else if (jsonl) {
    out = `${JSON.stringify({ id, text: result.text })}\n`;
  } else {
    out = result.text;
  }
  if (!ctx.target.write(out)) await new Promise<void>((done) => ctx.target.once('drain', done));
}

async function readAll(stream: Readable, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > maxBytes) {
      stream.destroy();
      throw new Error(`input larger than the limit (${maxBytes} bytes)`);
    }
    chunks.push(buf);
  }
  // Invalid UTF-8 becomes U+FFFD, as the WHATWG decoder does; offsets then index the decoded text.
  return Buffer.concat(chunks).toString('utf8');
}

function closeStream(stream: Writable): Promise<void> {
  return new Promise((done, reject) => {
    stream.once('error', reject);
    stream.end(() => done());
  });
}

function describeError(err: unknown): string {
  if (isDeidError(err)) return err.message;
  if (err instanceof Error && 'code' in err && typeof err.code === 'string' && /^E[A-Z]+$/.test(err.code)) return `cannot read (${err.code})`;
  if (err instanceof Error && /^(?:input larger|binary data)/.test(err.message)) return err.message;
  // Anything else may quote input; keep only its kind.
  return err instanceof Error ? `failed (${err.name})` : 'failed';
}

/** The end-of-run table: documents, errors and spans per category. */
export function summaryTable(stats: { documents: number; errors: number; files: number; counts: ReadonlyMap<PhiCategory, number> }): string {
  const rows = phiCategories.filter((c) => (stats.counts.get(c) ?? 0) > 0).map((c) => [c, String(stats.counts.get(c))] as const);
  const total = [...stats.counts.values()].reduce((a, b) => a + b, 0);
  const width = Math.max(8, ...rows.map(([c]) => c.length));
  const numWidth = Math.max(5, String(total).length);
  const line = (a: string, b: string): string => `${a.padEnd(width)}  ${b.padStart(numWidth)}\n`;
  return [
    `\nde-identified ${stats.documents} document(s) in ${stats.files} input(s); ${stats.errors} error(s)\n`,
    line('category', 'spans'),
    line('-'.repeat(width), '-'.repeat(numWidth)),
    ...rows.map(([c, n]) => line(c, n)),
    line('total', String(total)),
  ].join('');
}
