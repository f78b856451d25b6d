#!/usr/bin/env node
'use strict';
// npm start: the sandbox and Node-RED with the bundled flow, offline. Ctrl-C stops both.
const { startDemo } = require('./demo');

const args = process.argv.slice(2);
const mode = args.includes('--plain') ? 'plain' : 'safe';
const reset = args.includes('--reset');

startDemo({ mode, inherit: true, keepUserFlow: !reset }).then((demo) => {
  console.log(`
  ┌───────────────────────────────────────────────────────────────┐
    Node-RED editor:  ${demo.editorUrl}
    Sandbox page:     ${demo.sandboxUrl}   (tap 关注 / Follow)
    Mode:             ${mode} (npm start -- --plain for plaintext)
    User directory:   ${demo.userDir}
    Dead letters:     ${demo.deadLetterFile}
  └───────────────────────────────────────────────────────────────┘
  Ctrl-C stops both.
`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping Node-RED and the sandbox…');
    demo.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  demo.nr.child.on('exit', (code) => {
    if (!stopping) {
      console.error(`Node-RED exited (${code}); stopping the sandbox`);
      demo.sandbox.close().then(() => process.exit(1));
    }
  });
}, (err) => {
  console.error(err.message || err);
  if (/EADDRINUSE/.test(String(err && err.message))) console.error('A port is taken: is another `npm start` (1880, 1881) still running?');
  process.exit(1);
});
