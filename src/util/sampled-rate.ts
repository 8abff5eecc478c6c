/**
 * A rate measured as Kafka's metrics measure one for a quota: what was recorded over the last
 * quota.window.num windows of quota.window.size.seconds, per second, and how long a client (or an
 * acceptor) over a quota must wait for the rate to come back to it.
 */

/** What one window counted (bytes, connections, or percent-seconds of loop time). */
interface Sample {
  start: number
  amount: number
}

/** A rate over the last `count` windows of `windowMs`, as Kafka's Rate with SampledStat computes it. */
export class SampledRate {
  readonly #samples: Sample[] = []
  /** The samples' amounts added up (kept as they come and go: a rate is read on every request). */
  #total = 0
  readonly #count: number
  readonly #windowMs: number

  constructor(count: number, windowMs: number) {
    this.#count = count
    this.#windowMs = windowMs
  }

  record(amount: number, now: number): void {
    this.#total += amount
    const last = this.#samples.at(-1)
    if (last !== undefined && now - last.start < this.#windowMs) last.amount += amount
    else {
      this.#samples.push({ start: now, amount })
      if (this.#samples.length > this.#count) this.#total -= (this.#samples.shift() as Sample).amount
    }
  }

  /** The span the rate is measured over: at least count-1 whole windows, as Kafka counts it. */
  windowMs(now: number): number {
    const oldest = this.#samples[0]?.start ?? now
    const elapsed = now - oldest
    const full = Math.floor(elapsed / this.#windowMs)
    const minFull = this.#count - 1
    return full < minFull ? elapsed + (minFull - full) * this.#windowMs : elapsed
  }

  /**
   * How long a client over `quota` must wait for its rate to come back to it, as Kafka's
   * QuotaUtils.throttleTime computes it over the precise window; 0 when it is within the quota.
   */
  throttleMs(quota: number, now: number): number {
    const observed = this.rate(now)
    return observed <= quota ? 0 : Math.round(((observed - quota) / quota) * this.windowMs(now))
  }

  /** What was recorded, per second, now. */
  rate(now: number): number {
    while (this.#samples.length > 0 && now - (this.#samples[0] as Sample).start >= this.#count * this.#windowMs) {
      this.#total -= (this.#samples.shift() as Sample).amount
    }
    return this.#total / (this.windowMs(now) / 1000)
  }
}
