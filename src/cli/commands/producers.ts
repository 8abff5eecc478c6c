/** `samsa producers describe TOPIC`: the active producers of partitions (kafka-transactions.sh describe-producers). */
import type { Command } from 'commander'
import { KafkaError } from '../../client/errors.ts'
import {
  createDescribeProducersRequest,
  createTopicRequest,
  type DescribeProducersResponse,
} from '../../protocol/generated/describe-producers.ts'
import { ApiKey } from '../../protocol/generated/index.ts'
import {
  type CommonFlags,
  checkPartitions,
  EXIT_CODES_HELP,
  info,
  parsePartitionList,
  printJson,
  withAdmin,
  withCommonFlags,
} from '../common.ts'
import { printTable } from '../output/table.ts'
import { sendNewest } from '../requests.ts'

interface ProducersFlags extends CommonFlags {
  partition?: string
}

/** One active producer of a partition, as --json prints it. */
interface ActiveProducer {
  topic: string
  partition: number
  producerId: bigint
  producerEpoch: number
  /** Sequence of the producer's last record, -1 when none is known. */
  lastSequence: number
  lastTimestamp: bigint
  /** Epoch of the transaction coordinator that wrote the producer's last marker, -1 when none. */
  coordinatorEpoch: number
  /** First offset of the producer's open transaction, null when none is open. */
  currentTxnStartOffset: bigint | null
}

/** Registers the producers command group. */
export function registerProducersCommand(program: Command): void {
  const producers = program
    .command('producers')
    .description('active idempotent and transactional producers of partitions')

  withCommonFlags(
    producers
      .command('describe')
      .description("the active producers of a topic's partitions, from their leaders (DescribeProducers)")
      .argument('<topic>'),
    { json: true },
  )
    .option('-p, --partition <list>', 'only these partitions, e.g. 0 or 0,2 (default: all)')
    .addHelpText(
      'after',
      `
A producer stays listed while the partition keeps its state (transactional.id.expiration.ms,
producer.id.expiration.ms). TXN-START-OFFSET is the first offset of its open transaction, the
one that holds back read_committed consumers (the last stable offset).

Examples:
  samsa producers describe orders
  samsa producers describe orders -p 0 --json | jq '.[] | select(.currentTxnStartOffset != null)'
${EXIT_CODES_HELP}`,
    )
    .action(async (topic: string, flags: ProducersFlags) => {
      const requested = parsePartitionList(flags.partition)
      await withAdmin(flags, async (admin) => {
        const meta = await admin.cluster.topic(topic)
        if (requested) checkPartitions(meta, requested)
        const byLeader = new Map<number, number[]>()
        for (const p of meta.partitions) {
          if (requested && !requested.includes(p.partition)) continue
          byLeader.set(p.leader, [...(byLeader.get(p.leader) ?? []), p.partition])
        }
        const found: ActiveProducer[] = []
        for (const [leader, partitionIndexes] of byLeader) {
          const conn = await admin.cluster.connection(leader)
          const res = await sendNewest<DescribeProducersResponse>(
            conn,
            ApiKey.DescribeProducers,
            { min: 0, max: 0 },
            () =>
              createDescribeProducersRequest({ topics: [createTopicRequest({ name: meta.name, partitionIndexes })] }),
          )
          for (const t of res.topics) {
            for (const p of t.partitions) {
              if (p.errorCode !== 0) throw new KafkaError(p.errorCode, p.errorMessage, `${t.name}/${p.partitionIndex}`)
              for (const s of p.activeProducers) {
                found.push({
                  topic: t.name,
                  partition: p.partitionIndex,
                  producerId: s.producerId,
                  producerEpoch: s.producerEpoch,
                  lastSequence: s.lastSequence,
                  lastTimestamp: s.lastTimestamp,
                  coordinatorEpoch: s.coordinatorEpoch,
                  currentTxnStartOffset: s.currentTxnStartOffset < 0n ? null : s.currentTxnStartOffset,
                })
              }
            }
          }
        }
        found.sort((a, b) => a.partition - b.partition || Number(a.producerId - b.producerId))
        if (flags.json) printJson(found)
        else if (found.length === 0) info(`no active producers on ${meta.name}`)
        else
          printTable(
            [
              'PARTITION',
              'PRODUCER-ID',
              'EPOCH',
              'LAST-SEQUENCE',
              'LAST-TIMESTAMP',
              'COORDINATOR-EPOCH',
              'TXN-START-OFFSET',
            ],
            found.map((p) => [
              p.partition,
              p.producerId,
              p.producerEpoch,
              p.lastSequence,
              p.lastTimestamp,
              p.coordinatorEpoch,
              p.currentTxnStartOffset,
            ]),
          )
      })
    })
}
