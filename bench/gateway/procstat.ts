// SPDX-License-Identifier: Apache-2.0
/**
 * Process accounting from /proc: CPU time (user + system) and resident memory of one pid.
 * CPU is sampled before and after a load cell, so the difference is what that process
 * spent serving the cell. Linux only; elsewhere the figures are null.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const value = Number(out.stdout?.trim());
    ticksPerSecond = Number.isFinite(value) && value > 0 ? value : 100;
  }
  return ticksPerSecond;
}

/**
 * Fields 14 and 15 of /proc/<pid>/stat (utime, stime), in milliseconds. The command name in
 * field 2 may contain spaces and parentheses, so fields are counted after its closing `)`.
 */
export function parseCpuMs(stat: string, ticks: number): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('unexpected /proc/<pid>/stat format');
  return ((utime + stime) * 1000) / ticks;
}

/** CPU milliseconds a live process has used so far, or null when it cannot be read. */
export function readCpuMs(pid: number): number | null {
  try {
    return parseCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8'), clockTicks());
  } catch {
    return null;
  }
}

/** Resident set size in MB, or null when it cannot be read. */
export function readRssMb(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] ? Math.round(Number(match[1]) / 1024) : null;
  } catch {
    return null;
  }
}
