/** `samsa records delete`: moves the log start offset forward (DeleteRecords). */
import type { Command } from 'commander'
import { LATEST, listOffsets, tpKey } from '../../client/offsets.ts'
import {
  type CommonFlags,
  checkPartitions,
  EXIT_CODES_HELP,
  info,
  parsePartitionList,
  printJson,
  UsageError,
  withAdmin,
  withCommonFlags,
} from '../common.ts'
import { printTable } from '../output/table.ts'

interface DeleteFlags extends CommonFlags {
  partition?: string
  before: string
}

/** Registers the records command group. */
export function registerRecordsCommand(program: Command): void {
  const records = program.command('records').description('delete records from the start of partitions')

  withCommonFlags(
    records
      .command('delete')
      .description('delete every record before an offset (the log start moves there)')
      .argument('<topic>'),
    { json: true },
  )
    .option('-p, --partition <list>', 'only these partitions, e.g. 0 or 0,2 (default: all)')
    .requiredOption('--before <offset>', 'delete records before this offset; "latest" deletes everything')
    .addHelpText(
      'after',
      `\nExamples:\n  samsa records delete orders --partition 0 --before 1000\n  samsa records delete orders --before latest          # empty every partition\n${EXIT_CODES_HELP}`,
    )
    .action(async (topic: string, flags: DeleteFlags) => {
      let before: bigint
      if (flags.before === 'latest' || flags.before === 'end') before = -1n
      else if (/^\d+$/.test(flags.before)) before = BigInt(flags.before)
      else throw new UsageError(`invalid --before "${flags.before}" (an offset or "latest")`)
      const requested = parsePartitionList(flags.partition)
      await withAdmin(flags, async (admin) => {
        const meta = await admin.cluster.topic(topic)
        checkPartitions(meta, requested ?? [])
        const partitions = requested ?? meta.partitions.map((p) => p.partition)
        // Kafka rejects an offset past the high watermark; give a clear message instead.
        if (before >= 0n) {
          const ends = await listOffsets(
            admin.cluster,
            partitions.map((partition) => ({ topic, partition })),
            LATEST,
          )
          for (const p of partitions) {
            const end = ends.get(tpKey(topic, p)) ?? 0n
            if (before > end) throw new Error(`offset ${before} is past the end of ${topic}/${p} (${end})`)
          }
        }
        const result = await admin.deleteRecords(
          topic,
          partitions.map((partition) => ({ partition, offset: before })),
        )
        if (flags.json)
          printJson({
            topic,
            partitions: result.map((r) => ({ partition: r.partition, lowWatermark: r.lowWatermark })),
          })
        else {
          printTable(
            ['PARTITION', 'LOW-WATERMARK'],
            result.map((r) => [r.partition, r.lowWatermark]),
          )
          info(
            `deleted records of ${topic} before ${flags.before} in ${result.length} partition${result.length === 1 ? '' : 's'}`,
          )
        }
      })
    })
}
