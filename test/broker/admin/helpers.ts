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
    const o = e as { type?: unknown; originalError?: unknown; cause?: unknown; errors?: unknown; partitions?: unknown }
    if (typeof o.type === 'string') out.push(o.type)
    // KafkaJSDeleteTopicRecordsError carries one error per partition.
    if (Array.isArray(o.partitions)) for (const p of o.partitions) walk((p as { error?: unknown }).error)
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
