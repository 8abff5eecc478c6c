/**
 * Runs tasks one after another in the order they are given, each once the one before it has
 * settled; a task that fails rejects its own promise only, the next one still runs.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve()

  run<T>(task: () => T | Promise<T>): Promise<T> {
    const run = this.#tail.then(task)
    this.#tail = run.catch(() => {})
    return run
  }

  /** Resolves once every task given so far has settled. */
  async idle(): Promise<void> {
    await this.#tail
  }
}
