import { ApiError } from './errors';

/**
 * TEI's --max-concurrent-requests: a fixed number of permits, one per input in flight. A request
 * that cannot take all it needs at once is refused (429 Overloaded) rather than queued, so the
 * server's queue and memory stay bounded whatever the load.
 */
export class Admission {
  readonly limit: number;
  #free: number;

  constructor(limit: number) {
    this.limit = limit;
    this.#free = limit;
  }

  get inUse(): number {
    return this.limit - this.#free;
  }

  /** Takes `permits` or throws 429; the caller gives them back with `release` when it has answered. */
  take(permits: number): void {
    if (permits > this.#free) throw new ApiError(429, 'Overloaded', 'Model is overloaded');
    this.#free -= permits;
  }

  release(permits: number): void {
    this.#free = Math.min(this.limit, this.#free + permits);
  }
}
