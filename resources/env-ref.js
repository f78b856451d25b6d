/*
 * The editor's `${VAR}` rule, shared by the dialogs (Node-RED serves this folder at
 * resources/node-red-contrib-wechat-c4c/): Node-RED's own, `^\${(\S+)}$` — a whole value that
 * names an environment variable, substituted at deploy. The runtime's copy is ENV_REF in
 * nodes/shared/config.ts.
 */
(function () {
  window.wechatC4CIsEnv = function (v) {
    return /^\$\{(\S+)\}$/.test(String(v === undefined || v === null ? '' : v).trim());
  };
})();
