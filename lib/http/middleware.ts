/**
 * The body-limit middleware as a module of its own, for settings.js (README checklist, docs/security.md):
 *   const wechatBodyLimit = require("node-red-contrib-wechat-c4c/dist/lib/http/middleware")({ limit: 262144, paths: ["/wechat"] });
 *   module.exports = { ..., httpAdminMiddleware: wechatBodyLimit, httpNodeMiddleware: wechatBodyLimit };
 */
import { bodyLimit } from './body-limit';

module.exports = bodyLimit;
module.exports.bodyLimit = bodyLimit;
