/** `samsa groups list|describe|delete|reset-offsets`. */
import type { Command } from 'commander'
import type { Admin, GroupDescription } from '../../client/admin.ts'
import { KafkaError } from '../../client/errors.ts'
import {
  commitOffsets,
  EARLIEST,
  fetchCommitted,
  LATEST,
  listOffsets,
  type TopicPartition,
  tpKey,
} from '../../client/offsets.ts'
import {
  type CommonFlags,
  checkPartitions,
  collect,
  EXIT_CODES_HELP,
  GROUP_ID_NOT_FOUND,
  info,
  parseIntArg,
  printJson,
  printJsonLines,
  UsageError,
  withAdmin,
  withCommonFlags,
} from '../common.ts'
import { printTable } from '../output/table.ts'
import { parseTime } from '../time.ts'

/** One partition of a group's offsets. */
interface GroupOffsetRow {
  topic: string
  partition: number
  committed: bigint | null
  logEnd: bigint
  lag: bigint | null
  memberId: string | null
  clientId: string | null
}

/** Registers the groups command group. */
export function registerGroupsCommand(program: Command): void {
  const groups = program.command('groups').description('list, describe, delete consumer groups and reset their offsets')

  withCommonFlags(groups.command('list').description('list consumer groups'), { json: true })
    .addHelpText('after', `\nExamples:\n  samsa groups list\n  samsa groups list --json\n${EXIT_CODES_HELP}`)
    .action(async (flags: CommonFlags) => {
      await withAdmin(flags, async (admin) => {
        const list = await admin.listGroups()
        if (flags.json)
          printJson(
            list.map((g) => ({ groupId: g.groupId, state: g.state, type: g.type, protocolType: g.protocolType })),
          )
        else if (list.length === 0) info('no groups')
        else
          printTable(
            ['GROUP', 'STATE', 'TYPE', 'PROTOCOL TYPE'],
            list.map((g) => [g.groupId, g.state, g.type, g.protocolType]),
          )
      })
    })

  withCommonFlags(
    groups
      .command('describe')
      .description('members, assignments and lag per partition of groups')
      .argument('[groups...]'),
    { json: true },
  )
    .option('--all-groups', 'every group of the cluster')
    .addHelpText(
      'after',
      `\nExamples:\n  samsa groups describe billing\n  samsa groups describe billing --json | jq .totalLag\n  samsa groups describe --all-groups --json | jq -s 'map({groupId, totalLag})'\n${EXIT_CODES_HELP}`,
    )
    .action(async (named: string[], flags: CommonFlags & { allGroups?: boolean }) => {
      if (flags.allGroups && named.length > 0) throw new UsageError('name groups or give --all-groups, not both')
      if (!flags.allGroups && named.length === 0) throw new UsageError('name at least one group, or give --all-groups')
      await withAdmin(flags, async (admin) => {
        const ids = flags.allGroups ? (await admin.listGroups()).map((g) => g.groupId).sort() : named
        if (ids.length === 0) {
          if (!flags.json) info('no groups')
          return
        }
        const described = await admin.describeGroups(ids)
        const missing = described.find((g) => g.state === 'Dead')
        if (missing) throw new KafkaError(GROUP_ID_NOT_FOUND, 'group does not exist', missing.groupId)
        const results = []
        for (const g of described) results.push({ ...g, ...(await groupOffsets(admin, g)) })
        if (flags.json) {
          printJsonLines(results.map(groupJson))
          return
        }
        results.forEach((g, i) => {
          if (i > 0) process.stdout.write('\n')
          process.stdout.write(
            `Group: ${g.groupId}  State: ${g.state}  Protocol: ${g.protocol || '-'}  Members: ${g.members.length}  Total lag: ${g.totalLag}\n`,
          )
          if (g.members.length > 0) {
            printTable(
              ['MEMBER', 'CLIENT', 'HOST', 'ASSIGNMENT'],
              g.members.map((m) => [
                m.memberId,
                m.clientId,
                m.clientHost,
                Object.entries(m.assignment)
                  .map(([t, ps]) => `${t}:${ps.join(',')}`)
                  .join(' ') || '-',
              ]),
            )
          }
          if (g.offsets.length > 0) {
            if (g.members.length > 0) process.stdout.write('\n')
            printTable(
              ['TOPIC', 'PARTITION', 'COMMITTED', 'LOG-END', 'LAG', 'MEMBER'],
              g.offsets.map((o) => [o.topic, o.partition, o.committed, o.logEnd, o.lag, o.memberId]),
            )
          }
        })
      })
    })

  withCommonFlags(groups.command('delete').description('delete empty groups and their offsets').argument('<groups...>'))
    .addHelpText('after', `\nExamples:\n  samsa groups delete old-billing\n${EXIT_CODES_HELP}`)
    .action(async (ids: string[], flags: CommonFlags) => {
      await withAdmin(flags, async (admin) => {
        for (const id of ids) {
          await admin.deleteGroups([id])
          info(`deleted group ${id}`)
        }
      })
    })

  registerResetOffsets(groups)
}

