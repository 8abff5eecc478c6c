/**
 * `samsa quotas describe|alter`: client quotas (kafka-configs.sh --entity-type users|clients|ips,
 * rpk cluster quotas) through DescribeClientQuotas and AlterClientQuotas. An entity is named by
 * --name TYPE=NAME and --default TYPE (user, client-id, ip), as many as it has types.
 */
import type { Command } from 'commander'
import { KafkaError } from '../../client/errors.ts'
import {
  type AlterClientQuotasResponse,
  createAlterClientQuotasRequest,
} from '../../protocol/generated/alter-client-quotas.ts'
import {
  createDescribeClientQuotasRequest,
  type DescribeClientQuotasResponse,
} from '../../protocol/generated/describe-client-quotas.ts'
import { ApiKey } from '../../protocol/generated/index.ts'
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
import { sendNewest } from '../requests.ts'

const TYPES = ['user', 'client-id', 'ip']
const V0_1 = { min: 0, max: 1 }
/** DescribeClientQuotas match types. */
const EXACT = 0
const DEFAULT = 1
const ANY = 2

interface QuotaFlags extends CommonFlags {
  name?: string[]
  default?: string[]
  any?: string[]
  strict?: boolean
  add?: string[]
  delete?: string[]
  dryRun?: boolean
}

function checkType(type: string): string {
  if (!TYPES.includes(type)) throw new UsageError(`unknown entity type "${type}" (user, client-id or ip)`)
  return type
}

/** The entity of --name and --default flags: [type, name or null for the default]. */
function entityOf(flags: QuotaFlags): [string, string | null][] {
  const named = Object.entries(parseAssignments(flags.name, '--name')).map(([t, n]): [string, string | null] => [
    checkType(t),
    n,
  ])
  const defaults = (flags.default ?? []).map((t): [string, string | null] => [checkType(t), null])
  return [...named, ...defaults]
}

const entityText = (entity: { entityType: string; entityName: string | null }[]): string =>
  entity.map((e) => `${e.entityType}=${e.entityName ?? '<default>'}`).join(',')

/** Registers the quotas command group. */
export function registerQuotasCommand(program: Command): void {
  const quotas = program.command('quotas').description('client quotas: byte rates per user, client id or IP')

  withCommonFlags(
    quotas.command('describe').description('quotas of the entities that match (all of them without flags)'),
    { json: true },
  )
    .option('--name <type=name>', 'entities with this name of the type (user, client-id, ip); repeatable', collect)
    .option('--default <type>', "entities with the type's default; repeatable", collect)
    .option('--any <type>', 'entities with any name of the type; repeatable', collect)
    .option('--strict', 'only entities with no types beyond those given')
    .addHelpText(
      'after',
      `
Examples:
  samsa quotas describe
  samsa quotas describe --name user=alice --json
  samsa quotas describe --default client-id --strict
${EXIT_CODES_HELP}`,
    )
    .action(async (flags: QuotaFlags) => {
      const components = [
        ...entityOf(flags).map(([entityType, name]) => ({
          entityType,
          matchType: name === null ? DEFAULT : EXACT,
          match: name,
        })),
        ...(flags.any ?? []).map((t) => ({ entityType: checkType(t), matchType: ANY, match: null })),
      ]
      const entries = await withAdmin(flags, async (admin) => {
        const conn = await admin.cluster.anyConnection()
        const res = await sendNewest<DescribeClientQuotasResponse>(conn, ApiKey.DescribeClientQuotas, V0_1, () =>
          createDescribeClientQuotasRequest({ components, strict: flags.strict === true }),
        )
        if (res.errorCode !== 0) throw new KafkaError(res.errorCode, res.errorMessage)
        return res.entries ?? []
      })
      const rows = entries.map((e) => ({
        entity: e.entity.map((x) => ({ type: x.entityType, name: x.entityName })),
        values: Object.fromEntries(e.values.map((v) => [v.key, v.value])),
      }))
      if (flags.json) printJson(rows)
      else {
        printTable(
          ['ENTITY', 'QUOTAS'],
          entries.map((e) => [entityText(e.entity), e.values.map((v) => `${v.key}=${v.value}`).join(',')]),
        )
      }
    })

  withCommonFlags(quotas.command('alter').description('set and remove quotas of one entity'))
    .option('--name <type=name>', 'the entity has this name of the type (user, client-id, ip); repeatable', collect)
    .option('--default <type>', "the entity is the type's default; repeatable", collect)
    .option('--add <key=value>', 'set a quota, e.g. producer_byte_rate=1048576; repeatable', collect)
    .option('--delete <key>', 'remove a quota; repeatable', collect)
    .option('--dry-run', 'let the broker check the change without making it')
    .addHelpText(
      'after',
      `
Keys: producer_byte_rate, consumer_byte_rate (bytes/s), request_percentage (percent of one
thread: of the broker's event loop), controller_mutation_rate (kept, not enforced), and for an
ip connection_creation_rate (connections/s).

Examples:
  samsa quotas alter --name client-id=reporting --add consumer_byte_rate=1048576
  samsa quotas alter --name user=alice --name client-id=app --add producer_byte_rate=524288
  samsa quotas alter --default user --delete producer_byte_rate
${EXIT_CODES_HELP}`,
    )
    .action(async (flags: QuotaFlags) => {
      const entity = entityOf(flags).map(([entityType, entityName]) => ({ entityType, entityName }))
      if (entity.length === 0) throw new UsageError('name the entity with --name TYPE=NAME or --default TYPE')
      const ops = [
        ...Object.entries(parseAssignments(flags.add, '--add')).map(([key, value]) => {
          const n = Number(value)
          if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--add ${key}=${value}: not a number`)
          return { key, value: n, remove: false }
        }),
        ...(flags.delete ?? []).map((key) => ({ key, value: 0, remove: true })),
      ]
      if (ops.length === 0) throw new UsageError('give at least one --add KEY=VALUE or --delete KEY')
      await withAdmin(flags, async (admin) => {
        const conn = await admin.cluster.anyConnection()
        const res = await sendNewest<AlterClientQuotasResponse>(conn, ApiKey.AlterClientQuotas, V0_1, () =>
          createAlterClientQuotasRequest({ entries: [{ entity, ops }], validateOnly: flags.dryRun === true }),
        )
        for (const e of res.entries) if (e.errorCode !== 0) throw new KafkaError(e.errorCode, e.errorMessage)
      })
      info(`${flags.dryRun ? 'valid, not applied' : 'altered'}: ${entityText(entity)}`)
    })
}
