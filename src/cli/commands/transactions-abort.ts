/**
 * `samsa transactions abort`: ends a hanging transaction in one partition by having the
 * partition's leader write its ABORT marker (WriteTxnMarkers), as kafka-transactions.sh abort
 * does. The transaction is named by the offset where it starts in the partition (its producer is
 * found with DescribeProducers at the leader), or by producer id, epoch and coordinator epoch.
 * Its records then count as aborted, and read_committed consumers read on past them.
 */
import type { Command } from 'commander'
import type { Admin } from '../../client/admin.ts'
import { ClientError, KafkaError } from '../../client/errors.ts'
import {
  createDescribeProducersRequest,
  createTopicRequest,
  type DescribeProducersResponse,
} from '../../protocol/generated/describe-producers.ts'
import { ApiKey } from '../../protocol/generated/index.ts'
import {
  createWritableTxnMarker,
  createWriteTxnMarkersRequest,
  type WriteTxnMarkersResponse,
} from '../../protocol/generated/write-txn-markers.ts'
import {
  type CommonFlags,
  checkPartitions,
  EXIT_CODES_HELP,
  info,
  parseCountArg,
  printJson,
  UsageError,
  withAdmin,
  withCommonFlags,
} from '../common.ts'
import { sendNewest } from '../requests.ts'

interface AbortFlags extends CommonFlags {
  topic: string
  partition: number
  startOffset?: number
  producerId?: number
  producerEpoch?: number
  coordinatorEpoch?: number
}

/** What was aborted, as --json prints it. */
interface AbortedTransaction {
  topic: string
  partition: number
  producerId: bigint
  producerEpoch: number
  coordinatorEpoch: number
}

/** The producer whose open transaction starts at `startOffset`, from the partition's leader. */
async function producerAt(
  admin: Admin,
  leader: number,
  topic: string,
  partition: number,
  startOffset: number,
): Promise<{ producerId: bigint; producerEpoch: number; coordinatorEpoch: number }> {
  const conn = await admin.cluster.connection(leader)
  const res = await sendNewest<DescribeProducersResponse>(conn, ApiKey.DescribeProducers, { min: 0, max: 0 }, () =>
    createDescribeProducersRequest({ topics: [createTopicRequest({ name: topic, partitionIndexes: [partition] })] }),
  )
  const p = res.topics[0]?.partitions[0]
  if (p === undefined) throw new Error(`DescribeProducers returned nothing for ${topic}/${partition}`)
  if (p.errorCode !== 0) throw new KafkaError(p.errorCode, p.errorMessage, `${topic}/${partition}`)
  const found = p.activeProducers.find((s) => s.currentTxnStartOffset === BigInt(startOffset))
  if (found === undefined) {
    throw new ClientError(
      'SAMSA_ERR_NOT_FOUND',
      `no open transaction starts at offset ${startOffset} of ${topic}/${partition} (see samsa producers describe ${topic})`,
    )
  }
  // A producer without a marker yet reports coordinator epoch -1; Kafka's tool then writes 0.
  return {
    producerId: found.producerId,
    producerEpoch: found.producerEpoch,
    coordinatorEpoch: Math.max(0, found.coordinatorEpoch),
  }
}

/** Registers `transactions abort`. */
export function registerAbort(transactions: Command): void {
  withCommonFlags(
    transactions
      .command('abort')
      .description('abort a hanging transaction in a partition: its leader writes the ABORT marker'),
    { json: true },
  )
    .requiredOption('--topic <topic>', "the partition's topic")
    .requiredOption('--partition <n>', 'the partition', parseCountArg)
    .option('--start-offset <offset>', 'the first offset of the transaction in the partition', parseCountArg)
    .option('--producer-id <id>', 'the producer, instead of --start-offset', parseCountArg)
    .option('--producer-epoch <epoch>', 'its epoch (with --producer-id)', parseCountArg)
    .option(
      '--coordinator-epoch <epoch>',
      "the marker's coordinator epoch (with --producer-id; samsa's coordinators write 0, and a higher one fences their later markers for this producer in this partition)",
      parseCountArg,
    )
    .addHelpText(
      'after',
      `
A transaction its coordinator cannot end holds back read_committed consumers of the partition at
its first offset (the last stable offset). samsa producers describe TOPIC lists the open
transactions (TXN-START-OFFSET): abort one by that offset (--start-offset), or by producer id,
epoch and coordinator epoch as kafka-transactions.sh takes them. Its records then count as
aborted. An abort marker for a producer without an open transaction there changes nothing.

Examples:
  samsa producers describe orders -p 0
  samsa transactions abort --topic orders --partition 0 --producer-id 4001 --producer-epoch 3 --coordinator-epoch 0
${EXIT_CODES_HELP}`,
    )
    .action(async (flags: AbortFlags) => {
      const explicit = [flags.producerId, flags.producerEpoch, flags.coordinatorEpoch]
      const byProducer = explicit.every((v) => v !== undefined)
      if (flags.startOffset === undefined && !byProducer) {
        throw new UsageError('give --start-offset, or --producer-id, --producer-epoch and --coordinator-epoch')
      }
      if (flags.startOffset !== undefined && explicit.some((v) => v !== undefined)) {
        throw new UsageError('give either --start-offset or --producer-id, --producer-epoch and --coordinator-epoch')
      }
      await withAdmin(flags, async (admin) => {
        const meta = await admin.cluster.topic(flags.topic)
        checkPartitions(meta, [flags.partition])
        const leader = meta.partitions.find((p) => p.partition === flags.partition)?.leader ?? -1
        const producer =
          flags.startOffset === undefined
            ? {
                producerId: BigInt(flags.producerId as number),
                producerEpoch: flags.producerEpoch as number,
                coordinatorEpoch: flags.coordinatorEpoch as number,
              }
            : await producerAt(admin, leader, meta.name, flags.partition, flags.startOffset)
        const conn = await admin.cluster.connection(leader)
        const res = await sendNewest<WriteTxnMarkersResponse>(conn, ApiKey.WriteTxnMarkers, { min: 0, max: 1 }, () =>
          createWriteTxnMarkersRequest({
            markers: [
              createWritableTxnMarker({
                ...producer,
                transactionResult: false,
                topics: [{ name: meta.name, partitionIndexes: [flags.partition] }],
              }),
            ],
          }),
        )
        const errorCode = res.markers[0]?.topics[0]?.partitions[0]?.errorCode ?? -1
        if (errorCode !== 0) throw new KafkaError(errorCode, null, `${meta.name}/${flags.partition}`)
        const aborted: AbortedTransaction = { topic: meta.name, partition: flags.partition, ...producer }
        if (flags.json) printJson(aborted)
        else {
          info(
            `aborted the transaction of producer ${producer.producerId} (epoch ${producer.producerEpoch}) in ${meta.name}/${flags.partition}`,
          )
        }
      })
    })
}
