// SPDX-License-Identifier: Apache-2.0
/**
 * Tamper detection figures: every single-byte change of a 100-record log, 10,000 random
 * mutations of a large log (flip, insert, delete, reorder, truncate, re-hash without the key),
 * and intact logs (false alarms). Each mutated log goes through the verifier's streaming core —
 * the same code `phigate audit verify` runs over the database pages.
 *
 * Speed-up, with identical results: the records before the first changed one are byte-for-byte
 * those of the intact log, so verification resumes from the last signed head before the change
 * (exactly what `verify --incremental` does) and stops at the first failure. Every 200th case is
 * also verified from the first record and must give the same verdict; disagreements are counted.
 */
import { canonicalJson } from '../../src/kernel/canonical-json.js';
import { chainHash } from '../../src/audit/chain.js';
import { createLogVerifier, type SourcedHead, type VerifyReport, type VerifyRow, type VerifyState } from '../../src/audit/verify.js';
import { buildSyntheticLog, createRandom, syntheticEvent, toVerifyRow, type SyntheticLog } from './synthetic-log.js';

type Report = Omit<VerifyReport, 'elapsedMs'>;

interface Case {
  /** 0-based index of the first row that differs from the intact log. */
  readonly firstChanged: number;
  /** Rows from index `from` on, lazily (re-hashing happens only as far as the verifier reads). */
  rows(from: number): Iterable<VerifyRow>;
  readonly heads: readonly SourcedHead[];
}

function run(log: SyntheticLog, c: Case, fromStart: boolean): Report {
  let start: VerifyState | undefined;
  if (!fromStart) {
    for (const [size, state] of log.states) if (size <= c.firstChanged && (start === undefined || size > start.treeSize)) start = state;
  }
  const verifier = createLogVerifier({ heads: c.heads, publicKeys: log.publicKeys, ...(start === undefined ? {} : { start }) });
  for (const row of c.rows(start?.treeSize ?? 0)) if (verifier.push([row]) !== undefined) break;
  return verifier.finish();
}

export interface DetectionFigure {
  readonly cases: number;
  readonly detected: number;
  /** Cases also verified from the first record whose verdict differed (must be 0). */
  readonly crossCheckMismatches: number;
  readonly crossChecked: number;
  readonly byKind: Record<string, { cases: number; detected: number }>;
  readonly byReason: Record<string, number>;
  readonly elapsedMs: number;
}

function tally(log: SyntheticLog, cases: Iterable<{ kind: string; c: Case }>): DetectionFigure {
  const started = performance.now();
  const byKind: Record<string, { cases: number; detected: number }> = {};
  const byReason: Record<string, number> = {};
  let n = 0;
  let detected = 0;
  let crossChecked = 0;
  let crossCheckMismatches = 0;
  for (const { kind, c } of cases) {
    const report = run(log, c, false);
    const k = (byKind[kind] ??= { cases: 0, detected: 0 });
    k.cases++;
    if (!report.ok) {
      detected++;
      k.detected++;
      const reason = report.failure!.reason;
      byReason[reason] = (byReason[reason] ?? 0) + 1;
    }
    if (n % 200 === 0) {
      crossChecked++;
      if (run(log, c, true).ok !== report.ok) crossCheckMismatches++;
    }
    n++;
  }
  return { cases: n, detected, crossChecked, crossCheckMismatches, byKind, byReason, elapsedMs: performance.now() - started };
}

/** Rows with a window replaced; later rows optionally renumbered and re-hashed (the attacker without the key). */
function splice(log: SyntheticLog, at: number, remove: number, insert: readonly VerifyRow[], opts: { renumber: boolean; rehash: boolean; dropTail?: boolean }): (from: number) => Iterable<VerifyRow> {
  const rows = log.rows;
  return function* (from: number) {
    for (let i = from; i < at; i++) yield rows[i]!;
    let prev = at === 0 ? '0'.repeat(64) : rows[at - 1]!.hash;
    let seq = at;
    const emit = (row: VerifyRow): VerifyRow => {
      seq++;
      if (!opts.rehash) return opts.renumber ? { ...row, seq } : row;
      const hash = chainHash(prev, row.body);
      const out = { ...row, seq: opts.renumber ? seq : row.seq, prevHash: prev, hash };
      prev = hash;
      return out;
    };
    for (const row of insert) yield emit(row);
    if (opts.dropTail) return;
    for (let i = at + remove; i < rows.length; i++) yield emit(rows[i]!);
  };
}

function flipByte(text: string, offset: number, mask: number): string {
  const bytes = Buffer.from(text, 'utf8');
  bytes[offset] = bytes[offset]! ^ mask;
  return bytes.toString('utf8');
}

const fields = ['body', 'prevHash', 'hash'] as const;

