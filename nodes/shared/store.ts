import type { StoreProvider } from '../../lib/store/types';
import type { NodeRED } from './types';

/** The part of a wechat-c4c-redis node that other config nodes use (nodes/wechat-c4c-redis). */
interface RedisConfigNode {
  store: StoreProvider | undefined;
  off: boolean;
  problems: string[];
}

/**
 * The store a wechat-config or c4c-config uses, from its `store` property (the id of a
 * wechat-c4c-redis node). No id, or a node whose URL is an unset `${VAR}`: memory (`provider`
 * undefined). A missing or misconfigured node: `problem` (the config node is not usable: running
 * several instances on memory by mistake would duplicate customers).
 */
export function storeOf(RED: NodeRED, id: unknown, type: 'wechat-config' | 'c4c-config'): { provider?: StoreProvider; problem?: string } {
  const ref = typeof id === 'string' ? id.trim() : '';
  if (!ref) return {};
  const node = RED.nodes.getNode(ref) as unknown as RedisConfigNode | null;
  if (!node || !Array.isArray(node.problems)) return { problem: RED._(`${type}.errors.store-missing`) };
  if (node.off) return {};
  if (node.problems.length || !node.store) return { problem: RED._(`${type}.errors.store-broken`, { problems: node.problems.join('; ') }) };
  return { provider: node.store };
}
