/** The errors of the stores (memory and Redis alike). */
import { WeChatC4CError } from '../errors';

/** An error with a string `code` (LOCK_TIMEOUT, STORE_UNAVAILABLE, ABORTED, CLOSED); an outage is transient. */
export class StoreError extends WeChatC4CError {
  constructor(code: string, message: string) {
    super(code, message, { transient: code === 'STORE_UNAVAILABLE' || code === 'LOCK_TIMEOUT' });
    this.name = 'StoreError';
  }
}

/** The shared store could not be reached (a StoreError, or any error with that code). */
export function isStoreUnavailable(err: unknown): boolean {
  return (err as { code?: string } | undefined)?.code === 'STORE_UNAVAILABLE';
}
