/** `samsa consume <topic>`: prints records from a position, with or without a group. */
import type { Command } from 'commander'
import type { Cluster, TopicInfo } from '../../client/cluster.ts'
import { Consumer, type StartOffset } from '../../client/consumer.ts'
import { EARLIEST, LATEST, listOffsets, type TopicPartition, tpKey } from '../../client/offsets.ts'
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
import { parseDateFormat, parseFormat, RecordPrinter } from '../output/records.ts'
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
  regex?: boolean
  dateFormat: string
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

/** Where each partition starts, by `topic/partition`. */
async function startOffsets(cluster: Cluster, tps: TopicPartition[], start: Start): Promise<Map<string, StartOffset>> {
  const out = new Map<string, StartOffset>()
  const keys = tps.map((tp) => tpKey(tp.topic, tp.partition))
  if (start.kind === 'earliest' || start.kind === 'latest') {
    for (const k of keys) out.set(k, start.kind)
  } else if (start.kind === 'offset') {
    for (const k of keys) out.set(k, start.offset)
  } else if (start.kind === 'relative') {
    const [lo, hi] = await Promise.all([listOffsets(cluster, tps, EARLIEST), listOffsets(cluster, tps, LATEST)])
    for (const k of keys) {
      const end = hi.get(k) ?? 0n
      const begin = lo.get(k) ?? 0n
      out.set(k, end - start.back < begin ? begin : end - start.back)
    }
  } else {
    const found = await listOffsets(cluster, tps, start.ms)
    for (const k of keys) {
      const o = found.get(k) ?? -1n
      out.set(k, o < 0n ? 'latest' : o)
    }
  }
  return out
}

/**
 * The topics to read: the names given, or with --regex the topics whose whole name matches the
 * expression (as Kafka's pattern subscriptions match), internal topics left out.
 */
async function topicsToRead(cluster: Cluster, names: string[], regex: boolean): Promise<TopicInfo[]> {
  if (!regex) return Promise.all(names.map((n) => cluster.topic(n)))
  if (names.length !== 1) throw new UsageError('--regex takes one expression')
  let re: RegExp
  try {
    re = new RegExp(`^(?:${names[0]})$`)
  } catch (err) {
    throw new UsageError(`invalid --regex expression: ${(err as Error).message}`)
  }
  await cluster.refreshMetadata(null)
  const found = [...cluster.topics.values()].filter((t) => !t.internal && re.test(t.name))
  if (found.length === 0) throw new Error(`no topic matches ${names[0]}`)
  return found.sort((a, b) => a.name.localeCompare(b.name))
}

