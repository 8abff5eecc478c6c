/** `samsa topics list|create|describe|alter|reassign|delete`. */
import type { Command } from 'commander'
import { ResourceType } from '../../client/admin.ts'
import type { TopicInfo } from '../../client/cluster.ts'
import { KafkaError } from '../../client/errors.ts'
import { EARLIEST, LATEST, listOffsets, tpKey } from '../../client/offsets.ts'
import {
  type CommonFlags,
  collect,
  EXIT_CODES_HELP,
  info,
  parseAssignments,
  parsePositiveArg,
  printJson,
  printJsonLines,
  UsageError,
  withAdmin,
  withCommonFlags,
} from '../common.ts'
import { formatBytes, printTable } from '../output/table.ts'
import { checkConfigValues, checkTopicName } from '../validate.ts'

const TOPIC_EXISTS = 36
const UNKNOWN_TOPIC = 3

interface CreateFlags extends CommonFlags {
  partitions?: number
  replicationFactor?: number
  config?: string[]
  ifNotExists?: boolean
}

interface AlterFlags extends CommonFlags {
  partitions?: number
  set?: string[]
  delete?: string[]
}

/** Registers the topics command group. */
export function registerTopicsCommand(program: Command): void {
  const topics = program.command('topics').description('list, create, describe, alter, reassign and delete topics')

  withCommonFlags(topics.command('list').description('list topics with their partition counts'), { json: true })
    .option('--internal', 'include internal topics')
    .addHelpText(
      'after',
      `\nExamples:\n  samsa topics list\n  samsa topics list --json | jq -r '.[].name'\n${EXIT_CODES_HELP}`,
    )
    .action(async (flags: CommonFlags & { internal?: boolean }) => {
      await withAdmin(flags, async (admin) => {
        const list = await admin.listTopics({ internal: flags.internal })
        if (flags.json) {
          printJson(
            list.map((t) => ({ name: t.name, id: t.id, partitions: t.partitions.length, internal: t.internal })),
          )
        } else if (list.length === 0) {
          info('no topics')
        } else {
          printTable(
            ['TOPIC', 'PARTITIONS', 'ID'],
            list.map((t) => [t.name, t.partitions.length, t.id]),
          )
        }
      })
    })

  withCommonFlags(topics.command('create').description('create a topic').argument('<topic>', 'topic name'))
    .option('-p, --partitions <n>', 'number of partitions (default: the broker num.partitions)', parsePositiveArg)
    .option('-r, --replication-factor <n>', 'replication factor (default: the broker default)', parsePositiveArg)
    .option('-c, --config <name=value>', 'topic config, e.g. retention.ms=3600000 (repeatable)', collect, [])
    .option('--if-not-exists', 'succeed when the topic already exists')
    .addHelpText(
      'after',
      `\nExamples:\n  samsa topics create orders --partitions 6\n  samsa topics create audit -c cleanup.policy=compact -c retention.ms=-1\n${EXIT_CODES_HELP}`,
    )
    .action(async (topic: string, flags: CreateFlags) => {
      checkTopicName(topic)
      const configs = parseAssignments(flags.config)
      checkConfigValues('topic', configs)
      await withAdmin(flags, async (admin) => {
        try {
          await admin.createTopics([
            { name: topic, partitions: flags.partitions, replicationFactor: flags.replicationFactor, configs },
          ])
          info(`created topic ${topic}`)
        } catch (err) {
          if (flags.ifNotExists && err instanceof KafkaError && err.code === TOPIC_EXISTS) {
            info(`topic ${topic} already exists`)
            return
          }
          throw err
        }
      })
    })

  withCommonFlags(
    topics
      .command('describe')
      .description('partitions, leaders, offsets, sizes and configs of topics')
      .argument('<topics...>'),
    { json: true },
  )
    .addHelpText(
      'after',
      `\nExamples:\n  samsa topics describe orders\n  samsa topics describe orders audit --json\n${EXIT_CODES_HELP}`,
    )
    .action(async (names: string[], flags: CommonFlags) => {
      await withAdmin(flags, async (admin) => {
        const described = await admin.describeTopics(names)
        const tps = described.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partition })))
        const [earliest, latest, sizes] = await Promise.all([
          listOffsets(admin.cluster, tps, EARLIEST),
          listOffsets(admin.cluster, tps, LATEST),
          admin.partitionSizes(described),
        ])
        const configs = await Promise.all(described.map((t) => admin.describeConfigs(ResourceType.TOPIC, t.name)))
        const result = described.map((t, i) => describeTopic(t, earliest, latest, sizes, configs[i] ?? []))
        if (flags.json) {
          printJsonLines(result)
          return
        }
        result.forEach((t, i) => {
          if (i > 0) process.stdout.write('\n')
          process.stdout.write(
            `Topic: ${t.name}  Id: ${t.id}  Partitions: ${t.partitions.length}  Records: ${t.records}  Size: ${formatBytes(t.size)}\n`,
          )
          const overrides = Object.entries(t.configs)
          process.stdout.write(
            `Configs: ${overrides.length ? overrides.map(([k, v]) => `${k}=${v}`).join(', ') : '(defaults)'}\n`,
          )
          printTable(
            ['PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'EARLIEST', 'LATEST', 'RECORDS', 'SIZE'],
            t.partitions.map((p) => [
              p.partition,
              p.leader,
              p.replicas.join(','),
              p.isr.join(','),
              p.earliest,
              p.latest,
              p.latest - p.earliest,
              formatBytes(p.size),
            ]),
          )
        })
      })
    })

  withCommonFlags(topics.command('alter').description('add partitions or change topic configs').argument('<topic>'))
    .option('-p, --partitions <n>', 'new partition count (can only grow)', parsePositiveArg)
    .option('--set <name=value>', 'set a config override (repeatable)', collect, [])
    .option('--delete <name>', 'remove a config override (repeatable)', collect, [])
    .addHelpText(
      'after',
      `\nExamples:\n  samsa topics alter orders --partitions 12\n  samsa topics alter orders --set retention.ms=86400000 --delete cleanup.policy\n${EXIT_CODES_HELP}`,
    )
    .action(async (topic: string, flags: AlterFlags) => {
      const set = parseAssignments(flags.set)
      checkConfigValues('topic', set)
      const del = flags.delete ?? []
      if (flags.partitions === undefined && Object.keys(set).length === 0 && del.length === 0) {
        throw new UsageError('nothing to alter: give --partitions, --set or --delete')
      }
      await withAdmin(flags, async (admin) => {
        await admin.describeTopics([topic])
        if (flags.partitions !== undefined) {
          await admin.createPartitions(topic, flags.partitions)
          info(`topic ${topic} now has ${flags.partitions} partitions`)
        }
        if (Object.keys(set).length > 0 || del.length > 0) {
          await admin.alterConfigs(ResourceType.TOPIC, topic, { set, delete: del })
          info(`updated configs of topic ${topic}`)
        }
      })
    })

  withCommonFlags(
    topics
      .command('reassign')
      .description('give partitions new replica lists; the first live replica of each leads')
      .argument('<topic>', 'topic name')
      .argument('<assignments...>', 'PARTITION=BROKER,BROKER... (the first broker the preferred leader)'),
  )
    .addHelpText(
      'after',
      `\nExamples:\n  samsa topics reassign orders 0=1 1=1\n  samsa topics reassign orders 0=3,1,2 1=2,3,1 --bootstrap kafka-1.example.com:9092\n${EXIT_CODES_HELP}`,
    )
    .action(async (topic: string, assignments: string[], flags: CommonFlags) => {
      const replicas = parseReplicaLists(assignments)
      await withAdmin(flags, async (admin) => {
        await admin.reassignPartitions(topic, replicas)
        info(`reassigned ${[...replicas].map(([p, r]) => `${topic}-${p} to ${r.join(',')}`).join(', ')}`)
      })
    })

  withCommonFlags(topics.command('delete').description('delete topics and their data').argument('<topics...>'))
    .option('--if-exists', 'succeed when a topic does not exist')
    .addHelpText(
      'after',
      `\nExamples:\n  samsa topics delete orders\n  samsa topics delete tmp-1 tmp-2 --if-exists\n${EXIT_CODES_HELP}`,
    )
    .action(async (names: string[], flags: CommonFlags & { ifExists?: boolean }) => {
      await withAdmin(flags, async (admin) => {
        for (const name of names) {
          try {
            await admin.deleteTopics([name])
            info(`deleted topic ${name}`)
          } catch (err) {
            if (flags.ifExists && err instanceof KafkaError && err.code === UNKNOWN_TOPIC) {
              info(`topic ${name} does not exist`)
              continue
            }
            throw err
          }
        }
      })
    })
}

