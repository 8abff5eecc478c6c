/**
 * The parts of a running broker (HTTP port, storage, coordinators, listeners, cluster
 * membership), each with a start and a close. startBroker starts them in list order and the
 * broker closes them in reverse, so a new part plugs in by taking its place in the list.
 */

/** One part of the broker. */
export interface Service {
  /** For the log and for errors: 'storage', 'listeners', 'http', ... */
  readonly name: string
  start(): Promise<void>
  /** Called once, and only after start() resolved. */
  close(): Promise<void>
}

/** Services started in order; closed in reverse. */
export class Services {
  readonly #started: Service[] = []

  /**
   * Starts each service after the one before. When one fails, those already started are closed
   * (in reverse, their own failures ignored: the start's error is the one to report) and the
   * error is thrown, so a failed start leaves nothing running behind it.
   */
  async start(services: readonly Service[]): Promise<void> {
    for (const service of services) {
      try {
        await service.start()
      } catch (err) {
        await this.#closeAll(() => {})
        throw err
      }
      this.#started.push(service)
    }
  }

  /**
   * Closes every started service, last first. A service that fails to close does not keep the
   * ones before it open (the storage still flushes and unlocks); the first failure is thrown
   * once all are closed.
   */
  async close(): Promise<void> {
    const failures: unknown[] = []
    await this.#closeAll((err) => failures.push(err))
    if (failures.length > 0) throw failures[0]
  }

  async #closeAll(onError: (err: unknown) => void): Promise<void> {
    for (let service = this.#started.pop(); service !== undefined; service = this.#started.pop()) {
      await service.close().catch(onError)
    }
  }
}
