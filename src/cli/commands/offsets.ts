/** `samsa offsets list`: partition offsets at a point of the log (kafka-get-offsets.sh). */
import type { Command } from 'commander'
import { EARLIEST, LATEST, listOffsets, tpKey } from '../../client/offsets.ts'
import {
  type CommonFlags,
  checkPartitions,
  EXIT_CODES_HELP,
  parsePartitionList,
  printJson,
  UsageError,
  withAdmin,
  withCommonFlags,
} from '../common.ts'
import { printTable } from '../output/table.ts'
import { parseTime } from '../time.ts'

/** ListOffsets timestamp asking for the record with the largest timestamp (KIP-734). */
const MAX_TIMESTAMP = -3n

interface ListFlags extends CommonFlags {
  partition?: string
  time: string
}

/** The ListOffsets timestamp a --time value names. */
function parseListTime(value: string): bigint {
  if (value === 'earliest') return EARLIEST
  if (value === 'latest') return LATEST
  if (value === 'max' || value === 'max-timestamp') return MAX_TIMESTAMP
  try {
    return BigInt(parseTime(value))
  } catch {
    throw new UsageError(
      `invalid --time "${value}" (earliest, latest, max, milliseconds since the epoch or an ISO date)`,
    )
  }
}

/** Registers the offsets command group. */
export function registerOffsetsCommand(program: Command): void {
  const offsets = program.command('offsets').description('offsets of partitions: earliest, latest, at a time')

  withCommonFlags(
    offsets
      .command('list')
      .description('the offset of each partition at a point of the log (kafka-get-offsets)')
      .argument('<topics...>'),
    { json: true },
  )
    .option('-p, --partition <list>', 'only these partitions, e.g. 0 or 0,2 (default: all)')
    .option(
      '--time <time>',
      'earliest, latest, max (the record with the largest timestamp), or the first offset at or after a time (ms since the epoch or an ISO date)',
      'latest',
    )
    .addHelpText(
      'after',
      `
For a time, a partition with no record at or after it answers null (shown as -), as Kafka's -1.

Examples:
  samsa offsets list orders                          # log end offsets
  samsa offsets list orders --time earliest -p 0,1
  samsa offsets list orders --time 2024-05-01T00:00:00Z --json
  samsa offsets list orders payments --time max
${EXIT_CODES_HELP}`,
    )
    .action(async (topics: string[], flags: ListFlags) => {
      const time = parseListTime(flags.time)
      const requested = parsePartitionList(flags.partition)
      if (requested && topics.length > 1) throw new UsageError('--partition needs exactly one topic')
      await withAdmin(flags, async (admin) => {
        const metas = await Promise.all(topics.map((t) => admin.cluster.topic(t)))
        if (requested) checkPartitions(metas[0] as (typeof metas)[0], requested)
        const tps = metas.flatMap((m) =>
          (requested ?? m.partitions.map((p) => p.partition)).map((partition) => ({ topic: m.name, partition })),
        )
        const found = await listOffsets(admin.cluster, tps, time)
        const rows = tps.map((tp) => {
          const o = found.get(tpKey(tp.topic, tp.partition)) ?? -1n
          return { topic: tp.topic, partition: tp.partition, offset: o < 0n ? null : o }
        })
        if (flags.json) printJson(rows)
        else
          printTable(
            ['TOPIC', 'PARTITION', 'OFFSET'],
            rows.map((r) => [r.topic, r.partition, r.offset]),
          )
      })
    })
}
