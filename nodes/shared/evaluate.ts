import type { NodeInstance, NodeMessage, NodeRED } from './types';

/** RED.util.evaluateNodeProperty with its callback form (works for jsonata, flow/global contexts), as a promise. */
export function evaluate(RED: NodeRED, node: NodeInstance, msg: NodeMessage, value: unknown, type: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    RED.util.evaluateNodeProperty(value, type, node, msg, (err, result) => (err ? reject(err) : resolve(result)));
  });
}
