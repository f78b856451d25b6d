/**
 * The body-limit middleware as a module of its own, for settings.js:
 *   httpNodeMiddleware: require("<package>/dist/lib/http/middleware")({ limit: 262144, paths: ["/wechat"] })
 * where <package> is node-red-contrib-wechat-c4c (see docs/security.md).
 */
import { bodyLimit } from './body-limit';

module.exports = bodyLimit;
module.exports.bodyLimit = bodyLimit;
