/** `samsa consume <topic>`: prints records from a position, with or without a group. */
import type { Command } from 'commander'
import type { Cluster } from '../../client/cluster.ts'
import { Consumer, type StartOffset } from '../../client/consumer.ts'
import { EARLIEST, LATEST, listOffsets, tpKey } from '../../client/offsets.ts'
import {
  type CommonFlags,
  checkPartitions,
  EXIT_CODES_HELP,
  info,
  openCluster,
  parseCountArg,
  parsePartitionList,
  UsageError,
  withCommonFlags,
} from '../common.ts'
import { parseEncoding } from '../output/encoding.ts'
import { parseFormat, RecordPrinter } from '../output/records.ts'
import { parseTime } from '../time.ts'

interface ConsumeFlags extends CommonFlags {
  partition?: string
  group?: string
  fromBeginning?: boolean
  offset?: string
  timestamp?: string
  maxMessages?: number
  follow?: boolean
  idleTimeout?: number
  format: string
  pattern?: string
  encoding: string
  delimiter: string
  readCommitted?: boolean
}

type Start =
  | { kind: 'earliest' }
  | { kind: 'latest'; implicit?: boolean }
  | { kind: 'offset'; offset: bigint }
  | { kind: 'relative'; back: bigint }
  | { kind: 'time'; ms: bigint }

function parseStart(flags: ConsumeFlags): Start {
  const given = [flags.fromBeginning, flags.offset !== undefined, flags.timestamp !== undefined].filter(Boolean).length
  if (given > 1) throw new UsageError('use only one of --from-beginning, --offset and --timestamp')
  if (flags.fromBeginning) return { kind: 'earliest' }
  if (flags.timestamp !== undefined) return { kind: 'time', ms: BigInt(parseTime(flags.timestamp)) }
  const o = flags.offset
  if (o === undefined) return flags.group ? { kind: 'earliest' } : { kind: 'latest', implicit: true }
  if (o === 'earliest' || o === 'beginning') return { kind: 'earliest' }
  if (o === 'latest' || o === 'end') return { kind: 'latest' }
  if (/^\d+$/.test(o)) return { kind: 'offset', offset: BigInt(o) }
  if (/^-\d+$/.test(o)) return { kind: 'relative', back: BigInt(o.slice(1)) }
  throw new UsageError(`invalid --offset "${o}" (earliest, latest, N, or -N for N before the end)`)
}

async function startOffsets(
  cluster: Cluster,
  topic: string,
  partitions: number[],
  start: Start,
): Promise<Map<number, StartOffset>> {
  const out = new Map<number, StartOffset>()
  const tps = partitions.map((partition) => ({ topic, partition }))
  if (start.kind === 'earliest' || start.kind === 'latest') {
    for (const p of partitions) out.set(p, start.kind)
  } else if (start.kind === 'offset') {
    for (const p of partitions) out.set(p, start.offset)
  } else if (start.kind === 'relative') {
    const [lo, hi] = await Promise.all([listOffsets(cluster, tps, EARLIEST), listOffsets(cluster, tps, LATEST)])
    for (const p of partitions) {
      const end = hi.get(tpKey(topic, p)) ?? 0n
      const begin = lo.get(tpKey(topic, p)) ?? 0n
      out.set(p, end - start.back < begin ? begin : end - start.back)
    }
  } else {
    const found = await listOffsets(cluster, tps, start.ms)
    for (const p of partitions) {
      const o = found.get(tpKey(topic, p)) ?? -1n
      out.set(p, o < 0n ? 'latest' : o)
    }
  }
  return out
}

