'use strict';
/**
 * The programs some suites need besides Node and npm, found in one place: redis-server (and
 * redis-cli beside it), nginx, Chromium, openssl. Each is taken from its environment variable, else from the
 * usual Debian path, else from PATH; pointing a variable at a path that does not exist simulates a
 * machine without the program.
 *
 * A suite that needs a missing program is skipped with one line naming the program and how to
 * install it; with CI set (.ci/run sets CI=true) a missing program fails the run instead.
 */
const fs = require('node:fs');
const path = require('node:path');

const PROGRAMS = {
  'redis-server': { env: 'REDIS_SERVER_BIN', debian: '/usr/bin/redis-server', install: 'apt-get install redis-server' },
  // Debian's redis-server package brings redis-cli (redis-tools); by default it is the one beside the server.
  'redis-cli': { env: 'REDIS_CLI_BIN', beside: 'redis-server', install: 'apt-get install redis-server' },
  nginx: { env: 'NGINX_BIN', debian: '/usr/sbin/nginx', install: 'apt-get install nginx' },
  chromium: { env: 'CHROMIUM_BIN', debian: '/usr/bin/chromium', install: 'apt-get install chromium fonts-wqy-zenhei' },
  // makes the test CA and certificates of the client-certificate test (slim images lack it)
  openssl: { env: 'OPENSSL_BIN', debian: '/usr/bin/openssl', install: 'apt-get install openssl' },
};

const executable = (file) => {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
};

function onPath(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, name);
    if (executable(file)) return file;
  }
  return undefined;
}

/** Where `name` is looked for: the variable's value, the Debian path, or the PATH entry (or the Debian path when none). */
function programPath(name) {
  const p = PROGRAMS[name];
  if (!p) throw new Error(`unknown program ${name}`);
  const set = process.env[p.env];
  if (set) return set.includes('/') ? set : onPath(set) || set;
  if (p.beside) return path.join(path.dirname(programPath(p.beside)), name);
  return executable(p.debian) ? p.debian : onPath(name) || p.debian;
}

/** The programs of `names` that are missing, each as one phrase: what, where looked, how to install. */
function missing(names) {
  const gone = names.filter((n) => !executable(programPath(n)));
  // redis-cli beside a missing redis-server goes without saying
  return gone.filter((n) => !gone.includes(PROGRAMS[n].beside))
    .map((n) => `${n} (not at ${programPath(n)}; ${PROGRAMS[n].install}, or set ${PROGRAMS[n].env})`);
}

const inCI = () => !!process.env.CI && !/^(false|0)$/i.test(process.env.CI);

/**
 * undefined when every program of `names` is there; else the one line that says `what` is skipped
 * and why — or, with CI set, an error.
 */
function skipLine(what, names) {
  const gone = missing(names);
  if (!gone.length) return undefined;
  if (inCI()) throw new Error(`${what} needs ${gone.join(', ')}: with CI set a missing program fails the run`);
  return `SKIPPED ${what}: needs ${gone.join(', ')}`;
}

/** In a mocha `before(function () { … })` of a suite: skips the suite (one line) or fails it (CI) when a program is missing. */
function needPrograms(ctx, ...names) {
  const line = skipLine(ctx.test?.parent?.fullTitle() || 'suite', names);
  if (!line) return;
  console.log(`    ${line}`);
  ctx.skip();
}

module.exports = { programPath, needPrograms, skipLine };
