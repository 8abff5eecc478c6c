/** `samsa log-dirs describe`: where each broker stores partitions and how big they are (kafka-log-dirs.sh). */
import type { Command } from 'commander'
import { KafkaError } from '../../client/errors.ts'
import {
  createDescribableLogDirTopic,
  createDescribeLogDirsRequest,
  type DescribeLogDirsResponse,
} from '../../protocol/generated/describe-log-dirs.ts'
import { ApiKey } from '../../protocol/generated/index.ts'
import {
  type CommonFlags,
  collect,
  EXIT_CODES_HELP,
  printJson,
  UsageError,
  withAdmin,
  withCommonFlags,
} from '../common.ts'
import { type Cell, printTable } from '../output/table.ts'
import { brokerIds, sendNewest } from '../requests.ts'

interface LogDirsFlags extends CommonFlags {
  topic: string[]
  broker?: string
}

/** One log dir of one broker, as --json prints it. */
interface LogDir {
  logDir: string
  /** The error's name when the broker could not read the dir, else null. */
  error: string | null
  /** Bytes of the file system holding the dir, null when the broker does not say (v3 and older, or no file system). */
  totalBytes: bigint | null
  usableBytes: bigint | null
  partitions: { topic: string; partition: number; size: bigint; offsetLag: bigint; isFuture: boolean }[]
}

function parseBrokers(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined
  const ids = value.split(',')
  if (ids.some((id) => !/^\d+$/.test(id.trim()))) throw new UsageError(`invalid --broker "${value}" (e.g. 1 or 1,2)`)
  return ids.map(Number)
}

function toLogDirs(res: DescribeLogDirsResponse): LogDir[] {
  if (res.errorCode !== 0) throw new KafkaError(res.errorCode, null, 'log dirs')
  const known = (n: bigint): bigint | null => (n < 0n ? null : n)
  return res.results.map((dir) => ({
    logDir: dir.logDir,
    error: dir.errorCode === 0 ? null : new KafkaError(dir.errorCode).name,
    totalBytes: known(dir.totalBytes),
    usableBytes: known(dir.usableBytes),
    partitions: dir.topics
      .flatMap((t) =>
        t.partitions.map((p) => ({
          topic: t.name,
          partition: p.partitionIndex,
          size: p.partitionSize,
          offsetLag: p.offsetLag,
          isFuture: p.isFutureKey,
        })),
      )
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition),
  }))
}

/** Registers the log-dirs command group. */
export function registerLogDirsCommand(program: Command): void {
  const logDirs = program.command('log-dirs').description('where brokers store partitions, and their sizes')

  withCommonFlags(logDirs.command('describe').description('the log dirs of brokers and the partitions in them'), {
    json: true,
  })
    .option('--topic <topic>', 'only partitions of this topic (repeatable; default: all)', collect, [])
    .option('--broker <ids>', 'only these brokers, e.g. 1 or 1,2 (default: all)')
    .addHelpText(
      'after',
      `
A samsa broker has one log dir: its data directory, or where its storage engine keeps data
(e.g. "memory"). Offset lag is always 0: there are no future replicas to catch up.

Examples:
  samsa log-dirs describe
  samsa log-dirs describe --topic orders --json | jq '.brokers[].logDirs[].partitions[].size'
${EXIT_CODES_HELP}`,
    )
    .action(async (flags: LogDirsFlags) => {
      const wanted = parseBrokers(flags.broker)
      await withAdmin(flags, async (admin) => {
        const all = await brokerIds(admin.cluster)
        const unknown = wanted?.filter((id) => !all.includes(id)) ?? []
        if (unknown.length > 0)
          throw new Error(`no broker ${unknown.join(', ')} in the cluster (brokers: ${all.join(', ')})`)
        const topics =
          flags.topic.length === 0
            ? null
            : (await Promise.all(flags.topic.map((t) => admin.cluster.topic(t)))).map((t) =>
                createDescribableLogDirTopic({ topic: t.name, partitions: t.partitions.map((p) => p.partition) }),
              )
        const brokers = await Promise.all(
          (wanted ?? all).map(async (broker) => {
            const conn = await admin.cluster.connection(broker)
            const res = await sendNewest<DescribeLogDirsResponse>(
              conn,
              ApiKey.DescribeLogDirs,
              { min: 0, max: 4 },
              () => createDescribeLogDirsRequest({ topics }),
            )
            return { broker, logDirs: toLogDirs(res) }
          }),
        )
        if (flags.json) {
          printJson({ brokers })
          return
        }
        printTable(
          ['BROKER', 'LOG-DIR', 'TOPIC', 'PARTITION', 'SIZE', 'OFFSET-LAG'],
          brokers.flatMap((b) =>
            b.logDirs.flatMap((d): Cell[][] =>
              d.partitions.length === 0
                ? [[b.broker, d.error ? `${d.logDir} (${d.error})` : d.logDir, null, null, null, null]]
                : d.partitions.map((p) => [b.broker, d.logDir, p.topic, p.partition, p.size, p.offsetLag]),
            ),
          ),
        )
      })
    })
}