/** The documented JSON shape of a described group (README, "JSON output"). */
function groupJson(g: GroupDescription & { offsets: GroupOffsetRow[]; totalLag: bigint }) {
  return {
    groupId: g.groupId,
    state: g.state,
    protocolType: g.protocolType,
    protocol: g.protocol,
    totalLag: g.totalLag,
    members: g.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      topics: m.topics,
      assignment: m.assignment,
    })),
    offsets: g.offsets.map((o) => ({
      topic: o.topic,
      partition: o.partition,
      committed: o.committed,
      logEnd: o.logEnd,
      lag: o.lag,
      memberId: o.memberId,
      clientId: o.clientId,
    })),
  }
}

async function groupOffsets(
  admin: Admin,
  g: GroupDescription,
): Promise<{ offsets: GroupOffsetRow[]; totalLag: bigint }> {
  const committed = g.state === 'Dead' ? [] : await fetchCommitted(admin.cluster, g.groupId, null)
  const owner = new Map<string, { memberId: string; clientId: string }>()
  for (const m of g.members) {
    for (const [t, ps] of Object.entries(m.assignment)) for (const p of ps) owner.set(tpKey(t, p), m)
  }
  const keys = new Map<string, TopicPartition>()
  for (const c of committed) keys.set(tpKey(c.topic, c.partition), { topic: c.topic, partition: c.partition })
  for (const m of g.members) {
    for (const [topic, ps] of Object.entries(m.assignment))
      for (const partition of ps) keys.set(tpKey(topic, partition), { topic, partition })
  }
  const tps = [...keys.values()].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
  const existing: TopicPartition[] = []
  for (const tp of tps) {
    try {
      await admin.cluster.leader(tp.topic, tp.partition)
      existing.push(tp)
    } catch {
      // A deleted topic still has committed offsets; show it without a log end.
    }
  }
  const ends = await listOffsets(admin.cluster, existing, LATEST)
  const byKey = new Map(committed.map((c) => [tpKey(c.topic, c.partition), c.offset]))
  let totalLag = 0n
  const offsets = tps.map((tp) => {
    const k = tpKey(tp.topic, tp.partition)
    const c = byKey.get(k)
    const committedOffset = c === undefined || c < 0n ? null : c
    const logEnd = ends.get(k) ?? -1n
    const lag = committedOffset === null || logEnd < 0n ? null : logEnd - committedOffset
    if (lag !== null) totalLag += lag
    const m = owner.get(k)
    return {
      topic: tp.topic,
      partition: tp.partition,
      committed: committedOffset,
      logEnd,
      lag,
      memberId: m?.memberId ?? null,
      clientId: m?.clientId ?? null,
    }
  })
  return { offsets, totalLag }
}

interface ResetFlags extends CommonFlags {
  topic: string[]
  allTopics?: boolean
  toEarliest?: boolean
  toLatest?: boolean
  toOffset?: number
  shiftBy?: number
  toDatetime?: string
  toTimestamp?: string
  toCurrent?: boolean
  execute?: boolean
  dryRun?: boolean
}

type Strategy =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'current' }
  | { kind: 'offset'; offset: bigint }
  | { kind: 'shift'; by: bigint }
  | { kind: 'time'; ms: bigint }

