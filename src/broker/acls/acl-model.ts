/**
 * Kafka's ACL vocabulary as the wire carries it (resource types, pattern types, operations,
 * permission types, all int8 ids), an ACL binding, and the filters of DescribeAcls and
 * DeleteAcls with Kafka's matching and validation rules.
 */

/** org.apache.kafka.common.resource.ResourceType ids. */
export const ResourceType = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  CLUSTER: 4,
  TRANSACTIONAL_ID: 5,
  DELEGATION_TOKEN: 6,
  USER: 7,
} as const

/** org.apache.kafka.common.resource.PatternType ids. */
export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const

/** org.apache.kafka.common.acl.AclOperation ids. */
export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
  TWO_PHASE_COMMIT: 15,
} as const

/** org.apache.kafka.common.acl.AclPermissionType ids. */
export const PermissionType = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const

/** The one name of the CLUSTER resource. */
export const CLUSTER_NAME = 'kafka-cluster'
/** A LITERAL resource name, principal (User:*) or host matching every one. */
export const WILDCARD = '*'
export const WILDCARD_PRINCIPAL = 'User:*'

/** The names the CLI and logs use for each id (Kafka's enum names). */
export const RESOURCE_TYPE_NAMES = nameTable(ResourceType)
export const PATTERN_TYPE_NAMES = nameTable(PatternType)
export const OPERATION_NAMES = nameTable(AclOperation)
export const PERMISSION_NAMES = nameTable(PermissionType)

function nameTable(ids: Record<string, number>): ReadonlyMap<number, string> {
  return new Map(Object.entries(ids).map(([name, id]) => [id, name]))
}

/** One ACL: who may (ALLOW) or may not (DENY) do what on which resources, from which host. */
export interface AclBinding {
  resourceType: number
  resourceName: string
  patternType: number
  principal: string
  host: string
  operation: number
  permissionType: number
}

/** A DescribeAcls or DeleteAcls filter: null names, principals and hosts match any. */
export interface AclFilter {
  resourceType: number
  resourceName: string | null
  patternType: number
  principal: string | null
  host: string | null
  operation: number
  permissionType: number
}

/** A Kafka validation failure: answered INVALID_REQUEST with this message. */
export class InvalidAcl extends Error {}

const known = (table: ReadonlyMap<number, string>, id: number): boolean => id > 0 && table.has(id)

/**
 * Why an ACL may not be created, as Kafka's controller refuses it (INVALID_REQUEST), or
 * undefined. The cluster resource has one name, as Kafka's broker checks before.
 */
export function invalidAclReason(acl: AclBinding): string | undefined {
  if (acl.resourceType === ResourceType.CLUSTER && acl.resourceName !== CLUSTER_NAME)
    return `The only valid name for the CLUSTER resource is ${CLUSTER_NAME}`
  if (acl.resourceName === '') return 'Invalid empty resource name'
  if (!known(RESOURCE_TYPE_NAMES, acl.resourceType) || acl.resourceType === ResourceType.ANY)
    return `Invalid resourceType ${RESOURCE_TYPE_NAMES.get(acl.resourceType) ?? 'UNKNOWN'}`
  if (acl.patternType !== PatternType.LITERAL && acl.patternType !== PatternType.PREFIXED)
    return `Invalid patternType ${PATTERN_TYPE_NAMES.get(acl.patternType) ?? 'UNKNOWN'}`
  if (!known(OPERATION_NAMES, acl.operation) || acl.operation === AclOperation.ANY)
    return `Invalid operation ${OPERATION_NAMES.get(acl.operation) ?? 'UNKNOWN'}`
  if (acl.permissionType !== PermissionType.ALLOW && acl.permissionType !== PermissionType.DENY)
    return `Invalid permissionType ${PERMISSION_NAMES.get(acl.permissionType) ?? 'UNKNOWN'}`
  if (!acl.principal.includes(':'))
    return `Could not parse principal from \`${acl.principal}\` (no colon is present separating the principal type from the principal name)`
  return undefined
}

/** Why a filter is refused (one of its fields UNKNOWN or out of range), as Kafka refuses it, or undefined. */
export function invalidFilterReason(filter: AclFilter): string | undefined {
  if (!known(RESOURCE_TYPE_NAMES, filter.resourceType) || !known(PATTERN_TYPE_NAMES, filter.patternType))
    return 'Unknown patternFilter.'
  if (!known(OPERATION_NAMES, filter.operation) || !known(PERMISSION_NAMES, filter.permissionType))
    return 'Unknown entryFilter.'
  return undefined
}

/** Whether a filter selects an ACL (Kafka's AclBindingFilter.matches, MATCH included). */
export function filterMatches(f: AclFilter, acl: AclBinding): boolean {
  if (f.resourceType !== ResourceType.ANY && f.resourceType !== acl.resourceType) return false
  if (f.principal !== null && f.principal !== acl.principal) return false
  if (f.host !== null && f.host !== acl.host) return false
  if (f.operation !== AclOperation.ANY && f.operation !== acl.operation) return false
  if (f.permissionType !== PermissionType.ANY && f.permissionType !== acl.permissionType) return false
  if (f.patternType === PatternType.MATCH) {
    // MATCH: the ACLs that would apply to a resource of that name.
    if (f.resourceName === null) return true
    if (acl.patternType === PatternType.PREFIXED) return f.resourceName.startsWith(acl.resourceName)
    return acl.resourceName === f.resourceName || acl.resourceName === WILDCARD
  }
  if (f.patternType !== PatternType.ANY && f.patternType !== acl.patternType) return false
  return f.resourceName === null || f.resourceName === acl.resourceName
}

/** Whether an ACL's resource pattern covers a resource of that type and name. */
export function patternCovers(acl: AclBinding, resourceType: number, name: string): boolean {
  if (acl.resourceType !== resourceType) return false
  if (acl.patternType === PatternType.PREFIXED) return name.startsWith(acl.resourceName)
  return acl.resourceName === name || acl.resourceName === WILDCARD
}

/**
 * Whether an ACL grants (ALLOW) or refuses (DENY) an operation, as Kafka's standard authorizer
 * reads it: ALL covers every operation; an ALLOW for READ, WRITE, DELETE or ALTER also allows
 * DESCRIBE, and one for ALTER_CONFIGS allows DESCRIBE_CONFIGS; a DENY covers only its own operation.
 */
export function operationApplies(acl: AclBinding, operation: number): boolean {
  if (acl.operation === AclOperation.ALL || acl.operation === operation) return true
  if (acl.permissionType !== PermissionType.ALLOW) return false
  if (operation === AclOperation.DESCRIBE) return IMPLIES_DESCRIBE.has(acl.operation)
  if (operation === AclOperation.DESCRIBE_CONFIGS) return acl.operation === AclOperation.ALTER_CONFIGS
  return false
}

const IMPLIES_DESCRIBE: ReadonlySet<number> = new Set([
  AclOperation.READ,
  AclOperation.WRITE,
  AclOperation.DELETE,
  AclOperation.ALTER,
])

/** A stable text identity of a binding (its store key). */
export function aclKey(a: AclBinding): string {
  return JSON.stringify([
    a.resourceType,
    a.resourceName,
    a.patternType,
    a.principal,
    a.host,
    a.operation,
    a.permissionType,
  ])
}

/** The binding an aclKey names. */
export function aclFromKey(key: string): AclBinding {
  const [resourceType, resourceName, patternType, principal, host, operation, permissionType] = JSON.parse(key) as [
    number,
    string,
    number,
    string,
    string,
    number,
    number,
  ]
  return { resourceType, resourceName, patternType, principal, host, operation, permissionType }
}