/** Registers `samsa consume`. */
export function registerConsumeCommand(program: Command): void {
  withCommonFlags(
    program
      .command('consume')
      .description('print records of topics')
      .argument('<topics...>', 'topic names, or with --regex one regular expression'),
  )
    .option('-r, --regex', 'read every topic whose whole name matches the expression, e.g. "orders\\..*"')
    .option('-p, --partition <list>', 'only these partitions of the one topic, e.g. 0 or 0,3 (default: all)')
    .option('-g, --group <id>', 'consume as a member of this group and commit offsets')
    .option('--from-beginning', 'start at the earliest offset')
    .option('-o, --offset <pos>', 'start at earliest, latest, an offset N, or -N (N records before the end)')
    .option('-t, --timestamp <time>', 'start at the first record at or after a time (ms since epoch or ISO date)')
    .option('-n, --max-messages <n>', 'exit after printing n records', parseCountArg)
    .option('-f, --follow', 'keep waiting for new records (default: exit at the end of the partitions)')
    .option('--idle-timeout <ms>', 'with --follow or a group, exit after this long without records', parseCountArg)
    .option('--format <fmt>', 'plain (value), json (one object per line) or raw (value bytes)', 'plain')
    .option('-F, --pattern <fmt>', 'kcat-style format: %t %p %o %k %s %K %S %T %d %h, e.g. "%k=%s\\n"')
    .option(
      '--date-format <fmt>',
      "how %d prints the timestamp: iso (UTC, the default), local (this machine's time zone), unix (seconds) or ms",
      'iso',
    )
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

Several topics (or --regex) are read together; %t in a pattern names each record's topic.
Pattern tokens: %t topic, %p partition, %o offset, %k key, %s value, %K/%S their lengths (-1
for null), %T timestamp in ms, %d timestamp as --date-format says, %h headers (k=v,k=v in
order), %% a percent sign.

Examples:
  samsa consume orders --from-beginning
  samsa consume orders payments --from-beginning -F '%t %p:%o %s\\n'
  samsa consume 'orders\\..*' --regex --from-beginning -n 100
  samsa consume orders --from-beginning -F '%d %k=%s\\n' --date-format local
  samsa consume orders -p 0 -o 42 -n 10
  samsa consume orders -o -5                      # last 5 records of each partition
  samsa consume orders -t 2024-05-01T00:00:00Z --format json
  samsa consume orders -F '%p:%o %k=%s\\n'
  samsa consume orders -g billing --follow
  samsa consume images -n 1 --format raw -d '' > photo.jpg
${EXIT_CODES_HELP}`,
    )
    .action(async (names: string[], flags: ConsumeFlags) => {
      const printer = new RecordPrinter({
        format: parseFormat(flags.format),
        pattern: flags.pattern,
        encoding: parseEncoding(flags.encoding),
        delimiter: flags.delimiter,
        dateFormat: parseDateFormat(flags.dateFormat),
      })
      const start = parseStart(flags)
      const requested = parsePartitionList(flags.partition)
      if (flags.group && requested) throw new UsageError('--partition cannot be used with --group')
      if (requested && (names.length > 1 || flags.regex)) throw new UsageError('--partition needs exactly one topic')
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
        const topics = await topicsToRead(cluster, names, flags.regex === true)
        if (requested) checkPartitions(topics[0] as TopicInfo, requested)
        if (flags.group) {
          consumer.subscribe(topics.map((t) => t.name))
        } else {
          const tps = topics.flatMap((t) =>
            (requested ?? t.partitions.map((p) => p.partition)).map((partition) => ({ topic: t.name, partition })),
          )
          const starts =
            start.kind === 'latest' && start.implicit
              ? await startAtEnd(cluster, tps, flags.follow === true)
              : await startOffsets(cluster, tps, start)
          consumer.assign(tps.map((tp) => ({ ...tp, offset: starts.get(tpKey(tp.topic, tp.partition)) })))
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
          if (!flags.follow && (await atEnd(consumer, cluster, ends, flags.readCommitted ? 1 : 0))) break
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
async function startAtEnd(cluster: Cluster, tps: TopicPartition[], follow: boolean): Promise<Map<string, StartOffset>> {
  const [lo, hi] = await Promise.all([listOffsets(cluster, tps, EARLIEST), listOffsets(cluster, tps, LATEST)])
  const ends = new Map<string, StartOffset>()
  let before = 0n
  for (const { topic, partition } of tps) {
    const end = hi.get(tpKey(topic, partition)) ?? 0n
    ends.set(tpKey(topic, partition), end)
    before += end - (lo.get(tpKey(topic, partition)) ?? 0n)
  }
  const topics = [...new Set(tps.map((tp) => tp.topic))]
  const one = topics.length === 1
  const at =
    tps.length <= 8
      ? tps
          .map((tp) => `${one ? '' : `${tp.topic}/`}${tp.partition}:${ends.get(tpKey(tp.topic, tp.partition))}`)
          .join(' ')
      : `the end of ${tps.length} partitions`
  const count = `${before} record${before === 1n ? '' : 's'}`
  const name = one ? topics[0] : `${topics.length} topics`
  const where = `reading ${name} from the end (offsets ${at})`
  if (follow) {
    info(
      `${where} and waiting for new records${before > 0n ? `; add --from-beginning to read the ${count} already there` : ''}`,
    )
  } else if (before > 0n) {
    info(
      `${where}, past ${one ? 'its' : 'their'} ${count}: add --from-beginning to read them, or --follow to wait for new ones`,
    )
  } else {
    info(`${where}; ${one ? 'it has' : 'they have'} no records yet: add --follow to wait for new ones`)
  }
  return ends
}

/** True once every assigned partition reached the end offset it had when first seen. */
async function atEnd(
  consumer: Consumer,
  cluster: Cluster,
  ends: Map<string, bigint>,
  isolationLevel: 0 | 1,
): Promise<boolean> {
  const assigned = consumer.assignment()
  if (assigned.length === 0) return false
  const unknown = assigned.filter((tp) => !ends.has(tpKey(tp.topic, tp.partition)))
  if (unknown.length > 0) {
    // A read_committed reader ends at the last stable offset: records of a transaction still
    // open are not for it, however long it waits.
    const found = await listOffsets(cluster, unknown, LATEST, isolationLevel)
    for (const [k, v] of found) ends.set(k, v)
  }
  return assigned.every((tp) => {
    const pos = consumer.position(tp.topic, tp.partition)
    return pos !== undefined && pos >= (ends.get(tpKey(tp.topic, tp.partition)) ?? 0n)
  })
}
