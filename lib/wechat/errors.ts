import { WeChatC4CError } from '../errors';
import { isTransientNetworkCode } from '../util/http';

/** WXBizMsgCrypt error codes, named as in the official samples. */
export const CryptoErrorCode = {
  ValidateSignature: -40001,
  ParseXml: -40002,
  ComputeSignature: -40003,
  IllegalAesKey: -40004,
  ValidateAppid: -40005,
  EncryptAES: -40006,
  DecryptAES: -40007,
  IllegalBuffer: -40008,
  EncodeBase64: -40009,
  DecodeBase64: -40010,
  GenReturnXml: -40011,
} as const;

export type CryptoErrorCodeValue = (typeof CryptoErrorCode)[keyof typeof CryptoErrorCode];

/** An error from the WeChat message crypto: `code` is the sample's code as text (`"-40007"`). The message never contains key material. */
export class WeChatCryptoError extends WeChatC4CError {
  declare readonly errcode: CryptoErrorCodeValue;
  constructor(code: CryptoErrorCodeValue, message: string) {
    super(code, message, { errcode: code });
    this.name = 'WeChatCryptoError';
  }
}

// ---- WeChat API (api.weixin.qq.com) ---------------------------------------------------------

/**
 * WeChat answered with a non-zero errcode. `code` is the errcode as text (`"45015"`) so a Catch
 * node can switch on it; `errcode` the number. The hint (lib/hints.ts) is keyed by the code; an IP
 * WeChat names (40164, 61004) is kept in `hintVars.ip`.
 */
export class WeChatApiError extends WeChatC4CError {
  declare readonly errcode: number;
  readonly errmsg: string;
  readonly api: string;
  constructor(api: string, errcode: number, errmsg: string) {
    const ip = /(?:invalid ip|ip)\s+([0-9a-fA-F.:]+)/.exec(errmsg)?.[1];
    super(errcode, `WeChat ${api} failed: ${errcode} ${errmsg}`, { errcode, hintVars: { ip: ip ?? '(see errmsg)' }, transient: errcode === -1 });
    this.name = 'WeChatApiError';
    this.errmsg = errmsg;
    this.api = api;
  }
}

/**
 * The HTTP exchange itself failed. `code` is a network code (`ECONNREFUSED`,
 * `ETIMEDOUT`, ...), `HTTP_<status>` (any status but 200), `BAD_JSON`, `BAD_TOKEN`, `CLOSED`
 * (redeploy), `FORCE_REFRESH_TOO_SOON`. No URL, header or body inside.
 */
export class WeChatHttpError extends WeChatC4CError {
  readonly statusCode: number | undefined;
  constructor(api: string, code: string, detail: string, statusCode?: number) {
    super(code, `WeChat ${api} failed: ${detail}`, { transient: isTransientNetworkCode(code) || /^HTTP_5/.test(code) });
    this.name = 'WeChatHttpError';
    this.statusCode = statusCode;
  }
}
