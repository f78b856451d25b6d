/* Minimal typings for the parts of the Node-RED runtime API these nodes use. */
export type NodeMessage = Record<string, any> & { _msgid?: string };

export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

export interface NodeInstance {
  id: string;
  name?: string;
  credentials: Record<string, string | undefined>;
  on(event: 'input', handler: (msg: NodeMessage, send: (msg: NodeMessage | (NodeMessage | null)[] | null) => void, done: (err?: Error) => void) => void): void;
  on(event: 'close', handler: (removed: boolean, done: () => void) => void): void;
  send(msg: NodeMessage | null): void;
  status(status: NodeStatus | Record<string, never>): void;
  log(msg: unknown): void;
  warn(msg: unknown): void;
  error(msg: unknown, m?: NodeMessage): void;
  [key: string]: any;
}

export interface NodeRED {
  nodes: {
    createNode(node: NodeInstance, config: Record<string, unknown>): void;
    registerType(type: string, ctor: any, opts?: { credentials?: Record<string, { type: 'text' | 'password' }>; settings?: Record<string, unknown> }): void;
    getNode(id: string): any;
  };
  util: {
    evaluateNodeProperty(value: unknown, type: string, node: NodeInstance, msg: NodeMessage, callback: (err: Error | null, result: unknown) => void): void;
    getMessageProperty(msg: NodeMessage, expr: string): unknown;
    generateId(): string;
  };
  settings: Record<string, any>;
  /** Node-RED's messaging hooks (`onComplete.<label>`: a node settled a msg, with its error if it failed). */
  hooks?: {
    add(label: string, hook: (event: { msg?: NodeMessage; error?: unknown; node?: { id: string } }) => void): void;
    remove(label: string): void;
  };
  _: (key: string, substitutions?: Record<string, unknown>) => string;
}
