/**
 * A live progress line on stderr: a bar with count, percentage and rate redrawn in place on a
 * terminal; elsewhere (a pipe, a log file) one plain line every few seconds.
 */

/** Progress reporting for a counted task. */
export class ProgressBar {
  readonly #total: number
  readonly #label: string
  readonly #tty: boolean
  readonly #intervalMs: number
  readonly #started = performance.now()
  #timer: NodeJS.Timeout | undefined
  #current = 0
  #lastCount = 0
  #lastAt = performance.now()

  constructor(options: { total: number; label: string; tty?: boolean; enabled?: boolean }) {
    this.#total = options.total
    this.#label = options.label
    this.#tty = options.tty ?? process.stderr.isTTY === true
    this.#intervalMs = this.#tty ? 100 : 5000
    if (options.enabled !== false) {
      this.#timer = setInterval(() => this.#draw(false), this.#intervalMs)
      this.#timer.unref()
    }
  }

  /** Sets the count done so far. */
  update(current: number): void {
    this.#current = current
  }

  /** Draws the final state and stops. */
  stop(): void {
    if (!this.#timer) return
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#draw(true)
  }

  /** The bar text for a count (exported for tests through render). */
  render(current: number, rate: number): string {
    const width = 30
    const ratio = this.#total > 0 ? Math.min(1, current / this.#total) : 1
    const filled = Math.round(ratio * width)
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`
    return `${bar} ${(ratio * 100).toFixed(0).padStart(3)}% ${current}/${this.#total} ${this.#label} ${Math.round(rate)} ${this.#label}/s`
  }

  #draw(final: boolean): void {
    const now = performance.now()
    const rate = final
      ? (this.#current * 1000) / Math.max(1, now - this.#started)
      : ((this.#current - this.#lastCount) * 1000) / Math.max(1, now - this.#lastAt)
    this.#lastCount = this.#current
    this.#lastAt = now
    const line = this.render(this.#current, rate)
    if (this.#tty) process.stderr.write(`\r${line}${final ? '\n' : ''}`)
    else process.stderr.write(`${line}\n`)
  }
}
