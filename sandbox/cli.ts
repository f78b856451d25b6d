/** wechat-c4c-sandbox: run the sandbox on its own (npm start runs it together with Node-RED). */
import { Sandbox, SANDBOX_DEFAULTS, type SandboxOptions } from './server';
import { SANDBOX_MODES } from './wechat-server';

const HELP = `Usage: wechat-c4c-sandbox [options]

  --port N            port of the sandbox (default ${SANDBOX_DEFAULTS.port})
  --host H            address to listen on (default ${SANDBOX_DEFAULTS.host})
  --webhook URL       the Node-RED webhook WeChat calls (default ${SANDBOX_DEFAULTS.webhook})
  --mode plain|compatible|safe   message mode (default ${SANDBOX_DEFAULTS.mode})
  --app-id ID         the sandbox account's AppID (default ${SANDBOX_DEFAULTS.appId})
  --app-secret S      its AppSecret (default ${SANDBOX_DEFAULTS.appSecret})
  --token T           its server Token (default ${SANDBOX_DEFAULTS.token})
  --aes-key K         its EncodingAESKey, 43 characters
                      (default ${SANDBOX_DEFAULTS.encodingAESKey})
  --c4c-user U        the C4C user (default ${SANDBOX_DEFAULTS.c4cUser})
  --c4c-password P    the C4C password (default ${SANDBOX_DEFAULTS.c4cPassword})
  --extension-field F a C4C extension field on IndividualCustomer (repeatable), e.g. WeChatOpenID_KUT
                      or a typed one, Since_KUT:Edm.DateTime (Edm.Guid, Edm.Boolean, Edm.Int32, …)
  --event-url URL     where C4C posts change events (default /c4c/events beside the webhook)
  --event-user U      the Basic user C4C sends with them (default ${SANDBOX_DEFAULTS.eventUser})
  --event-password P  its password (default ${SANDBOX_DEFAULTS.eventPassword})
  --event-shape S     event | cloudevents | feed (default ${SANDBOX_DEFAULTS.eventShape})
  -h, --help          this text

Secrets not given on the command line are read from WECHAT_APP_SECRET, WECHAT_TOKEN,
WECHAT_AES_KEY, C4C_PASSWORD and C4C_EVENT_PASSWORD, else the defaults above are used. They are sandbox-only
values: they open doors on this sandbox and nowhere else. Fill your wechat-config and
c4c-config nodes with them (API base and Tenant URL = the sandbox's address).`;

export function parseArgs(argv: string[]): SandboxOptions & { help?: boolean } {
  const out: SandboxOptions & { help?: boolean } = {};
  const names: Record<string, keyof SandboxOptions> = {
    '--port': 'port', '--host': 'host', '--webhook': 'webhook', '--mode': 'mode', '--app-id': 'appId', '--app-secret': 'appSecret',
    '--token': 'token', '--aes-key': 'encodingAESKey', '--c4c-user': 'c4cUser', '--c4c-password': 'c4cPassword', '--extension-field': 'extensionFields',
    '--event-url': 'eventEndpoint', '--event-user': 'eventUser', '--event-password': 'eventPassword', '--event-shape': 'eventShape',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') {
      out.help = true;
      continue;
    }
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const key = names[flag];
    if (!key) throw new Error(`unknown option ${flag} (see --help)`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (key === 'port') {
      const port = Number(value);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port needs a port number');
      out.port = port;
    } else if (key === 'extensionFields') {
      out.extensionFields = [...(out.extensionFields ?? []), value];
    } else if (key === 'mode') {
      if (!(SANDBOX_MODES as readonly string[]).includes(value)) throw new Error(`--mode is ${SANDBOX_MODES.join(', ')}`);
      out.mode = value as SandboxOptions['mode'];
    } else if (key === 'eventShape') {
      if (value !== 'event' && value !== 'cloudevents' && value !== 'feed') throw new Error('--event-shape is event, cloudevents or feed');
      out.eventShape = value;
    } else {
      (out as Record<string, unknown>)[key] = value;
    }
  }
  return out;
}

export async function main(): Promise<void> {
  let opts: ReturnType<typeof parseArgs>;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  if (opts.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const env = process.env;
  const sandbox = new Sandbox({
    ...opts,
    appSecret: opts.appSecret ?? env.WECHAT_APP_SECRET,
    token: opts.token ?? env.WECHAT_TOKEN,
    encodingAESKey: opts.encodingAESKey ?? env.WECHAT_AES_KEY,
    c4cPassword: opts.c4cPassword ?? env.C4C_PASSWORD,
    eventPassword: opts.eventPassword ?? env.C4C_EVENT_PASSWORD,
  });
  await sandbox.listen();
  const o = sandbox.opts;
  process.stdout.write(`WeChat × C4C sandbox on ${sandbox.url}  (${o.mode} mode)
  page:          ${sandbox.url}/
  WeChat API:    ${sandbox.url}/cgi-bin/...          (WECHAT_API_BASE=${sandbox.url})
  C4C OData:     ${sandbox.url}/sap/c4c/odata/v1/c4codataapi   (C4C_BASE_URL=${sandbox.url})
  webhook:       ${o.webhook}
  account:       AppID ${o.appId}, gh id ${o.ghId}
Sandbox-only credentials (for your wechat-config / c4c-config nodes):
  AppSecret      ${o.appSecret}
  Token          ${o.token}
  EncodingAESKey ${o.encodingAESKey}
  C4C user       ${o.c4cUser}   password ${o.c4cPassword}
  C4C events     ${o.eventEndpoint || '(off)'}  (${o.eventShape})  Basic ${o.eventUser} / ${o.eventPassword}
Ctrl-C stops it.
`);
  const stop = (): void => {
    void sandbox.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) void main();
