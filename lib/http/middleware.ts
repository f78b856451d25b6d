/**
 * The body-limit middleware as a module of its own, for settings.js (README checklist, docs/security.md):
 *   const wechatBodyLimit = require("<package>/dist/lib/http/middleware")({ limit: 262144, paths: ["/wechat"] });
 *   module.exports = { ..., httpAdminMiddleware: wechatBodyLimit, httpNodeMiddleware: wechatBodyLimit };
 * where <package> is this package's name.
 */
import { bodyLimit } from './body-limit';

module.exports = bodyLimit;
module.exports.bodyLimit = bodyLimit;
