/** `samsa configs describe|alter` for topics and brokers. */
import type { Command } from 'commander'
import { ResourceType } from '../../client/admin.ts'
import {
  type CommonFlags,
  collect,
  EXIT_CODES_HELP,
  info,
  parseAssignments,
  printJson,
  UsageError,
  withAdmin,
  withCommonFlags,
} from '../common.ts'
import { printTable } from '../output/table.ts'
import { checkConfigValues } from '../validate.ts'

interface TargetFlags extends CommonFlags {
  topic?: string
  broker?: string | boolean
}

function target(flags: TargetFlags): { type: number; name: string; label: string } {
  if ((flags.topic === undefined) === (flags.broker === undefined))
    throw new UsageError('give either --topic <name> or --broker [id]')
  if (flags.topic !== undefined) return { type: ResourceType.TOPIC, name: flags.topic, label: `topic ${flags.topic}` }
  const id = flags.broker === true ? '' : String(flags.broker)
  if (id !== '' && !/^\d+$/.test(id)) throw new UsageError(`invalid broker id "${id}"`)
  return {
    type: ResourceType.BROKER,
    name: id,
    label: id === '' ? 'the cluster default broker config' : `broker ${id}`,
  }
}

/** Registers the configs command group. */
export function registerConfigsCommand(program: Command): void {
  const configs = program.command('configs').description('describe and alter topic and broker configs')

  withCommonFlags(configs.command('describe').description('show config values and where they come from'), {
    json: true,
  })
    .option('--topic <name>', 'a topic')
    .option('--broker [id]', 'a broker (default: the one answering)')
    .option('-a, --all', 'include default values (otherwise only overrides)')
    .addHelpText(
      'after',
      `\nExamples:\n  samsa configs describe --topic orders\n  samsa configs describe --topic orders --all --json\n  samsa configs describe --broker 1 --all\n${EXIT_CODES_HELP}`,
    )
    .action(async (flags: TargetFlags & { all?: boolean }) => {
      const t = target(flags)
      await withAdmin(flags, async (admin) => {
        let name = t.name
        if (t.type === ResourceType.BROKER && name === '') {
          const cluster = await admin.describeCluster()
          name = String(cluster.brokers[0]?.nodeId ?? cluster.controllerId)
        }
        const entries = await admin.describeConfigs(t.type, name, { all: flags.all })
        const label = t.type === ResourceType.BROKER ? `broker ${name}` : t.label
        if (flags.json)
          printJson(
            entries.map((e) => ({
              name: e.name,
              value: e.sensitive ? null : e.value,
              source: e.source,
              readOnly: e.readOnly,
              sensitive: e.sensitive,
              isDefault: e.isDefault,
            })),
          )
        else if (entries.length === 0) info(`no overrides for ${label} (use --all to see defaults)`)
        else
          printTable(
            ['NAME', 'VALUE', 'SOURCE', 'READ-ONLY'],
            entries.map((e) => [e.name, e.sensitive ? '(sensitive)' : e.value, e.source, e.readOnly ? 'yes' : 'no']),
          )
      })
    })

  withCommonFlags(configs.command('alter').description('set or delete config overrides'))
    .option('--topic <name>', 'a topic')
    .option('--broker [id]', 'a broker (no id: the cluster-wide default)')
    .option('--set <name=value>', 'set a config (repeatable)', collect, [])
    .option('--delete <name>', 'remove an override, back to the default (repeatable)', collect, [])
    .option('--validate-only', 'check the change without applying it')
    .addHelpText(
      'after',
      `\nExamples:\n  samsa configs alter --topic orders --set retention.ms=86400000\n  samsa configs alter --topic orders --delete retention.ms\n  samsa configs alter --broker --set log.retention.ms=604800000\n${EXIT_CODES_HELP}`,
    )
    .action(async (flags: TargetFlags & { set: string[]; delete: string[]; validateOnly?: boolean }) => {
      const t = target(flags)
      const set = parseAssignments(flags.set)
      checkConfigValues(t.type === ResourceType.TOPIC ? 'topic' : 'broker', set)
      if (Object.keys(set).length === 0 && flags.delete.length === 0)
        throw new UsageError('nothing to change: give --set or --delete')
      await withAdmin(flags, async (admin) => {
        await admin.alterConfigs(t.type, t.name, { set, delete: flags.delete }, { validateOnly: flags.validateOnly })
        const what = [...Object.keys(set).map((k) => `set ${k}`), ...flags.delete.map((k) => `deleted ${k}`)].join(', ')
        info(`${flags.validateOnly ? 'valid' : 'updated'} ${t.label}: ${what}`)
      })
    })
}