/** PARTITION=BROKER,BROKER... arguments as replica lists by partition. */
function parseReplicaLists(assignments: string[]): Map<number, number[]> {
  const out = new Map<number, number[]>()
  for (const [partition, brokers] of Object.entries(parseAssignments(assignments, 'assignment'))) {
    if (!/^\d+$/.test(partition) || !/^\d+(,\d+)*$/.test(brokers)) {
      throw new UsageError(
        `invalid assignment "${partition}=${brokers}" (expected PARTITION=BROKER,BROKER..., e.g. 0=3,1,2)`,
      )
    }
    out.set(Number(partition), brokers.split(',').map(Number))
  }
  return out
}

function describeTopic(
  t: TopicInfo,
  earliest: Map<string, bigint>,
  latest: Map<string, bigint>,
  sizes: Map<string, bigint>,
  configs: { name: string; value: string | null }[],
) {
  const partitions = t.partitions.map((p) => ({
    partition: p.partition,
    leader: p.leader,
    leaderEpoch: p.leaderEpoch,
    replicas: p.replicas,
    isr: p.isr,
    earliest: earliest.get(tpKey(t.name, p.partition)) ?? -1n,
    latest: latest.get(tpKey(t.name, p.partition)) ?? -1n,
    size: sizes.get(tpKey(t.name, p.partition)) ?? 0n,
  }))
  // The documented JSON shape of a described topic (README, "JSON output").
  return {
    name: t.name,
    id: t.id,
    internal: t.internal,
    records: partitions.reduce((s, p) => s + (p.latest - p.earliest), 0n),
    size: partitions.reduce((s, p) => s + p.size, 0n),
    configs: Object.fromEntries(configs.map((c) => [c.name, c.value])),
    partitions: partitions.map((p) => ({ ...p, records: p.latest - p.earliest })),
  }
}
