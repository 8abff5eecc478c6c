/**
 * `samsa acls list|create|delete`: the ACLs of Kafka's standard authorizer (kafka-acls.sh --list,
 * --add, --remove), through DescribeAcls, CreateAcls and DeleteAcls.
 */
import { type Command, InvalidArgumentError } from 'commander'
import {
  type AclBinding,
  type AclFilter,
  AclOperation,
  CLUSTER_NAME,
  OPERATION_NAMES,
  PATTERN_TYPE_NAMES,
  PatternType,
  PERMISSION_NAMES,
  PermissionType,
  RESOURCE_TYPE_NAMES,
  ResourceType,
} from '../../broker/acls/acl-model.ts'
import type { Admin } from '../../client/admin.ts'
import { KafkaError } from '../../client/errors.ts'
import { type CreateAclsResponse, createCreateAclsRequest } from '../../protocol/generated/create-acls.ts'
import { createDeleteAclsRequest, type DeleteAclsResponse } from '../../protocol/generated/delete-acls.ts'
import { createDescribeAclsRequest, type DescribeAclsResponse } from '../../protocol/generated/describe-acls.ts'
import { ApiKey } from '../../protocol/generated/index.ts'
import {
  type CommonFlags,
  collect,
  EXIT_CODES_HELP,
  info,
  printJson,
  UsageError,
  withAdmin,
  withCommonFlags,
} from '../common.ts'
import { printTable } from '../output/table.ts'
import { sendNewest } from '../requests.ts'

/** Versions 1+ carry the pattern type (v0 knows only literal names). */
const VERSIONS = { min: 1, max: 3 }

interface AclFlags extends CommonFlags {
  allow: string[]
  deny: string[]
  principal?: string
  operation: string[]
  host: string[]
  topic: string[]
  group: string[]
  transactionalId: string[]
  delegationToken: string[]
  userPrincipal: string[]
  cluster?: boolean
  resourcePatternType?: string
}

/** A name as Kafka's tools accept it, matched without case, dashes or underscores (DescribeConfigs, describe-configs). */
const squash = (s: string): string => s.toLowerCase().replace(/[-_]/g, '')

function idOf(
  table: ReadonlyMap<number, string>,
  value: string,
  what: string,
  allowed: (id: number) => boolean,
): number {
  for (const [id, name] of table) if (squash(name) === squash(value) && allowed(id)) return id
  const names = [...table].filter(([id]) => allowed(id)).map(([, n]) => n.toLowerCase().replace(/_/g, '-'))
  throw new InvalidArgumentError(`unknown ${what} "${value}" (one of ${names.join(', ')})`)
}

const nameOf = (table: ReadonlyMap<number, string>, id: number): string =>
  (table.get(id) ?? String(id)).toLowerCase().replace(/_/g, '-')

/** The resources the flags name, as [type, name] pairs. */
function resources(flags: AclFlags): [number, string][] {
  return [
    ...flags.topic.map((n): [number, string] => [ResourceType.TOPIC, n]),
    ...flags.group.map((n): [number, string] => [ResourceType.GROUP, n]),
    ...flags.transactionalId.map((n): [number, string] => [ResourceType.TRANSACTIONAL_ID, n]),
    ...flags.delegationToken.map((n): [number, string] => [ResourceType.DELEGATION_TOKEN, n]),
    ...flags.userPrincipal.map((n): [number, string] => [ResourceType.USER, n]),
    ...(flags.cluster ? [[ResourceType.CLUSTER, CLUSTER_NAME] as [number, string]] : []),
  ]
}

function patternType(flags: AclFlags, fallback: number, filter: boolean): number {
  if (flags.resourcePatternType === undefined) return fallback
  return idOf(PATTERN_TYPE_NAMES, flags.resourcePatternType, 'resource pattern type', (id) =>
    filter ? id >= PatternType.ANY : id >= PatternType.LITERAL,
  )
}

function operations(flags: AclFlags, fallback: number[]): number[] {
  if (flags.operation.length === 0) return fallback
  return flags.operation.map((op) =>
    idOf(OPERATION_NAMES, op, 'operation', (id) => id >= AclOperation.ALL || id === AclOperation.ANY),
  )
}

/** Every combination of the flags' principals (with their permission), resources, operations and hosts. */
function combinations<T>(
  flags: AclFlags,
  resource: [number, string][],
  ops: number[],
  hosts: (string | null)[],
  make: (r: [number, string], principal: [string | null, number], op: number, host: string | null) => T,
): T[] {
  const principals: [string | null, number][] = [
    ...flags.allow.map((p): [string, number] => [p, PermissionType.ALLOW]),
    ...flags.deny.map((p): [string, number] => [p, PermissionType.DENY]),
  ]
  const out: T[] = []
  for (const r of resource)
    for (const p of principals) for (const op of ops) for (const h of hosts) out.push(make(r, p, op, h))
  return out
}

