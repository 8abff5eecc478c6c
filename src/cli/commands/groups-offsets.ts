/**
 * `samsa groups reset-offsets` and `samsa groups delete-offsets`: moving and removing the committed
 * offsets of a group, as kafka-consumer-groups.sh --reset-offsets and --delete-offsets do.
 */
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import type { Admin } from '../../client/admin.ts'
import { KafkaError } from '../../client/errors.ts'
import {
  commitOffsets,
  EARLIEST,
  fetchCommitted,
  LATEST,
  listOffsets,
  type TopicPartition,
  type TopicPartitionOffset,
  tpKey,
} from '../../client/offsets.ts'
import { withRetry } from '../../client/retry.ts'
import { errorInfo } from '../../protocol/error-codes.ts'
import { ApiKey } from '../../protocol/generated/index.ts'
import {
  createOffsetDeleteRequest,
  createOffsetDeleteRequestTopic,
  type OffsetDeleteResponse,
} from '../../protocol/generated/offset-delete.ts'
import {
  type CommonFlags,
  checkPartitions,
  collect,
  EXIT_CODES_HELP,
  ExitCode,
  info,
  parseIntArg,
  printJson,
  UsageError,
  withAdmin,
  withCommonFlags,
} from '../common.ts'
import { printTable } from '../output/table.ts'
import { parseTime } from '../time.ts'

interface ResetFlags extends CommonFlags {
  topic: string[]
  allTopics?: boolean
  toEarliest?: boolean
  toLatest?: boolean
  toOffset?: number
  shiftBy?: number
  toDatetime?: string
  toTimestamp?: string
  byDuration?: string
  fromFile?: string
  toCurrent?: boolean
  execute?: boolean
  dryRun?: boolean
  export?: boolean
}

type Strategy =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'current' }
  | { kind: 'offset'; offset: bigint }
  | { kind: 'shift'; by: bigint }
  | { kind: 'time'; ms: bigint }
  | { kind: 'file'; offsets: TopicPartitionOffset[] }

/** One partition of a reset plan. */
interface PlanRow {
  topic: string
  partition: number
  current: bigint | null
  new: bigint
}

const STRATEGY_FLAGS =
  '--to-earliest, --to-latest, --to-current, --to-offset, --shift-by, --to-datetime, --to-timestamp, --by-duration, --from-file'

function parseStrategy(groupId: string, flags: ResetFlags): Strategy {
  const options: Strategy[] = []
  if (flags.toEarliest) options.push({ kind: 'earliest' })
  if (flags.toLatest) options.push({ kind: 'latest' })
  if (flags.toCurrent) options.push({ kind: 'current' })
  if (flags.toOffset !== undefined) options.push({ kind: 'offset', offset: BigInt(flags.toOffset) })
  if (flags.shiftBy !== undefined) options.push({ kind: 'shift', by: BigInt(flags.shiftBy) })
  if (flags.toDatetime !== undefined) options.push({ kind: 'time', ms: BigInt(parseTime(flags.toDatetime)) })
  if (flags.toTimestamp !== undefined) options.push({ kind: 'time', ms: BigInt(parseTime(flags.toTimestamp)) })
  if (flags.byDuration !== undefined) {
    // Longer ago than the epoch reads as the epoch: negative times are ListOffsets' special values.
    options.push({ kind: 'time', ms: BigInt(Math.max(0, Date.now() - parseDuration(flags.byDuration))) })
  }
  const fromFile = flags.fromFile !== undefined ? 1 : 0
  if (options.length + fromFile !== 1) throw new UsageError(`give exactly one of ${STRATEGY_FLAGS}`)
  if (flags.fromFile !== undefined) return { kind: 'file', offsets: readPlanFile(flags.fromFile, groupId) }
  return options[0] as Strategy
}

/**
 * Milliseconds of an ISO 8601 duration as Kafka's --by-duration takes it (Java's Duration.parse):
 * PnDTnHnMn.nS, e.g. PT15M, P1DT12H, PT0.5S.
 */
export function parseDuration(value: string): number {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,3})?)S)?)?$/i.exec(value.trim())
  if (!m || m.slice(1).every((part) => part === undefined) || /T$/i.test(value.trim())) {
    throw new UsageError(`invalid --by-duration "${value}" (an ISO 8601 duration like PT15M, PT2H or P1DT12H)`)
  }
  const [days, hours, minutes, seconds] = m.slice(1).map((part) => Number(part ?? 0)) as [
    number,
    number,
    number,
    number,
  ]
  return Math.round(((days * 24 + hours) * 60 + minutes) * 60_000 + seconds * 1000)
}