/** Registers `samsa consume`. */
export function registerConsumeCommand(program: Command): void {
  withCommonFlags(program.command('consume').description('print records of a topic').argument('<topic>'))
    .option('-p, --partition <list>', 'only these partitions, e.g. 0 or 0,3 (default: all)')
    .option('-g, --group <id>', 'consume as a member of this group and commit offsets')
    .option('--from-beginning', 'start at the earliest offset')
    .option('-o, --offset <pos>', 'start at earliest, latest, an offset N, or -N (N records before the end)')
    .option('-t, --timestamp <time>', 'start at the first record at or after a time (ms since epoch or ISO date)')
    .option('-n, --max-messages <n>', 'exit after printing n records', parseCountArg)
    .option('-f, --follow', 'keep waiting for new records (default: exit at the end of the partitions)')
    .option('--idle-timeout <ms>', 'with --follow or a group, exit after this long without records', parseCountArg)
    .option('--format <fmt>', 'plain (value), json (one object per line) or raw (value bytes)', 'plain')
    .option('-F, --pattern <fmt>', 'kcat-style format: %t %p %o %k %s %K %S %T %h, e.g. "%k=%s\\n"')
    .option(
      '-e, --encoding <enc>',
      'how keys and values are printed in plain/json/pattern: utf8, base64 or hex',
      'utf8',
    )
    .option('-d, --delimiter <str>', 'written after each record in plain/json/raw formats', '\\n')
    .option('--read-committed', 'skip records of open and aborted transactions (isolation.level=read_committed)')
    .addHelpText(
      'after',
      `
Without --group the command reads the chosen partitions and exits when it reaches the end
offsets it saw at start (or keeps going with --follow). With no --from-beginning, --offset or
--timestamp it starts at the end, as kafka-console-consumer does, and says so. With --group it joins the group, starts
from the committed offsets (or --from-beginning / latest when none), and commits what it printed.

Examples:
  samsa consume orders --from-beginning
  samsa consume orders -p 0 -o 42 -n 10
  samsa consume orders -o -5                      # last 5 records of each partition
  samsa consume orders -t 2024-05-01T00:00:00Z --format json
  samsa consume orders -F '%p:%o %k=%s\\n'
  samsa consume orders -g billing --follow
  samsa consume images -n 1 --format raw -d '' > photo.jpg
${EXIT_CODES_HELP}`,
    )
    .action(async (topic: string, flags: ConsumeFlags) => {
      const printer = new RecordPrinter({
        format: parseFormat(flags.format),
        pattern: flags.pattern,
        encoding: parseEncoding(flags.encoding),
        delimiter: flags.delimiter,
      })
      const start = parseStart(flags)
      const requested = parsePartitionList(flags.partition)
      if (flags.group && requested) throw new UsageError('--partition cannot be used with --group')
      if (flags.group && (start.kind === 'offset' || start.kind === 'relative' || start.kind === 'time')) {
        throw new UsageError('with --group, use --from-beginning or the committed offsets (see groups reset-offsets)')
      }
      const cluster = openCluster(flags, 'samsa-consume')
      const consumer = new Consumer(cluster, {
        groupId: flags.group,
        autoOffsetReset: start.kind === 'latest' ? 'latest' : 'earliest',
        maxWaitMs: 500,
        isolationLevel: flags.readCommitted ? 1 : 0,
      })
      let stopping = false
      const stop = (): void => {
        stopping = true
      }
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      try {
        const meta = await cluster.topic(topic)
        const all = meta.partitions.map((p) => p.partition)
        checkPartitions(meta, requested ?? [])
        if (flags.group) {
          consumer.subscribe([topic])
        } else {
          const partitions = requested ?? all
          const starts =
            start.kind === 'latest' && start.implicit
              ? await startAtEnd(cluster, topic, partitions, flags.follow === true)
              : await startOffsets(cluster, topic, partitions, start)
          consumer.assign(partitions.map((partition) => ({ topic, partition, offset: starts.get(partition) })))
        }
        const ends = new Map<string, bigint>()
        let printed = 0
        let lastRecordAt = Date.now()
        while (!stopping) {
          const records = await consumer.poll()
          for (const r of records) {
            if (flags.maxMessages !== undefined && printed >= flags.maxMessages) break
            const out = printer.render(r)
            if (!process.stdout.write(out)) await new Promise((res) => process.stdout.once('drain', res))
            printed++
          }
          if (records.length > 0) {
            lastRecordAt = Date.now()
            if (flags.group) await consumer.commit()
          }
          if (flags.maxMessages !== undefined && printed >= flags.maxMessages) break
          if (flags.idleTimeout !== undefined && Date.now() - lastRecordAt >= flags.idleTimeout) break
          if (!flags.follow && (await atEnd(consumer, cluster, ends))) break
        }
        if (flags.group && printed > 0) await consumer.commit()
        info(`consumed ${printed} record${printed === 1 ? '' : 's'}`)
      } finally {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
        await consumer.close().catch(() => undefined)
        await cluster.close()
      }
    })
}

/**
 * Without a position flag the command reads from the end, as kafka-console-consumer does, which
 * on its own prints nothing: say where it started and how to read what is already there.
 */
async function startAtEnd(
  cluster: Cluster,
  topic: string,
  partitions: number[],
  follow: boolean,
): Promise<Map<number, StartOffset>> {
  const tps = partitions.map((partition) => ({ topic, partition }))
  const [lo, hi] = await Promise.all([listOffsets(cluster, tps, EARLIEST), listOffsets(cluster, tps, LATEST)])
  const ends = new Map<number, StartOffset>()
  let before = 0n
  for (const p of partitions) {
    const end = hi.get(tpKey(topic, p)) ?? 0n
    ends.set(p, end)
    before += end - (lo.get(tpKey(topic, p)) ?? 0n)
  }
  const at =
    partitions.length <= 8
      ? partitions.map((p) => `${p}:${ends.get(p)}`).join(' ')
      : `the end of ${partitions.length} partitions`
  const count = `${before} record${before === 1n ? '' : 's'}`
  const where = `reading ${topic} from the end (offsets ${at})`
  if (follow) {
    info(
      `${where} and waiting for new records${before > 0n ? `; add --from-beginning to read the ${count} already there` : ''}`,
    )
  } else if (before > 0n) {
    info(`${where}, past its ${count}: add --from-beginning to read them, or --follow to wait for new ones`)
  } else {
    info(`${where}; it has no records yet: add --follow to wait for new ones`)
  }
  return ends
}

/** True once every assigned partition reached the end offset it had when first seen. */
async function atEnd(consumer: Consumer, cluster: Cluster, ends: Map<string, bigint>): Promise<boolean> {
  const assigned = consumer.assignment()
  if (assigned.length === 0) return false
  const unknown = assigned.filter((tp) => !ends.has(tpKey(tp.topic, tp.partition)))
  if (unknown.length > 0) {
    const found = await listOffsets(cluster, unknown, LATEST)
    for (const [k, v] of found) ends.set(k, v)
  }
  return assigned.every((tp) => {
    const pos = consumer.position(tp.topic, tp.partition)
    return pos !== undefined && pos >= (ends.get(tpKey(tp.topic, tp.partition)) ?? 0n)
  })
}
