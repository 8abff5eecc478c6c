/**
 * Named one-shot timers owned by one group: setting a name again replaces its timer, and
 * `clearAll` cancels everything when the group is dropped or the broker closes. Timers are
 * unref'd so a pending session timeout never keeps the process alive.
 */
export class GroupTimers {
  readonly #timers = new Map<string, NodeJS.Timeout>()

  /** (Re)arms the timer `name` to run `fn` once after `ms` milliseconds. */
  set(name: string, ms: number, fn: () => void): void {
    this.clear(name)
    const t = setTimeout(
      () => {
        this.#timers.delete(name)
        fn()
      },
      Math.max(0, ms),
    )
    t.unref?.()
    this.#timers.set(name, t)
  }

  has(name: string): boolean {
    return this.#timers.has(name)
  }

  clear(name: string): void {
    const t = this.#timers.get(name)
    if (t !== undefined) {
      clearTimeout(t)
      this.#timers.delete(name)
    }
  }

  clearAll(): void {
    for (const t of this.#timers.values()) clearTimeout(t)
    this.#timers.clear()
  }
}
