// SPDX-License-Identifier: Apache-2.0
/**
 * Process accounting from /proc: CPU time (user + system) and resident memory of one pid
 * and its descendants.
 * CPU is sampled before and after a load cell, so the difference is what that process
 * spent serving the cell. Linux only; elsewhere the figures are null.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const value = Number(out.stdout?.trim());
    ticksPerSecond = Number.isFinite(value) && value > 0 ? value : 100;
  }
  return ticksPerSecond;
}

/** The fields of /proc/<pid>/stat a sample needs. */
export interface StatFields {
  readonly ppid: number;
  /** utime + stime, in clock ticks. */
  readonly cpuTicks: number;
}

/**
 * Parses /proc/<pid>/stat: ppid is field 4, utime and stime fields 14 and 15. The command
 * name in field 2 may contain spaces and parentheses, so fields are counted after its
 * closing `)`.
 */
export function parseStat(stat: string): StatFields {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const ppid = Number(rest[1]);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (![ppid, utime, stime].every(Number.isFinite)) throw new Error('unexpected /proc/<pid>/stat format');
  return { ppid, cpuTicks: utime + stime };
}

/** The pid and every live descendant of it (a launcher may run the server as a child). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const { ppid } = parseStat(readFileSync(`/proc/${entry}/stat`, 'utf8'));
      const list = children.get(ppid);
      if (list) list.push(Number(entry));
      else children.set(ppid, [Number(entry)]);
    } catch {
      // The process ended while the table was being read.
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i] as number) ?? []));
  return tree;
}

/** CPU milliseconds (user + system) a live process and its descendants have used so far, or null when unreadable. */
export function readCpuMs(pid: number): number | null {
  try {
    let ticks = 0;
    for (const member of processTree(pid)) {
      try {
        ticks += parseStat(readFileSync(`/proc/${member}/stat`, 'utf8')).cpuTicks;
      } catch {
        if (member === pid) throw new Error('process gone');
      }
    }
    return (ticks * 1000) / clockTicks();
  } catch {
    return null;
  }
}

/** Resident set size of a process and its descendants in MB, or null when unreadable. */
export function readRssMb(pid: number): number | null {
  try {
    let kb = 0;
    for (const member of processTree(pid)) {
      try {
        const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${member}/status`, 'utf8'));
        kb += Number(match?.[1] ?? 0);
      } catch {
        if (member === pid) throw new Error('process gone');
      }
    }
    return Math.round(kb / 1024);
  } catch {
    return null;
  }
}
