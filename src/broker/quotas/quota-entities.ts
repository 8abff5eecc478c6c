/**
 * Client quota entities as Kafka names them: a user, a client id, both, or an IP address, each
 * name either given or null for the default of its type; and the quota keys each may carry.
 * Validation gives Kafka's INVALID_REQUEST messages.
 */
import { isIP } from 'node:net'
import { ErrorCode } from '../../protocol/error-codes.ts'

export const USER = 'user'
export const CLIENT_ID = 'client-id'
export const IP = 'ip'

/** An entity: type → name (null: that type's default), at most one name per type. */
export type QuotaEntity = ReadonlyMap<string, string | null>

/** The quota keys, with whether their values are whole numbers. */
const CLIENT_KEYS: ReadonlyMap<string, { whole: boolean }> = new Map([
  ['producer_byte_rate', { whole: true }],
  ['consumer_byte_rate', { whole: true }],
  ['request_percentage', { whole: false }],
  ['controller_mutation_rate', { whole: false }],
])
const IP_KEYS: ReadonlyMap<string, { whole: boolean }> = new Map([['connection_creation_rate', { whole: true }]])

/** Why an entity cannot carry quotas (Kafka's message), or undefined when it can. */
export function entityProblem(
  entity: readonly { entityType: string; entityName: string | null }[],
): string | undefined {
  if (entity.length === 0) return 'Invalid empty client quota entity'
  const seen = new Set<string>()
  for (const { entityType, entityName } of entity) {
    if (seen.has(entityType)) return `Invalid client quota entity, duplicate entity entry ${entityType}`
    seen.add(entityType)
    if (![USER, CLIENT_ID, IP].includes(entityType)) return `Unhandled client quota entity type: ${entityType}`
    if (entityName === '') return `Empty ${entityType} not supported`
  }
  if (seen.has(IP)) {
    if (seen.size > 1) return 'Invalid quota entity combination, IP entity should not be combined with User or ClientId'
    const ip = entity[0]?.entityName ?? null
    if (ip !== null && isIP(ip) === 0) return `${ip} is not a valid IP or resolvable host.`
  }
  return undefined
}

/** Why a key is not one of the entity's quotas (a removal names only the key), or undefined. */
export function keyProblem(entity: QuotaEntity, key: string): string | undefined {
  return (entity.has(IP) ? IP_KEYS : CLIENT_KEYS).has(key) ? undefined : `Invalid configuration key ${key}`
}

/** Why a key and value do not fit an entity (Kafka's message), or undefined when they do. */
export function valueProblem(entity: QuotaEntity, key: string, value: number): string | undefined {
  const spec = (entity.has(IP) ? IP_KEYS : CLIENT_KEYS).get(key)
  if (spec === undefined) return keyProblem(entity, key)
  if (!(value > 0)) return `Quota ${key} must be greater than 0`
  if (spec.whole && !Number.isInteger(value)) return `${key} cannot be a fractional value.`
  return undefined
}

/** A stable key for an entity (types in a fixed order; a default name as the type alone). */
export function entityKey(entity: QuotaEntity): string {
  return [USER, CLIENT_ID, IP]
    .filter((t) => entity.has(t))
    .map((t) => {
      const name = entity.get(t)
      return name === null ? t : `${t}=${encodeURIComponent(name as string)}`
    })
    .join('/')
}

export function entityFromKey(key: string): QuotaEntity {
  const entity = new Map<string, string | null>()
  for (const part of key.split('/')) {
    const eq = part.indexOf('=')
    if (eq < 0) entity.set(part, null)
    else entity.set(part.slice(0, eq), decodeURIComponent(part.slice(eq + 1)))
  }
  return entity
}

/** A DescribeClientQuotas filter component: exact name (0), the default (1), any name or the default (2). */
export interface QuotaFilterComponent {
  entityType: string
  matchType: number
  match: string | null
}

export const MATCH_EXACT = 0
export const MATCH_DEFAULT = 1
export const MATCH_ANY = 2

/** Why a filter is refused, as Kafka refuses it (an unknown type is UNSUPPORTED_VERSION), or undefined. */
export function filterProblem(
  components: readonly QuotaFilterComponent[],
): { errorCode: number; message: string } | undefined {
  const invalid = (message: string) => ({ errorCode: ErrorCode.INVALID_REQUEST, message })
  const types = new Set<string>()
  for (const c of components) {
    if (c.entityType === '') return invalid('Invalid empty entity type.')
    if (types.has(c.entityType))
      return invalid(`Entity type ${c.entityType} cannot appear more than once in the filter.`)
    types.add(c.entityType)
    if (![USER, CLIENT_ID, IP].includes(c.entityType)) {
      return { errorCode: ErrorCode.UNSUPPORTED_VERSION, message: `Unsupported entity type ${c.entityType}` }
    }
    if (c.matchType === MATCH_EXACT && c.match === null) return invalid('An exact match needs a name to match.')
    if (c.matchType === MATCH_DEFAULT && c.match !== null) return invalid('A default match takes no name.')
    if (c.matchType === MATCH_ANY && c.match !== null) return invalid('A match of any name takes no name.')
    if (![MATCH_EXACT, MATCH_DEFAULT, MATCH_ANY].includes(c.matchType))
      return invalid(`Unknown match type ${c.matchType}`)
  }
  if (types.has(IP) && types.size > 1) {
    return invalid('Invalid entity filter component combination: an IP component cannot go with user or client id.')
  }
  return undefined
}

/** Whether an entity passes a filter; `strict`: it has no types beyond the filter's. */
export function matchesFilter(
  entity: QuotaEntity,
  components: readonly QuotaFilterComponent[],
  strict: boolean,
): boolean {
  if (strict && entity.size !== components.length) return false
  return components.every((c) => {
    if (!entity.has(c.entityType)) return false
    const name = entity.get(c.entityType) ?? null
    if (c.matchType === MATCH_EXACT) return name === c.match
    if (c.matchType === MATCH_DEFAULT) return name === null
    return true
  })
}
