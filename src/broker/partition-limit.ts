import type { BrokerCore } from './broker-core.ts'

/**
 * Why a partition count is refused, or undefined. Kafka sets no upper bound, but every partition
 * costs memory and files here, and one mistyped count must not take the broker down.
 */
export function partitionLimitExceeded(core: BrokerCore, partitions: number): string | undefined {
  const max = core.numberProp('samsa.topic.max.partitions')
  return partitions > max
    ? `Number of partitions ${partitions} is above the limit of ${max} (samsa.topic.max.partitions).`
    : undefined
}
