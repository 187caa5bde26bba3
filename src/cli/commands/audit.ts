// SPDX-License-Identifier: Apache-2.0
/**
 * `phigate audit`: verify the tamper-evident log, print the tree-head public key, sign a tree
 * head now, and give Merkle inclusion and consistency proofs.
 *
 * `verify` needs only read access to the database and the public key — not the KMS — so an
 * auditor can run it on a copy. Exit status: 0 intact, 1 tampering found (or an error).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { Option } from '@commander-js/extra-typings';
import { InvalidArgumentError } from 'commander';
import { createCheckpoint, loadAuditPublicKeys, loadAuditSigner, publicKeysFromPem, type SignedTreeHead } from '../../audit/checkpoints.js';
import { consistencyProof, inclusionProof, merkleRoot, recordLeafHash } from '../../audit/merkle.js';
import { verifyAuditLog, verifyFailureReasons, type VerifyReport, type VerifyState } from '../../audit/verify.js';
import { createConfiguredWitnesses, createFileWitness, type ReadableWitness } from '../../audit/witness.js';
import { loadConfig } from '../../config/load.js';
import type { PhigateConfig } from '../../config/schema.js';
import { createKms } from '../../crypto/kms/index.js';
import { resolveHome } from '../../kernel/home.js';
import { createDb } from '../../store/db.js';
import { openStore, type OpenedStore } from '../../store/store.js';
import { homeOption } from '../options.js';

/** Where `verify --incremental` keeps its resume point, inside the state folder. */
export const verifyStateFileName = 'audit-verify-state.json';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

async function withStore<T>(home: string, run: (store: OpenedStore, config: PhigateConfig) => Promise<T>): Promise<T> {
  const config = loadConfig({ home });
  const kms = await createKms(config.kms, { baseDir: home });
  const store = await openStore({ url: config.store.url, baseDir: home, kms });
  try {
    return await run(store, config);
  } finally {
    await store.close();
  }
}

function isReadable(witness: unknown): witness is ReadableWitness {
  return typeof (witness as ReadableWitness).readHeads === 'function';
}

function readState(file: string): VerifyState | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as VerifyState;
  } catch {
    return undefined;
  }
}

function describeReport(report: VerifyReport, keysFrom: string): string {
  const rate = report.elapsedMs > 0 ? Math.round((report.records / report.elapsedMs) * 60_000) : 0;
  const lines = [
    report.ok ? 'audit log intact' : 'AUDIT LOG TAMPERED',
    `  records checked: ${report.records} (seq ${report.startSize + 1}..${report.treeSize}), ${rate.toLocaleString('en-US')} records/min`,
    `  signed tree heads checked: ${report.headsChecked} from the store, ${report.witnessHeadsChecked} from witnesses (keys: ${keysFrom})`,
    `  last verified head: ${report.lastVerifiedHead ?? 'none'}${report.lastVerifiedHead !== undefined && report.lastVerifiedHead < report.treeSize ? ` (records after it rest on the hash chain until the next head)` : ''}`,
  ];
  if (report.failure) {
    lines.push(`  first bad record: seq ${report.failure.seq}: ${report.failure.reason} — ${verifyFailureReasons[report.failure.reason]}`);
    if (report.failure.treeSize !== undefined) lines.push(`  tree head: size ${report.failure.treeSize} (${report.failure.source})`);
  }
  return `${lines.join('\n')}\n`;
}

