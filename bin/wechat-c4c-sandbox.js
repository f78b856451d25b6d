#!/usr/bin/env node
'use strict';
// The sandbox CLI (package bin). The compiled code lives in dist/ (npm run build).
const path = require('node:path');
const fs = require('node:fs');
const cli = path.join(__dirname, '..', 'dist', 'sandbox', 'cli.js');
if (!fs.existsSync(cli)) {
  console.error('wechat-c4c-sandbox: dist/ is missing: run `npm run build` first');
  process.exit(1);
}
require(cli).main();
