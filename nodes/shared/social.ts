import { SocialService } from '../../lib/c4c/social';
import type { C4CConfigNode } from '../c4c-config/c4c-config';

/**
 * One SocialService per c4c-config (per deploy), shared by c4c-social-message and c4c-agent-reply:
 * the profile, OpenID and thread caches serve both directions. The per-follower lock and the
 * caches are the c4c-config's store's (Redis: one profile per follower, read from C4C once, across
 * instances).
 */
const services = new WeakMap<C4CConfigNode, SocialService>();

export function socialFor(system: C4CConfigNode | null | undefined, timeoutMs = 30000): SocialService | undefined {
  if (!system?.client) return undefined;
  let service = services.get(system);
  if (!service) {
    service = new SocialService(system.client, { locks: system.store.locks(`c4c:${system.tenant}`), cache: system.store.kv(`c4c:${system.tenant}`), timeoutMs });
    services.set(system, service);
  }
  return service;
}
