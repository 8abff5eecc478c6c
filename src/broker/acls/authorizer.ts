/**
 * Kafka's standard authorizer (StandardAuthorizer, and the older AclAuthorizer, which decides
 * alike): enabled by authorizer.class.name; super.users may do anything; otherwise a DENY ACL
 * that applies wins, then an ALLOW that applies; with no ACL at all on the resource,
 * allow.everyone.if.no.acl.found decides. Decisions are cached per principal and host, and the
 * cache is dropped whenever the ACLs change, so that produce and fetch pay a map lookup.
 * Over shared storage the ACLs are read again when another broker changed them (polled each second).
 */
import { STANDARD_AUTHORIZERS } from '../../config/security-configs.ts'
import type { KeyValueStore } from '../../storage/types.ts'
import type { Log } from '../../util/logger.ts'
import {
  type AclBinding,
  AclOperation,
  aclKey,
  operationApplies,
  PatternType,
  PermissionType,
  patternCovers,
  WILDCARD,
  WILDCARD_PRINCIPAL,
} from './acl-model.ts'
import { AclStore } from './acl-store.ts'

/** Who asks: a connection's principal and the address it comes from. */
export interface Requester {
  principal: string
  host: string
}

export interface AuthorizerOptions {
  kv: KeyValueStore
  /** Broker props (authorizer.class.name, super.users, allow.everyone.if.no.acl.found). */
  props: Readonly<Record<string, string>>
  /** Other brokers share the store: poll it for their changes. */
  shared: boolean
  log: Log
}

/** Names kept per requester and action before that cache starts again (a bound, not a tuning). */
const MAX_CACHED = 10_000

export class Authorizer {
  /** False without authorizer.class.name: everything is allowed and the ACL APIs answer SECURITY_DISABLED. */
  readonly enabled: boolean
  readonly #store: AclStore
  readonly #superUsers: ReadonlySet<string>
  readonly #allowIfNoAcl: boolean
  readonly #shared: boolean
  readonly #log: Log
  #acls: AclBinding[] = []
  /** ACLs by resource type. */
  #byType = new Map<number, AclBinding[]>()
  /** Decisions by principal, host, resource type and operation, and resource name. */
  #cache = new Map<string, Map<string, Map<number, Map<string, boolean>>>>()

  constructor(options: AuthorizerOptions) {
    const className = options.props['authorizer.class.name'] ?? ''
    this.enabled = STANDARD_AUTHORIZERS.includes(className)
    this.#store = new AclStore(options.kv)
    this.#superUsers = new Set(
      (options.props['super.users'] ?? '')
        .split(';')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    this.#allowIfNoAcl = options.props['allow.everyone.if.no.acl.found'] === 'true'
    this.#shared = options.shared
    this.#log = options.log
  }

  /** Reads the stored ACLs; over shared storage, starts watching for other brokers' changes. */
  async load(): Promise<void> {
    if (!this.enabled) return
    await this.#reload()
    if (!this.#shared) return
    this.#store.changes.watch(() => this.#reload(), this.#log, 'ACLs')
  }

  close(): void {
    this.#store.changes.stop()
  }

  /** Every ACL. */
  get acls(): readonly AclBinding[] {
    return this.#acls
  }

  /** Stores new ACLs and drops others in one step; applies here at once. */
  async change(add: readonly AclBinding[], remove: readonly AclBinding[]): Promise<void> {
    await this.#store.write(add, remove)
    await this.#reload()
  }

  /** Whether the requester may perform `operation` on the named resource. */
  authorize(who: Requester, operation: number, resourceType: number, name: string): boolean {
    if (!this.enabled) return true
    // Nested maps, not a joined key: a hit allocates nothing (this runs per partition of every produce and fetch).
    let byHost = this.#cache.get(who.principal)
    if (byHost === undefined) {
      byHost = new Map()
      this.#cache.set(who.principal, byHost)
    }
    let byAction = byHost.get(who.host)
    if (byAction === undefined) {
      byAction = new Map()
      byHost.set(who.host, byAction)
    }
    const action = resourceType * 64 + operation
    let byName = byAction.get(action)
    if (byName === undefined) {
      byName = new Map()
      byAction.set(action, byName)
    }
    let allowed = byName.get(name)
    if (allowed === undefined) {
      allowed = this.#decide(who, operation, resourceType, name)
      if (byName.size >= MAX_CACHED) byName.clear()
      byName.set(name, allowed)
    }
    return allowed
  }

  /**
   * Whether the requester may perform `operation` on some resource of the type (Kafka's
   * authorizeByResourceType: an idempotent producer needs WRITE on at least one topic): an
   * ALLOW on a name or prefix that no DENY on the same name or a shorter prefix takes back.
   */
  authorizeAny(who: Requester, operation: number, resourceType: number): boolean {
    if (!this.enabled) return true
    // A made-up name: super users, and the no-ACL rule when no ACL covers it.
    if (this.authorize(who, operation, resourceType, '\u0000any')) return true
    const allows: AclBinding[] = []
    const literalDenies = new Set<string>()
    const prefixDenies = new Set<string>()
    for (const acl of this.#byType.get(resourceType) ?? []) {
      if (!this.#appliesTo(acl, who)) continue
      if (acl.operation !== operation && acl.operation !== AclOperation.ALL) continue
      if (acl.permissionType === PermissionType.DENY) {
        if (acl.patternType === PatternType.LITERAL && acl.resourceName === WILDCARD) return false
        ;(acl.patternType === PatternType.LITERAL ? literalDenies : prefixDenies).add(acl.resourceName)
      } else allows.push(acl)
    }
    if (allows.some((a) => a.patternType === PatternType.LITERAL && a.resourceName === WILDCARD)) return true
    return allows.some((a) => {
      if (a.patternType === PatternType.LITERAL && literalDenies.has(a.resourceName)) return false
      for (let i = 1; i <= a.resourceName.length; i++) if (prefixDenies.has(a.resourceName.slice(0, i))) return false
      return true
    })
  }

  #decide(who: Requester, operation: number, resourceType: number, name: string): boolean {
    if (this.#superUsers.has(who.principal)) return true
    let anyOnResource = false
    let allowed = false
    for (const acl of this.#byType.get(resourceType) ?? []) {
      if (!patternCovers(acl, resourceType, name)) continue
      anyOnResource = true
      if (!this.#appliesTo(acl, who) || !operationApplies(acl, operation)) continue
      if (acl.permissionType === PermissionType.DENY) return false
      allowed = true
    }
    return allowed || (!anyOnResource && this.#allowIfNoAcl)
  }

  #appliesTo(acl: AclBinding, who: Requester): boolean {
    return (
      (acl.principal === who.principal || acl.principal === WILDCARD_PRINCIPAL) &&
      (acl.host === WILDCARD || acl.host === who.host)
    )
  }

  async #reload(): Promise<void> {
    const acls = await this.#store.changes.read(() => this.#store.list())
    // Deterministic order for DescribeAcls.
    acls.sort((a, b) => (aclKey(a) < aclKey(b) ? -1 : 1))
    const byType = new Map<number, AclBinding[]>()
    for (const acl of acls) byType.set(acl.resourceType, [...(byType.get(acl.resourceType) ?? []), acl])
    this.#acls = acls
    this.#byType = byType
    this.#cache = new Map()
  }
}
