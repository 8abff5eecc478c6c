/** `samsa groups list|describe|delete` (reset-offsets and delete-offsets in groups-offsets.ts). */
import type { Command } from 'commander'
import type { Admin, GroupDescription } from '../../client/admin.ts'
import { KafkaError } from '../../client/errors.ts'
import { fetchCommitted, LATEST, listOffsets, type TopicPartition, tpKey } from '../../client/offsets.ts'
import {
  type CommonFlags,
  EXIT_CODES_HELP,
  GROUP_ID_NOT_FOUND,
  info,
  printJson,
  printJsonLines,
  UsageError,
  withAdmin,
  withCommonFlags,
} from '../common.ts'
import { printTable } from '../output/table.ts'
import { registerDeleteOffsets, registerResetOffsets } from './groups-offsets.ts'

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
  registerDeleteOffsets(groups)
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