export function registerAuditCommand(program: Command): void {
  const audit = program.command('audit').description('Verify the tamper-evident audit log, its signed tree heads and proofs');

  audit
    .command('verify')
    .description('Check the hash chain, indexed columns, Merkle roots, signed tree heads and witness heads; names the first bad record')
    .addOption(homeOption())
    .option('--incremental', 'start from the last verified tree head (state kept in the state folder)')
    .option('--json', 'print the report as JSON')
    .option('--public-key <file>', 'trust only the Ed25519 public key(s) in this PEM file (default: the keys in the store)')
    .option('--witness-file <file...>', 'also compare against the heads in these witness files (JSON lines)')
    .option('--state <file>', `resume state for --incremental (default: <home>/${verifyStateFileName})`)
    .addOption(new Option('--page-size <n>', 'records read per query').argParser(positiveInt).default(10_000))
    .action(async (options) => {
      const home = resolveHome(options.home);
      const config = loadConfig({ home });
      const db = createDb(config.store.url, { baseDir: home });
      try {
        const publicKeys = options.publicKey ? publicKeysFromPem(readFileSync(options.publicKey, 'utf8')) : await loadAuditPublicKeys(db);
        const witnesses: ReadableWitness[] = [
          ...createConfiguredWitnesses(config.audit.witness, home).filter(isReadable),
          ...(options.witnessFile ?? []).map((file) => createFileWitness(file)),
        ];
        const witnessHeads: SignedTreeHead[] = (await Promise.all(witnesses.map((w) => w.readHeads()))).flat();
        const stateFile = options.state ?? join(home, verifyStateFileName);
        const since = options.incremental ? readState(stateFile) : undefined;
        const tty = process.stderr.isTTY && !options.json;
        let lastDraw = 0;
        const report = await verifyAuditLog({
          db,
          publicKeys,
          witnessHeads,
          ...(since === undefined ? {} : { since }),
          pageSize: options.pageSize,
          ...(tty
            ? {
                onProgress: (done: number, total: number) => {
                  const now = Date.now();
                  if (now - lastDraw < 200) return;
                  lastDraw = now;
                  process.stderr.write(`\rverifying ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} records`);
                },
              }
            : {}),
        });
        if (tty) process.stderr.write('\r\x1b[K');
        if (report.ok && report.state !== undefined) writeFileSync(stateFile, `${JSON.stringify(report.state)}\n`, { mode: 0o600 });
        const keysFrom = options.publicKey ? 'pinned' : 'store';
        if (options.json) {
          const { state: _state, ...rest } = report;
          process.stdout.write(`${JSON.stringify({ ...rest, keys: keysFrom, incremental: since !== undefined })}\n`);
        } else {
          process.stdout.write(describeReport(report, keysFrom));
          if (!options.publicKey) process.stdout.write('  note: pin the key with --public-key (from `phigate audit public-key`) so a key added to the store is not trusted\n');
        }
        if (!report.ok) process.exitCode = 1;
      } finally {
        await db.destroy();
      }
    });

  audit
    .command('public-key')
    .description('Print the Ed25519 public key (PEM) that signs tree heads, creating the key pair on first use')
    .addOption(homeOption())
    .action(async (options) => {
      await withStore(resolveHome(options.home), async (store) => {
        const signer = await loadAuditSigner(store.db, store.fieldCrypto);
        process.stderr.write(`key id ${signer.keyId}\n`);
        process.stdout.write(signer.publicKey.export({ format: 'pem', type: 'spki' }).toString());
      });
    });

  audit
    .command('checkpoint')
    .description('Sign a tree head over the log now and publish it to the configured witnesses')
    .addOption(homeOption())
    .option('--json', 'print the head as JSON')
    .action(async (options) => {
      const home = resolveHome(options.home);
      await withStore(home, async (store, config) => {
        const signer = await loadAuditSigner(store.db, store.fieldCrypto);
        const head = await createCheckpoint({
          db: store.db,
          signer,
          witnesses: createConfiguredWitnesses(config.audit.witness, home),
          onWitnessError: (witness) => process.stderr.write(`phigate: witness ${witness.id} did not accept the head\n`),
        });
        if (options.json) process.stdout.write(`${JSON.stringify(head ?? null)}\n`);
        else process.stdout.write(head ? `signed tree head: size ${head.treeSize}, root ${head.rootHash}\n` : 'no new records since the last tree head\n');
      });
    });

  audit
    .command('proof')
    .description('Merkle inclusion proof of a record in a tree size, or consistency proof between two tree sizes (RFC 9162)')
    .addOption(homeOption())
    .addOption(new Option('--seq <n>', 'record sequence number (inclusion proof)').argParser(positiveInt))
    .addOption(new Option('--from <size>', 'older tree size (consistency proof)').argParser(positiveInt))
    .addOption(new Option('--tree-size <size>', 'tree size (default: the whole log)').argParser(positiveInt))
    .action(async (options) => {
      const home = resolveHome(options.home);
      const config = loadConfig({ home });
      const db = createDb(config.store.url, { baseDir: home });
      try {
        // Proofs need the leaves of the whole tree: 32 bytes per record in memory.
        const size = options.treeSize ?? Number((await db.selectFrom('audit_events').select('seq').orderBy('seq', 'desc').limit(1).executeTakeFirst())?.seq ?? 0);
        const rows = await db.selectFrom('audit_events').select('hash').where('seq', '<=', size).orderBy('seq').execute();
        if (rows.length !== size) throw new Error(`the log holds ${rows.length} records, not ${size}`);
        const leaves = rows.map((r) => recordLeafHash(r.hash));
        const hex = (list: Buffer[]) => list.map((b) => b.toString('hex'));
        const root = merkleRoot(leaves).toString('hex');
        if (options.seq !== undefined) {
          if (options.seq > size) throw new Error('seq is beyond the tree size');
          process.stdout.write(
            `${JSON.stringify({ type: 'inclusion', seq: options.seq, leafIndex: options.seq - 1, treeSize: size, leafHash: leaves[options.seq - 1]!.toString('hex'), rootHash: root, path: hex(inclusionProof(leaves, options.seq - 1)) })}\n`,
          );
        } else if (options.from !== undefined) {
          if (options.from > size) throw new Error('--from is beyond the tree size');
          process.stdout.write(
            `${JSON.stringify({ type: 'consistency', first: options.from, second: size, firstRoot: merkleRoot(leaves, options.from).toString('hex'), secondRoot: root, path: hex(consistencyProof(leaves, options.from)) })}\n`,
          );
        } else {
          throw new Error('give --seq N (inclusion) or --from SIZE (consistency)');
        }
      } finally {
        await db.destroy();
      }
    });
}