function parseStrategy(flags: ResetFlags): Strategy {
  const options: Strategy[] = []
  if (flags.toEarliest) options.push({ kind: 'earliest' })
  if (flags.toLatest) options.push({ kind: 'latest' })
  if (flags.toCurrent) options.push({ kind: 'current' })
  if (flags.toOffset !== undefined) options.push({ kind: 'offset', offset: BigInt(flags.toOffset) })
  if (flags.shiftBy !== undefined) options.push({ kind: 'shift', by: BigInt(flags.shiftBy) })
  if (flags.toDatetime !== undefined) options.push({ kind: 'time', ms: BigInt(parseTime(flags.toDatetime)) })
  if (flags.toTimestamp !== undefined) options.push({ kind: 'time', ms: BigInt(parseTime(flags.toTimestamp)) })
  if (options.length !== 1) {
    throw new UsageError(
      'give exactly one of --to-earliest, --to-latest, --to-current, --to-offset, --shift-by, --to-datetime, --to-timestamp',
    )
  }
  return options[0] as Strategy
}

/** Parses `topic` or `topic:0,1,2`. */
function parseTopicSpec(spec: string): { topic: string; partitions: number[] | null } {
  const i = spec.lastIndexOf(':')
  if (i < 0) return { topic: spec, partitions: null }
  const list = spec.slice(i + 1).split(',')
  if (list.some((p) => !/^\d+$/.test(p))) throw new UsageError(`invalid --topic "${spec}" (topic or topic:0,1,2)`)
  return { topic: spec.slice(0, i), partitions: list.map(Number) }
}

function clamp(v: bigint, lo: bigint, hi: bigint): bigint {
  return v < lo ? lo : v > hi ? hi : v
}

function registerResetOffsets(groups: Command): void {
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
${EXIT_CODES_HELP}`,
    )
    .action(async (groupId: string, flags: ResetFlags) => {
      const strategy = parseStrategy(flags)
      if (flags.execute && flags.dryRun) throw new UsageError('--dry-run and --execute exclude each other')
      if (flags.topic.length === 0 && !flags.allTopics) throw new UsageError('give --topic or --all-topics')
      if (flags.topic.length > 0 && flags.allTopics) throw new UsageError('--topic and --all-topics exclude each other')
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
        let tps: TopicPartition[] = []
        if (flags.allTopics) {
          tps = committed.map((c) => ({ topic: c.topic, partition: c.partition }))
        } else {
          for (const spec of flags.topic.map(parseTopicSpec)) {
            const meta = await admin.cluster.topic(spec.topic)
            checkPartitions(meta, spec.partitions ?? [])
            for (const p of spec.partitions ?? meta.partitions.map((x) => x.partition)) {
              tps.push({ topic: spec.topic, partition: p })
            }
          }
        }
        if (tps.length === 0) throw new Error(`group ${groupId} has no committed offsets to reset`)
        const [lo, hi] = await Promise.all([
          listOffsets(admin.cluster, tps, EARLIEST),
          listOffsets(admin.cluster, tps, LATEST),
        ])
        const byTime = strategy.kind === 'time' ? await listOffsets(admin.cluster, tps, strategy.ms) : undefined
        const plan = tps.map((tp) => {
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
            case 'current':
            case 'shift':
              if (cur === undefined) {
                throw new Error(`${k} has no committed offset in group ${groupId}; use an absolute reset`)
              }
              next = strategy.kind === 'shift' ? clamp(cur + strategy.by, start, end) : cur
              break
            default: {
              const o = byTime?.get(k) ?? -1n
              next = o < 0n ? end : o
            }
          }
          return { topic: tp.topic, partition: tp.partition, current: cur ?? null, new: next }
        })
        if (flags.execute) {
          await commitOffsets(
            admin.cluster,
            groupId,
            plan.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.new })),
          )
        }
        if (flags.json) {
          printJson({ group: groupId, executed: flags.execute === true, offsets: plan })
        } else {
          printTable(
            ['TOPIC', 'PARTITION', 'CURRENT', 'NEW'],
            plan.map((p) => [p.topic, p.partition, p.current, p.new]),
          )
          info(
            flags.execute
              ? `reset ${plan.length} offset${plan.length === 1 ? '' : 's'} of group ${groupId}`
              : 'dry run: nothing changed; add --execute to apply',
          )
        }
      })
    })
}