/** Every byte of body, prev_hash and hash of every record of a 100-record log, changed one at a time. */
export function singleByteFigure(): DetectionFigure {
  const log = buildSyntheticLog(100, 10);
  const heads = [...log.storeHeads, ...log.witnessHeads];
  function* cases(): Generator<{ kind: string; c: Case }> {
    for (let i = 0; i < log.rows.length; i++) {
      const row = log.rows[i]!;
      for (const field of fields) {
        const length = Buffer.byteLength(row[field], 'utf8');
        for (let offset = 0; offset < length; offset++) {
          const changed = { ...row, [field]: flipByte(row[field], offset, 0x01) };
          yield { kind: field, c: { firstChanged: i, heads, rows: splice(log, i, 1, [changed], { renumber: false, rehash: false }) } };
        }
      }
    }
  }
  return tally(log, cases());
}

export const mutationKinds = ['flip', 'insert', 'delete', 'reorder', 'truncate', 'rehash'] as const;

/**
 * `count` random mutations of a log of `size` records (signed head every `headEvery`), spread
 * evenly over the kinds. Insert, delete and reorder are done naively half the time and, the other
 * half, with the following records renumbered and re-hashed so the chain alone looks intact.
 * Truncate and re-hash also delete the store's heads past the change half the time (the witness
 * still holds them); otherwise only the store's heads are given.
 */
export function randomMutationFigure(count: number, size: number, headEvery: number, seed: number): DetectionFigure {
  const log = buildSyntheticLog(size, headEvery);
  const random = createRandom(seed);
  const n = log.rows.length;
  const withoutHeadsFrom = (cut: number): SourcedHead[] => [...log.storeHeads.filter((h) => h.treeSize <= cut), ...log.witnessHeads];
  function forged(seq: number, outcome: string): VerifyRow {
    const event = { ...syntheticEvent(seq), outcome: outcome as 'denied', status: 403 };
    const body = canonicalJson(event);
    return toVerifyRow({ seq, event, body, prevHash: '', hash: '' });
  }
  function* cases(): Generator<{ kind: string; c: Case }> {
    for (let m = 0; m < count; m++) {
      const kind = mutationKinds[m % mutationKinds.length]!;
      const smart = random.next() < 0.5;
      const p = random.int(n);
      const heads = log.storeHeads;
      switch (kind) {
        case 'flip': {
          const row = log.rows[p]!;
          const field = random.pick([...fields, 'seq', 'requestId'] as const);
          let changed: VerifyRow;
          if (field === 'seq') changed = { ...row, seq: row.seq ^ (1 << random.int(17)) };
          else if (field === 'requestId') changed = { ...row, columns: { ...row.columns!, requestId: flipByte(row.columns!.requestId, random.int(row.columns!.requestId.length), 1 << random.int(7)) } };
          else changed = { ...row, [field]: flipByte(row[field], random.int(Buffer.byteLength(row[field])), 1 << random.int(7)) };
          yield { kind, c: { firstChanged: p, heads, rows: splice(log, p, 1, [changed], { renumber: false, rehash: false }) } };
          break;
        }
        case 'insert': {
          const extra = forged(p + 1, 'denied');
          // A naive insert links to its predecessor but keeps a duplicate sequence number.
          const naive = { ...extra, prevHash: p === 0 ? '0'.repeat(64) : log.rows[p - 1]!.hash };
          const inserted = smart ? extra : { ...naive, hash: chainHash(naive.prevHash, naive.body) };
          yield { kind, c: { firstChanged: p, heads, rows: splice(log, p, 0, [inserted], { renumber: smart, rehash: smart }) } };
          break;
        }
        case 'delete':
          yield { kind, c: { firstChanged: p, heads, rows: splice(log, p, 1, [], { renumber: smart, rehash: smart }) } };
          break;
        case 'reorder': {
          const lo = Math.min(p, n - 2);
          const hi = Math.min(n - 1, lo + 1 + random.int(20));
          const window = log.rows.slice(lo, hi + 1);
          const swapped = [window[window.length - 1]!, ...window.slice(1, -1), window[0]!];
          yield { kind, c: { firstChanged: lo, heads, rows: splice(log, lo, window.length, swapped, { renumber: smart, rehash: smart }) } };
          break;
        }
        case 'truncate': {
          const keep = random.int(n);
          yield { kind, c: { firstChanged: keep, heads: smart ? withoutHeadsFrom(keep) : heads, rows: splice(log, keep, n - keep, [], { renumber: false, rehash: false, dropTail: true }) } };
          break;
        }
        case 'rehash':
          yield { kind, c: { firstChanged: p, heads: smart ? withoutHeadsFrom(p) : heads, rows: splice(log, p, 1, [forged(p + 1, 'denied')], { renumber: true, rehash: true }) } };
          break;
      }
    }
  }
  return tally(log, cases());
}

/** Intact logs of random sizes and head intervals, verified from the first record: every one must pass. */
export function falseAlarmFigure(logs: number, seed: number): { logs: number; records: number; falseAlarms: number } {
  const random = createRandom(seed);
  let falseAlarms = 0;
  let records = 0;
  for (let i = 0; i < logs; i++) {
    const size = 1 + random.int(2000);
    const log = buildSyntheticLog(size, 1 + random.int(300));
    records += size;
    const verifier = createLogVerifier({ heads: [...log.storeHeads, ...log.witnessHeads], publicKeys: log.publicKeys });
    verifier.push(log.rows);
    if (!verifier.finish().ok) falseAlarms++;
  }
  return { logs, records, falseAlarms };
}
