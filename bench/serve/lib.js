// What the server load test's processes share: statistics and readings from /proc.
'use strict';

const fs = require('node:fs');
const { quantile: sharedQuantile } = require('../lib/common');

/** USER_HZ on Linux: /proc reports CPU time in these ticks. */
const TICKS_PER_SECOND = 100;

/** common.js's interpolated quantile, null (not NaN) for no values: the report prints a dash then. */
function quantile(sorted, q) {
  return sorted.length === 0 ? null : sharedQuantile(sorted, q);
}

/** Latency percentiles of `values` (ms), linear interpolation between ranks; nulls when there are none. */
function percentiles(values) {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    n: sorted.length,
    p50: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    p99: quantile(sorted, 0.99),
    max: sorted.length > 0 ? sorted[sorted.length - 1] : null,
    mean: sorted.length > 0 ? sum / sorted.length : null,
  };
}

function median(values) {
  const present = values.filter((v) => v !== null && v !== undefined && !Number.isNaN(v));
  return quantile(
    [...present].sort((a, b) => a - b),
    0.5,
  );
}

/** Least-squares line through points {x, y}: slope and intercept (null with fewer than two distinct x). */
function linearFit(points) {
  const n = points.length;
  if (n < 2) return null;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (p.x - mx) ** 2;
    sxy += (p.x - mx) * (p.y - my);
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

/** Resident set size of process `pid` in MB (VmRSS of /proc/<pid>/status), null once it is gone. */
function rssMb(pid) {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** CPU seconds (user + system, every thread) process `pid` has used so far, null once it is gone. */
function processCpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: the fields start after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** Busy CPU seconds of the whole machine so far, every core (/proc/stat; steal and idle left out). */
function machineBusySeconds() {
  try {
    const [, user, nice, system, , , irq, softirq] = fs
      .readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]
      .trim()
      .split(/\s+/)
      .map(Number);
    return (user + nice + system + irq + softirq) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** CPU seconds and a short command line of every process now, to see afterwards who else used the cores. */
function processTable() {
  const table = new Map();
  let pids = [];
  try {
    pids = fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return table;
  }
  for (const pid of pids) {
    const seconds = processCpuSeconds(pid);
    if (seconds === null) continue;
    let command = '';
    try {
      command = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      // gone meanwhile
    }
    table.set(Number(pid), { seconds, command: command.slice(0, 140) });
  }
  return table;
}

module.exports = {
  percentiles,
  median,
  linearFit,
  rssMb,
  processCpuSeconds,
  machineBusySeconds,
  processTable,
};