function printAcls(acls: AclBinding[], json: boolean | undefined): void {
  const rows = acls.map((a) => ({
    resourceType: nameOf(RESOURCE_TYPE_NAMES, a.resourceType),
    resourceName: a.resourceName,
    patternType: nameOf(PATTERN_TYPE_NAMES, a.patternType),
    principal: a.principal,
    host: a.host,
    operation: nameOf(OPERATION_NAMES, a.operation),
    permission: nameOf(PERMISSION_NAMES, a.permissionType),
  }))
  if (json) printJson(rows)
  else if (rows.length === 0) info('no ACLs')
  else
    printTable(
      ['RESOURCE', 'NAME', 'PATTERN', 'PRINCIPAL', 'HOST', 'OPERATION', 'PERMISSION'],
      rows.map((r) => [r.resourceType, r.resourceName, r.patternType, r.principal, r.host, r.operation, r.permission]),
    )
}

async function describe(admin: Admin, filter: AclFilter): Promise<AclBinding[]> {
  const conn = await admin.cluster.anyConnection()
  const res = await sendNewest<DescribeAclsResponse>(conn, ApiKey.DescribeAcls, VERSIONS, () =>
    createDescribeAclsRequest({
      resourceTypeFilter: filter.resourceType,
      resourceNameFilter: filter.resourceName,
      patternTypeFilter: filter.patternType,
      principalFilter: filter.principal,
      hostFilter: filter.host,
      operation: filter.operation,
      permissionType: filter.permissionType,
    }),
  )
  if (res.errorCode !== 0) throw new KafkaError(res.errorCode, res.errorMessage)
  return res.resources.flatMap((r) =>
    r.acls.map((a) => ({
      resourceType: r.resourceType,
      resourceName: r.resourceName,
      patternType: r.patternType,
      ...a,
    })),
  )
}

/** The common resource, principal and operation flags. */
function aclFlags(cmd: Command, what: string): Command {
  return cmd
    .option('--topic <name>', `${what} a topic (repeatable)`, collect, [])
    .option('--group <name>', `${what} a consumer group (repeatable)`, collect, [])
    .option('--cluster', `${what} the cluster`)
    .option('--transactional-id <id>', `${what} a transactional id (repeatable)`, collect, [])
    .option('--delegation-token <id>', `${what} a delegation token (repeatable)`, collect, [])
    .option('--user-principal <principal>', `${what} a user, e.g. User:alice (repeatable)`, collect, [])
    .option('--operation <op>', 'read, write, create, delete, alter, describe, all, ... (repeatable)', collect, [])
}

