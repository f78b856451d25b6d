'use strict';
// Preloaded into the Node-RED child by bench/inbound-attack.js (node -r): answers
// GET http://127.0.0.1:$HEAP_PROBE_PORT/ with the process's memory figures in MB (`?gc`: after a
// full GC, when Node runs with --expose-gc). Bench only; never part of the package's runtime.
const http = require('node:http');
const v8 = require('node:v8');

const port = Number(process.env.HEAP_PROBE_PORT || 0);
const MB = 2 ** 20;
if (port) {
  http.createServer((req, res) => {
    if (req.url.includes('gc') && typeof global.gc === 'function') global.gc();
    const m = process.memoryUsage();
    const out = { rss: m.rss / MB, heapUsed: m.heapUsed / MB, heapTotal: m.heapTotal / MB, external: m.external / MB, arrayBuffers: m.arrayBuffers / MB, spaces: {} };
    for (const s of v8.getHeapSpaceStatistics()) out.spaces[s.space_name] = { size: s.space_size / MB, used: s.space_used_size / MB };
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(out));
  }).listen(port, '127.0.0.1').unref();
}
