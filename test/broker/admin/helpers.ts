/** Shared bits of the admin API tests: clients on a broker and error-code extraction. */
import type { Admin } from '@platformatic/kafka'
import type { Broker } from '../../../src/broker/broker.ts'
import { type Platformatic, platformatic } from '../../helpers/clients.ts'

/** A @platformatic/kafka Admin on the broker, without retries so errors surface at once. */
export async function pltAdmin(broker: Broker): Promise<{ plt: Platformatic; admin: Admin }> {
  const plt = await platformatic()
  const admin = new plt.Admin({ clientId: 'admin-test', bootstrapBrokers: [broker.bootstrap], retries: 0 })
  return { plt, admin }
}

export type PltConnection = InstanceType<Platformatic['Connection']>

/**
 * Runs fn with a bare @platformatic/kafka Connection to the broker, for the APIs that client
 * encodes but sends from no client method (fn calls e.g. `plt.describeProducersV0.api.async`).
 */
export async function withPltConnection<T>(
  broker: Broker,
  fn: (connection: PltConnection, plt: Platformatic) => Promise<T>,
): Promise<T> {
  const plt = await platformatic()
  const connection = new plt.Connection('samsa-test-platformatic')
  await connection.connect(broker.host, broker.port)
  try {
    return await fn(connection, plt)
  } finally {
    await connection.close()
  }
}

/** Every Kafka error code carried by a @platformatic/kafka error, however deeply wrapped. */
export function protocolCodes(err: unknown): number[] {
  const out: number[] = []
  const walk = (e: unknown): void => {
    if (typeof e !== 'object' || e === null) return
    const o = e as { apiCode?: unknown; errors?: unknown; cause?: unknown }
    if (typeof o.apiCode === 'number') out.push(o.apiCode)
    if (Array.isArray(o.errors)) for (const inner of o.errors) walk(inner)
    walk(o.cause)
  }
  walk(err)
  return out
}

/** Runs fn, expects it to reject, and returns the Kafka error codes found in the rejection. */
export async function rejectedCodes(fn: () => Promise<unknown>): Promise<number[]> {
  try {
    await fn()
  } catch (err) {
    return protocolCodes(err)
  }
  throw new Error('expected a rejection')
}

/** The kafkajs error types (UNKNOWN_TOPIC_OR_PARTITION, ...) in a rejection, through its wrappers. */
export async function kafkajsErrorTypes(fn: () => Promise<unknown>): Promise<string[]> {
  const out: string[] = []
  const walk = (e: unknown): void => {
    if (typeof e !== 'object' || e === null) return
    const o = e as {
      type?: unknown
      originalError?: unknown
      cause?: unknown
      errors?: unknown
      partitions?: unknown
      groups?: unknown
    }
    if (typeof o.type === 'string') out.push(o.type)
    // KafkaJSDeleteTopicRecordsError carries one error per partition, KafkaJSDeleteGroupsError one per group.
    for (const items of [o.partitions, o.groups]) {
      if (Array.isArray(items)) for (const item of items) walk((item as { error?: unknown }).error)
    }
    walk(o.originalError)
    walk(o.cause)
    if (Array.isArray(o.errors)) for (const inner of o.errors) walk(inner)
  }
  try {
    await fn()
  } catch (err) {
    walk(err)
    return out
  }
  throw new Error('expected a rejection')
}
