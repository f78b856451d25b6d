/** The errors of the stores (memory and Redis alike). */

/** An error with a string `code` (LOCK_TIMEOUT, STORE_UNAVAILABLE, ABORTED, CLOSED). */
export class StoreError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'StoreError';
    this.code = code;
  }
}

/** The shared store could not be reached (a StoreError, or any error with that code). */
export function isStoreUnavailable(err: unknown): boolean {
  return (err as { code?: string } | undefined)?.code === 'STORE_UNAVAILABLE';
}