/** Registers the acls command group. */
export function registerAclsCommand(program: Command): void {
  const acls = program
    .command('acls')
    .description("ACLs of Kafka's standard authorizer (authorizer.class.name): list, create, delete")

  withCommonFlags(aclFlags(acls.command('list').description('list ACLs, all or those matching the flags'), 'of'), {
    json: true,
  })
    .option('--principal <principal>', 'only the ACLs of this principal, e.g. User:alice')
    .option(
      '--resource-pattern-type <type>',
      'any (default), match (the ACLs that apply to the named resource), literal or prefixed',
    )
    .addHelpText(
      'after',
      `
Examples:
  samsa acls list
  samsa acls list --topic orders --resource-pattern-type match
  samsa acls list --principal User:alice --json
${EXIT_CODES_HELP}`,
    )
    .action(async (flags: AclFlags) => {
      const named = resources(flags)
      if (named.length > 1) throw new UsageError('list takes at most one resource')
      const [type, name] = named[0] ?? [ResourceType.ANY, null]
      const ops = operations(flags, [AclOperation.ANY])
      if (ops.length > 1) throw new UsageError('list takes at most one --operation')
      const filter: AclFilter = {
        resourceType: type,
        resourceName: name,
        patternType: patternType(flags, PatternType.ANY, true),
        principal: flags.principal ?? null,
        host: null,
        operation: ops[0] as number,
        permissionType: PermissionType.ANY,
      }
      printAcls(await withAdmin(flags, (admin) => describe(admin, filter)), flags.json)
    })

  withCommonFlags(aclFlags(acls.command('create').description('create ACLs (kafka-acls.sh --add)'), 'on'))
    .option('--allow <principal>', 'allow this principal, e.g. User:alice or User:* (repeatable)', collect, [])
    .option('--deny <principal>', 'deny this principal; a DENY wins over any ALLOW (repeatable)', collect, [])
    .option('--host <host>', 'only from this client address (repeatable; default: any host, *)', collect, [])
    .option('--resource-pattern-type <type>', 'literal (default: the exact name, or * for all) or prefixed')
    .addHelpText(
      'after',
      `
Every combination of the principals, resources, operations and hosts given is one ACL.

Examples:
  samsa acls create --allow User:alice --operation write --topic orders
  samsa acls create --allow User:alice --operation read --topic orders. --resource-pattern-type prefixed --group billing
  samsa acls create --deny User:mallory --operation all --cluster --host 10.0.0.7
${EXIT_CODES_HELP}`,
    )
    .action(async (flags: AclFlags) => {
      const named = resources(flags)
      if (named.length === 0)
        throw new UsageError('name a resource: --topic, --group, --cluster, --transactional-id...')
      if (flags.allow.length + flags.deny.length === 0) throw new UsageError('name a principal with --allow or --deny')
      if (flags.operation.length === 0) throw new UsageError('name an operation with --operation')
      const pattern = patternType(flags, PatternType.LITERAL, false)
      const ops = operations(flags, [])
      const hosts = flags.host.length > 0 ? flags.host : ['*']
      const creations = combinations(flags, named, ops, hosts, ([type, name], [principal, permission], op, host) => ({
        resourceType: type,
        resourceName: name,
        resourcePatternType: pattern,
        principal: principal as string,
        host: host as string,
        operation: op,
        permissionType: permission,
      }))
      await withAdmin(flags, async (admin) => {
        const conn = await admin.cluster.anyConnection()
        const res = await sendNewest<CreateAclsResponse>(conn, ApiKey.CreateAcls, VERSIONS, () =>
          createCreateAclsRequest({ creations }),
        )
        for (const r of res.results) if (r.errorCode !== 0) throw new KafkaError(r.errorCode, r.errorMessage)
      })
      info(`created ${creations.length} ACL${creations.length === 1 ? '' : 's'}`)
    })

  withCommonFlags(
    aclFlags(acls.command('delete').description('delete the ACLs matching the flags (kafka-acls.sh --remove)'), 'on'),
    { json: true },
  )
    .option('--allow <principal>', 'the ALLOW ACLs of this principal (repeatable)', collect, [])
    .option('--deny <principal>', 'the DENY ACLs of this principal (repeatable)', collect, [])
    .option('--host <host>', 'only the ACLs for this host (repeatable; default: any host)', collect, [])
    .option('--resource-pattern-type <type>', 'literal (default), prefixed, match or any')
    .addHelpText(
      'after',
      `
Without --allow or --deny, the ACLs of every principal on the resources go; without
--operation, those of every operation.

Examples:
  samsa acls delete --allow User:alice --operation write --topic orders
  samsa acls delete --topic orders.legacy
${EXIT_CODES_HELP}`,
    )
    .action(async (flags: AclFlags) => {
      const named = resources(flags)
      if (named.length === 0)
        throw new UsageError('name a resource: --topic, --group, --cluster, --transactional-id...')
      const pattern = patternType(flags, PatternType.LITERAL, true)
      const ops = operations(flags, [AclOperation.ANY])
      const hosts = flags.host.length > 0 ? flags.host : [null]
      const anyone = flags.allow.length + flags.deny.length === 0
      const who = anyone ? { ...flags, allow: [''] } : flags
      const filters = combinations(who, named, ops, hosts, ([type, name], [principal, permission], op, host) => ({
        resourceTypeFilter: type,
        resourceNameFilter: name,
        patternTypeFilter: pattern,
        principalFilter: anyone ? null : principal,
        hostFilter: host,
        operation: op,
        permissionType: anyone ? PermissionType.ANY : permission,
      }))
      const deleted = await withAdmin(flags, async (admin) => {
        const conn = await admin.cluster.anyConnection()
        const res = await sendNewest<DeleteAclsResponse>(conn, ApiKey.DeleteAcls, VERSIONS, () =>
          createDeleteAclsRequest({ filters }),
        )
        return res.filterResults.flatMap((r) => {
          if (r.errorCode !== 0) throw new KafkaError(r.errorCode, r.errorMessage)
          return r.matchingAcls.map(
            (a): AclBinding => ({
              resourceType: a.resourceType,
              resourceName: a.resourceName,
              patternType: a.patternType,
              principal: a.principal,
              host: a.host,
              operation: a.operation,
              permissionType: a.permissionType,
            }),
          )
        })
      })
      if (flags.json) printAcls(deleted, true)
      else {
        info(`deleted ${deleted.length} ACL${deleted.length === 1 ? '' : 's'}`)
        if (deleted.length > 0) printAcls(deleted, false)
      }
    })
}
