'use strict';
// A process's resident memory as Linux reports it (/proc/<pid>/status VmRSS), in MB: what the
// security tests and bench:inbound hold a Node-RED process to.
const fs = require('node:fs');

/** RSS of `pid` in MB (NaN when the kernel does not say). */
function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

module.exports = { rssMb };
