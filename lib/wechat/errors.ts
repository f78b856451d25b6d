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

/** An error from the WeChat message crypto. The message never contains key material. */
export class WeChatCryptoError extends Error {
  readonly code: CryptoErrorCodeValue;
  constructor(code: CryptoErrorCodeValue, message: string) {
    super(message);
    this.name = 'WeChatCryptoError';
    this.code = code;
  }
}