/**
 * The offsets of a CSV plan as --export prints it and Kafka's tool writes it: `topic,partition,offset`
 * lines, or `group,topic,partition,offset` lines of several groups (only this group's are taken).
 */
export function parsePlan(text: string, groupId: string, source: string): TopicPartitionOffset[] {
  const out: TopicPartitionOffset[] = []
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return
    const fields = line.split(',').map((f) => f.trim())
    const bad = (): never => {
      throw new UsageError(`${source} line ${i + 1}: expected topic,partition,offset (or group,topic,partition,offset)`)
    }
    if (fields.length !== 3 && fields.length !== 4) bad()
    const [topic, partition, offset] = fields.slice(-3) as [string, string, string]
    if (topic === '' || !/^\d+$/.test(partition) || !/^\d+$/.test(offset)) bad()
    if (fields.length === 4 && fields[0] !== groupId) return
    out.push({ topic, partition: Number(partition), offset: BigInt(offset) })
  })
  if (out.length === 0) throw new UsageError(`${source} holds no offsets for group ${groupId}`)
  return out
}

function readPlanFile(path: string, groupId: string): TopicPartitionOffset[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new UsageError(`cannot read --from-file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
  }
  return parsePlan(text, groupId, path)
}

/** Parses `topic` or `topic:0,1,2`. */
function parseTopicSpec(spec: string): { topic: string; partitions: number[] | null } {
  const i = spec.lastIndexOf(':')
  if (i < 0) return { topic: spec, partitions: null }
  const list = spec.slice(i + 1).split(',')
  if (list.some((p) => !/^\d+$/.test(p))) throw new UsageError(`invalid --topic "${spec}" (topic or topic:0,1,2)`)
  return { topic: spec.slice(0, i), partitions: list.map(Number) }
}

/** The partitions --topic names (all of a topic's when none are given), checked to exist. */
async function partitionsOf(admin: Admin, specs: string[]): Promise<TopicPartition[]> {
  const tps: TopicPartition[] = []
  for (const spec of specs.map(parseTopicSpec)) {
    const meta = await admin.cluster.topic(spec.topic)
    checkPartitions(meta, spec.partitions ?? [])
    for (const p of spec.partitions ?? meta.partitions.map((x) => x.partition)) {
      tps.push({ topic: spec.topic, partition: p })
    }
  }
  return tps
}

function clamp(v: bigint, lo: bigint, hi: bigint): bigint {
  return v < lo ? lo : v > hi ? hi : v
}

/** The partitions a reset moves: the plan file's, --topic's or (--all-topics) every committed one. */
async function resetScope(
  admin: Admin,
  flags: ResetFlags,
  strategy: Strategy,
  committed: TopicPartition[],
): Promise<TopicPartition[]> {
  if (strategy.kind !== 'file') return flags.allTopics ? committed : partitionsOf(admin, flags.topic)
  const topics = new Map<string, number[]>()
  for (const o of strategy.offsets) topics.set(o.topic, [...(topics.get(o.topic) ?? []), o.partition])
  for (const [topic, partitions] of topics) checkPartitions(await admin.cluster.topic(topic), partitions)
  return strategy.offsets.map((o) => ({ topic: o.topic, partition: o.partition }))
}

/** Where each partition goes: the strategy's offset, kept inside the log's bounds. */
async function resetPlan(
  admin: Admin,
  groupId: string,
  strategy: Strategy,
  tps: TopicPartition[],
  current: Map<string, bigint>,
): Promise<PlanRow[]> {
  const [lo, hi] = await Promise.all([
    listOffsets(admin.cluster, tps, EARLIEST),
    listOffsets(admin.cluster, tps, LATEST),
  ])
  const byTime = strategy.kind === 'time' ? await listOffsets(admin.cluster, tps, strategy.ms) : undefined
  const fromFile =
    strategy.kind === 'file' ? new Map(strategy.offsets.map((o) => [tpKey(o.topic, o.partition), o.offset])) : undefined
  return tps.map((tp) => {
    const k = tpKey(tp.topic, tp.partition)
    const start = lo.get(k) ?? 0n
    const end = hi.get(k) ?? 0n
    const cur = current.get(k)
    let next: bigint
    switch (strategy.kind) {
      case 'earliest':
        next = start
        break
      case 'latest':
        next = end
        break
      case 'offset':
        next = clamp(strategy.offset, start, end)
        break
      case 'file':
        next = clamp(fromFile?.get(k) ?? end, start, end)
        break
      case 'current':
      case 'shift':
        if (cur === undefined)
          throw new Error(`${k} has no committed offset in group ${groupId}; use an absolute reset`)
        next = strategy.kind === 'shift' ? clamp(cur + strategy.by, start, end) : cur
        break
      default: {
        const o = byTime?.get(k) ?? -1n
        next = o < 0n ? end : o
      }
    }
    return { topic: tp.topic, partition: tp.partition, current: cur ?? null, new: next }
  })
}

function checkResetUsage(flags: ResetFlags, strategy: Strategy): void {
  if (flags.execute && flags.dryRun) throw new UsageError('--dry-run and --execute exclude each other')
  if (flags.export && flags.json) throw new UsageError('--export and --json exclude each other')
  if (strategy.kind === 'file') {
    if (flags.topic.length > 0 || flags.allTopics) {
      throw new UsageError('--from-file names its partitions: leave out --topic and --all-topics')
    }
    return
  }
  if (flags.topic.length === 0 && !flags.allTopics) throw new UsageError('give --topic or --all-topics')
  if (flags.topic.length > 0 && flags.allTopics) throw new UsageError('--topic and --all-topics exclude each other')
}

function printPlan(groupId: string, plan: PlanRow[], flags: ResetFlags): void {
  if (flags.export) {
    process.stdout.write(plan.map((p) => `${p.topic},${p.partition},${p.new}\n`).join(''))
  } else if (flags.json) {
    printJson({ group: groupId, executed: flags.execute === true, offsets: plan })
    return
  } else {
    printTable(
      ['TOPIC', 'PARTITION', 'CURRENT', 'NEW'],
      plan.map((p) => [p.topic, p.partition, p.current, p.new]),
    )
  }
  info(
    flags.execute
      ? `reset ${plan.length} offset${plan.length === 1 ? '' : 's'} of group ${groupId}`
      : 'dry run: nothing changed; add --execute to apply',
  )
}

/** Registers `groups reset-offsets`. */
export function registerResetOffsets(groups: Command): void {
  withCommonFlags(
    groups
      .command('reset-offsets')
      .description('move the committed offsets of a group (prints the plan; --execute applies it)')
      .argument('<group>'),
    { json: true },
  )
    .option('--topic <topic[:partitions]>', 'a topic, or topic:0,1 for some partitions (repeatable)', collect, [])
    .option('--all-topics', 'every topic the group has offsets for')
    .option('--to-earliest', 'to the log start offset')
    .option('--to-latest', 'to the log end offset')
    .option('--to-current', 'to the committed offset (re-commit as is)')
    .option('--to-offset <n>', 'to offset n (clamped to the log bounds)', parseIntArg)
    .option('--shift-by <n>', 'move by n, negative to go back (clamped to the log bounds)', parseIntArg)
    .option('--to-datetime <iso>', 'to the first offset at or after a date, e.g. 2024-05-01T12:00:00Z')
    .option('--to-timestamp <ms>', 'to the first offset at or after a time in ms since the epoch')
    .option('--by-duration <duration>', 'to the first offset at or after now minus an ISO 8601 duration, e.g. PT15M')
    .option('--from-file <csv>', 'to the offsets of a plan file: topic,partition,offset lines (as --export prints)')
    .option('--export', 'print the plan as CSV (topic,partition,offset lines), for --from-file later')
    .option('--dry-run', 'only print the plan (the default)')
    .option('--execute', 'commit the new offsets (the group must have no active members)')
    .addHelpText(
      'after',
      `
Examples:
  samsa groups reset-offsets billing --topic orders --to-earliest              # dry run
  samsa groups reset-offsets billing --topic orders --to-earliest --execute
  samsa groups reset-offsets billing --topic orders:0,1 --shift-by -100 --execute
  samsa groups reset-offsets billing --all-topics --to-datetime 2024-05-01T00:00:00Z --execute
  samsa groups reset-offsets billing --topic orders --by-duration PT1H --export > plan.csv
  samsa groups reset-offsets billing --from-file plan.csv --execute
${EXIT_CODES_HELP}`,
    )
    .action(async (groupId: string, flags: ResetFlags) => {
      const strategy = parseStrategy(groupId, flags)
      checkResetUsage(flags, strategy)
      await withAdmin(flags, async (admin) => {
        const [group] = await admin.describeGroups([groupId])
        if (flags.execute && group && group.state !== 'Empty' && group.state !== 'Dead') {
          throw new Error(
            `group ${groupId} has active members (state ${group.state}); stop its consumers before resetting offsets`,
          )
        }
        const committed = await fetchCommitted(admin.cluster, groupId, null)
        const current = new Map(
          committed.filter((c) => c.offset >= 0n).map((c) => [tpKey(c.topic, c.partition), c.offset]),
        )
        const all = committed.map((c) => ({ topic: c.topic, partition: c.partition }))
        const tps = await resetScope(admin, flags, strategy, all)
        if (tps.length === 0) throw new Error(`group ${groupId} has no committed offsets to reset`)
        const plan = await resetPlan(admin, groupId, strategy, tps, current)
        if (flags.execute) {
          const offsets = plan.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.new }))
          await commitOffsets(admin.cluster, groupId, offsets)
        }
        printPlan(groupId, plan, flags)
      })
    })
}

interface DeleteOffsetsFlags extends CommonFlags {
  topic: string[]
}

/** One partition's outcome of OffsetDelete: null when its offset is gone, else the error's name. */
interface DeletedOffset {
  topic: string
  partition: number
  error: string | null
}

/** OffsetDelete at the group's coordinator; a group-level error throws, partition errors are rows. */
async function deleteOffsets(admin: Admin, groupId: string, tps: TopicPartition[]): Promise<DeletedOffset[]> {
  const topics = new Map<string, number[]>()
  for (const tp of tps) topics.set(tp.topic, [...(topics.get(tp.topic) ?? []), tp.partition])
  const res = await withRetry(
    async () => {
      const conn = await admin.cluster.coordinatorConnection(groupId)
      const r = await conn.send<OffsetDeleteResponse>(ApiKey.OffsetDelete, () =>
        createOffsetDeleteRequest({
          groupId,
          topics: [...topics].map(([name, ps]) =>
            createOffsetDeleteRequestTopic({ name, partitions: ps.map((partitionIndex) => ({ partitionIndex })) }),
          ),
        }),
      )
      if (r.errorCode === 15 || r.errorCode === 16) admin.cluster.invalidateCoordinator(groupId)
      if (r.errorCode !== 0) throw new KafkaError(r.errorCode, null, groupId)
      return r
    },
    { retries: admin.cluster.retries },
  )
  return res.topics.flatMap((t) =>
    t.partitions.map((p) => ({
      topic: t.name,
      partition: p.partitionIndex,
      error: p.errorCode === 0 ? null : errorInfo(p.errorCode).name,
    })),
  )
}

/** Registers `groups delete-offsets`. */
export function registerDeleteOffsets(groups: Command): void {
  withCommonFlags(
    groups
      .command('delete-offsets')
      .description("delete a group's committed offsets of topics it no longer consumes (OffsetDelete)")
      .argument('<group>'),
    { json: true },
  )
    .option('--topic <topic[:partitions]>', 'a topic, or topic:0,1 for some partitions (repeatable)', collect, [])
    .addHelpText(
      'after',
      `
The broker refuses (GROUP_SUBSCRIBED_TO_TOPIC) the partitions of topics the group's members
still subscribe to; the others' offsets are deleted. Exit code 1 when any partition failed.

Examples:
  samsa groups delete-offsets old-billing --topic orders
  samsa groups delete-offsets billing --topic orders:0,1 --json
${EXIT_CODES_HELP}`,
    )
    .action(async (groupId: string, flags: DeleteOffsetsFlags) => {
      if (flags.topic.length === 0) throw new UsageError('give --topic (repeatable)')
      await withAdmin(flags, async (admin) => {
        const rows = await deleteOffsets(admin, groupId, await partitionsOf(admin, flags.topic))
        rows.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
        if (flags.json) printJson({ group: groupId, offsets: rows })
        else
          printTable(
            ['TOPIC', 'PARTITION', 'STATUS'],
            rows.map((r) => [r.topic, r.partition, r.error ?? 'deleted']),
          )
        if (rows.some((r) => r.error !== null)) process.exitCode = ExitCode.FAILED
      })
    })
}
