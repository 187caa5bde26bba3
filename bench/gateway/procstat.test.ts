// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { parseStat, processTree, readCpuMs, readRssMb } from './procstat.js';

describe('parseStat', () => {
  it('counts fields after the command name, even one with spaces and parentheses', () => {
    const stat = '4242 (node (tsx) x) S 17 4242 17 0 -1 4194304 100 0 0 0 250 75 3 1 20 0 11 0 12345 1000000 5000';
    expect(parseStat(stat)).toEqual({ ppid: 17, cpuTicks: 325 });
  });

  it('refuses a line it cannot read', () => {
    expect(() => parseStat('garbage')).toThrow(/format/);
  });
});

describe.runIf(process.platform === 'linux')('reading /proc', () => {
  it('finds this process in its own tree and reads its CPU and memory', () => {
    expect(processTree(process.pid)[0]).toBe(process.pid);
    expect(readCpuMs(process.pid)).toBeGreaterThan(0);
    expect(readRssMb(process.pid)).toBeGreaterThan(0);
  });

  it('gives null for a process that does not exist', () => {
    expect(readCpuMs(2 ** 30)).toBeNull();
    expect(readRssMb(2 ** 30)).toBeNull();
  });
});
