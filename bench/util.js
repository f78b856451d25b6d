'use strict';
// Shared by the benchmarks: table printing and JSON results. Benchmarks never fail a build.
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');

function table(rows, columns) {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells) => '| ' + cells.map((c, i) => String(c ?? '').padEnd(widths[i])).join(' | ') + ' |';
  console.log(line(columns));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(columns.map((c) => r[c])));
}

function writeResults(name, data) {
  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  const doc = {
    benchmark: name,
    date: new Date().toISOString(),
    machine: { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0] && os.cpus()[0].model, memGiB: Math.round(os.totalmem() / 2 ** 30) },
    ...data,
  };
  fs.writeFileSync(file, JSON.stringify(doc, null, 2));
  console.log(`\nresults written to ${path.relative(process.cwd(), file)}`);
}

const round = (n, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

/** The p-th percentile (0-100) of `values`, nearest rank; NaN for none. */
function pct(values, p) {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/** CPU time (user + system, ms) a process has used so far, from /proc; NaN elsewhere. */
function cpuMs(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in USER_HZ (100)
  } catch {
    return NaN;
  }
}

module.exports = { table, writeResults, round, pct, cpuMs };
