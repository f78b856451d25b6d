/**
 * The liveness probe: `GET /wechat-c4c/health` on Node-RED's node HTTP server (httpNodeRoot, behind
 * httpNodeAuth when that is set), for a supervisor (systemd, Kubernetes). It answers only from a
 * turn of the event loop: the handler waits for the next `setImmediate` before it answers, so a
 * process that is up but whose loop is stuck (a deadlocked V8, an endless loop) answers nothing and
 * the probe's timeout fires. The answer carries no secret and no configuration:
 * `{"ok":true,"lagMs":<ms from the request to that turn>,"uptime":<s>}`, never cached.
 */
import type { NodeRED } from './types';

import { HEALTH_PATH } from '../../lib/http/body-limit';
/** The HTTP apps the probe is on (a test harness may give each load a new one). */
const registered = new WeakSet<object>();

export function registerHealth(RED: NodeRED): void {
  const R = RED as unknown as { httpNode?: { get?: (path: string, handler: (req: unknown, res: any) => void) => void } };
  const app = R.httpNode;
  if (!app || typeof app.get !== 'function' || registered.has(app)) return;
  registered.add(app);
  app.get(HEALTH_PATH, (_req, res) => {
    const asked = process.hrtime.bigint();
    setImmediate(() => {
      const lagMs = Number(process.hrtime.bigint() - asked) / 1e6;
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.end(JSON.stringify({ ok: true, lagMs: Math.round(lagMs * 10) / 10, uptime: Math.round(process.uptime()) }));
    });
  });
}
