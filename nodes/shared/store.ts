import { MemoryStoreProvider } from '../../lib/store/memory';
import type { StoreProvider } from '../../lib/store/types';
import type { NodeRED } from './types';

/** The part of a wechat-c4c-redis node that other config nodes use (nodes/wechat-c4c-redis). */
interface RedisConfigNode {
  store: StoreProvider | undefined;
  off: boolean;
  problems: string[];
}

/** The store a config node runs on, and what the config node does with it when it closes. */
export interface ChosenStore {
  provider: StoreProvider;
  /** Translated: the `store` property names a missing or misconfigured wechat-c4c-redis node. */
  problem?: string;
  /** On close: a memory store is the config node's own and goes with it; a Redis one belongs to its wechat-c4c-redis node. */
  release(): Promise<void>;
}

/**
 * The store a wechat-config or c4c-config uses, from its `store` property (the id of a
 * wechat-c4c-redis node): that node's Redis store, or — no id, or a node whose URL is an unset
 * `${VAR}` — a memory store of the config node's own. A missing or misconfigured node: `problem`
 * (the config node is not usable: running several instances on memory by mistake would duplicate
 * customers).
 */
export function storeOf(RED: NodeRED, id: unknown, type: 'wechat-config' | 'c4c-config'): ChosenStore {
  const memory = (problem?: string): ChosenStore => {
    const provider = new MemoryStoreProvider();
    return { provider, problem, release: () => provider.close() };
  };
  const ref = typeof id === 'string' ? id.trim() : '';
  if (!ref) return memory();
  const node = RED.nodes.getNode(ref) as unknown as RedisConfigNode | null;
  if (!node || !Array.isArray(node.problems)) return memory(RED._(`${type}.errors.store-missing`));
  if (node.off) return memory();
  if (node.problems.length || !node.store) return memory(RED._(`${type}.errors.store-broken`, { problems: node.problems.join('; ') }));
  return { provider: node.store, release: async () => undefined };
}
