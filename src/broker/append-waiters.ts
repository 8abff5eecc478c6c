import { type Clock, systemClock } from '../coordinator/clock.ts'

/**
 * Wakes long-polling fetches when data arrives: a fetch that has not reached min_bytes registers
 * for its partitions and sleeps until an append to one of them or its max_wait_ms, never polling.
 * max_wait_ms runs on the broker's clock, so a test that moves the clock past it ends the wait.
 */
export class AppendWaiters {
  readonly #waiting = new Map<string, Map<number, Set<() => void>>>()
  readonly #clock: Clock

  constructor(clock: Clock = systemClock) {
    this.#clock = clock
  }

  /** Called for every append; cheap when nobody waits on the topic. */
  notify(topic: string, partition: number): void {
    const set = this.#waiting.get(topic)?.get(partition)
    if (set === undefined) return
    for (const wake of [...set]) wake()
  }

  /** Resolves at the first append to any of the partitions, or after `ms`, or when `signal` aborts. */
  wait(partitions: { topic: string; partition: number }[], ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const registered: Set<() => void>[] = []
      const wake = (): void => {
        this.#clock.clearTimeout(timer)
        signal?.removeEventListener('abort', wake)
        for (const set of registered) set.delete(wake)
        for (const { topic, partition } of partitions) this.#prune(topic, partition)
        resolve()
      }
      const timer = this.#clock.setTimeout(wake, ms)
      signal?.addEventListener('abort', wake)
      for (const { topic, partition } of partitions) {
        let byPartition = this.#waiting.get(topic)
        if (byPartition === undefined) {
          byPartition = new Map()
          this.#waiting.set(topic, byPartition)
        }
        let set = byPartition.get(partition)
        if (set === undefined) {
          set = new Set()
          byPartition.set(partition, set)
        }
        set.add(wake)
        registered.push(set)
      }
    })
  }

  #prune(topic: string, partition: number): void {
    const byPartition = this.#waiting.get(topic)
    if (byPartition?.get(partition)?.size === 0) byPartition.delete(partition)
    if (byPartition?.size === 0) this.#waiting.delete(topic)
  }
}
