/**
 * Fault injection for the test broker, as one dispatch hook: rules are checked in the order they
 * were added, the first matching rule with uses left decides what happens to a request, and a
 * request no rule takes goes to its handler. Rules answer errors without applying the request
 * (or only the items of one topic or partition, item-errors.ts), delay responses, close the
 * connection before or after applying, or hand the request to a callback that can inspect,
 * change or answer it.
 */
import type { Broker } from '../broker/broker.ts'
import type { BrokerCore } from '../broker/broker-core.ts'
import { CLOSE_CONNECTION, type DispatchCall } from '../broker/dispatch.ts'
import { ErrorCode } from '../protocol/error-codes.ts'
import { ApiKey } from '../protocol/generated/api-keys.ts'
import { failItems } from './item-errors.ts'
import { covers, type RequestTarget, targetsOf } from './request-items.ts'

export type { RequestTarget } from './request-items.ts'

/** An API by name (`'Produce'`, `'JoinGroup'`...) or key; `'*'` is every API. */
export type ApiSelector = keyof typeof ApiKey | number | '*'

/** A Kafka error by name (`'NOT_LEADER_OR_FOLLOWER'`) or code. */
export type ErrorSelector = keyof typeof ErrorCode | number

/** Which requests a rule takes, besides its API; every field given must match. */
export interface RequestMatch {
  /** The request was sent to this broker (node id) of a multi-broker view. */
  nodeId?: number
  /** The request names this topic (any of its items). */
  topic?: string
  /** With `topic`: the request names this partition of it. */
  partition?: number
  /** The client.id of the request header. */
  clientId?: string
  /** The request's group id (JoinGroup, Heartbeat, OffsetCommit...). */
  groupId?: string
  /** Any other condition. */
  match?: (request: InterceptedRequest) => boolean
}

export interface RuleOptions extends RequestMatch {
  /** How many requests the rule takes before it retires. */
  count?: number
}

/** A request a rule or interceptor sees. */
export interface InterceptedRequest {
  readonly apiKey: number
  readonly apiName: string
  readonly apiVersion: number
  readonly correlationId: number
  readonly clientId: string | null
  /** The node id of the broker the request was sent to. */
  readonly nodeId: number
  /** The decoded request (the generated request type of its API); may be changed before next(). */
  readonly request: unknown
  /** The topics and partitions the request names. */
  readonly targets: readonly RequestTarget[]
  /** Runs the real handler, on `request` if given; resolves its response (null when none is owed). */
  next(request?: unknown): Promise<unknown>
  /**
   * The answer with every item failing with `error`, the request not applied; with `items`, only
   * the items of that topic (or partition) fail and the rest of the request is served.
   */
  errorResponse(error: ErrorSelector, items?: RequestTarget): Promise<unknown>
}

/**
 * What an interceptor returns: a response object to send, `null` to send nothing,
 * `closeConnection` to close the connection, or undefined to let the request through as it is now.
 */
export type Interceptor = (request: InterceptedRequest) => unknown

/** Return this from an interceptor to close the client's connection instead of answering. */
export const closeConnection: typeof CLOSE_CONNECTION = CLOSE_CONNECTION

/** A rule once added: how often it fired, and a way to take it back. */
export interface Fault {
  /** Requests this rule took so far. */
  readonly hits: number
  /** Uses left (Infinity for rules without a count). */
  readonly remaining: number
  /** Retires the rule. */
  remove(): void
}

interface Rule {
  api: number | undefined
  match: RequestMatch
  remaining: number
  hits: number
  /** Answers the request; `pass` hands it on to the later rules and the handler. */
  act: (call: InterceptedRequest, pass: () => unknown) => unknown
}

const API_NAMES = new Map<number, string>(Object.entries(ApiKey).map(([name, key]) => [key, name]))

/** Turns an API name or key into a key (undefined for '*'). */
export function apiKeyOf(api: ApiSelector): number | undefined {
  if (api === '*') return undefined
  if (typeof api === 'number') return api
  const key = ApiKey[api]
  if (key === undefined) throw new Error(`unknown API "${api}"; use a name such as Produce, Fetch or JoinGroup`)
  return key
}

/** Turns an error name or code into a code. */
export function errorCodeOf(error: ErrorSelector): number {
  if (typeof error === 'number') return error
  const code = ErrorCode[error]
  if (code === undefined) throw new Error(`unknown Kafka error "${error}"; use a name such as NOT_LEADER_OR_FOLLOWER`)
  return code
}

/** Fault injection and interception for one test broker. */
export class Faults {
  readonly #broker: () => Broker | undefined
  #rules: Rule[] = []
  /** `broker` is undefined until the broker this hook serves has started. */
  constructor(broker: () => Broker | undefined) {
    this.#broker = broker
  }

  /**
   * Answers the next `count` (default 1) matching requests of `api` with `error`, as if the
   * broker had refused: on every item, the request not applied, or, when `topic` is given, on
   * that topic's items (that partition's with `partition`) alone, the rest of the request served.
   */
  failNext(api: ApiSelector, error: ErrorSelector, options: RuleOptions = {}): Fault {
    const code = errorCodeOf(error)
    const { topic, partition } = options
    const items = topic === undefined ? undefined : { topic, partition }
    return this.#add(api, options, 1, (call) => call.errorResponse(code, items))
  }

  /** Applies matching requests, then holds each response back `ms` milliseconds (all of them unless `count`). */
  delay(api: ApiSelector, ms: number, options: RuleOptions = {}): Fault {
    return this.#add(api, options, Number.POSITIVE_INFINITY, async (call) => {
      const response = await call.next()
      await new Promise((resolve) => setTimeout(resolve, ms))
      return response
    })
  }

  /**
   * Applies the next `count` (default 1) matching requests, then closes the connection instead of
   * answering: the client cannot know the request succeeded and retries it (idempotence tests).
   */
  dropResponse(api: ApiSelector, options: RuleOptions = {}): Fault {
    return this.#add(api, options, 1, async (call) => {
      await call.next()
      return CLOSE_CONNECTION
    })
  }

  /** Closes the connection on the next `count` (default 1) matching requests, without applying them. */
  dropRequest(api: ApiSelector, options: RuleOptions = {}): Fault {
    return this.#add(api, options, 1, () => CLOSE_CONNECTION)
  }

  /**
   * Hands matching requests (all of them unless `count`) to `interceptor`, which may inspect,
   * change or answer them; see Interceptor for what it returns.
   */
  intercept(api: ApiSelector, interceptor: Interceptor, options: RuleOptions = {}): Fault {
    return this.#add(api, options, Number.POSITIVE_INFINITY, async (call, pass) => {
      const answer = await interceptor(call)
      return answer === undefined ? pass() : answer
    })
  }

  /** Retires every rule. */
  clear(): void {
    this.#rules = []
  }

  /** False while the broker (or any broker of a multi-broker view) plays dead. */
  get available(): boolean {
    const cluster = this.#broker()?.core.cluster
    return cluster === undefined || cluster.liveNodes.length === cluster.nodes.length
  }

  /**
   * Makes the broker (every broker, unless `nodeId`) unavailable until setAvailable(true), as a
   * crashed broker: its port closes, so that connecting is refused, and open connections are
   * reset; no request is answered from the moment of the call. Partition leadership and group and
   * transaction coordination move to the live brokers, as in a replicated cluster, and come back
   * with the broker. Resolves once the port is closed (or listening again).
   */
  async setAvailable(available: boolean, options: { nodeId?: number } = {}): Promise<void> {
    const broker = this.#broker()
    if (broker === undefined) throw new Error('setAvailable: the broker has not started')
    const cluster = broker.core.cluster
    const nodeIds = options.nodeId === undefined ? cluster.nodes.map((n) => n.nodeId) : [options.nodeId]
    for (const nodeId of nodeIds) cluster.setLive(nodeId, available)
    await Promise.all(nodeIds.map((nodeId) => broker.setListening(nodeId, available)))
  }

  #add(api: ApiSelector, options: RuleOptions, defaultCount: number, act: Rule['act']): Fault {
    const { count, ...match } = options
    const remaining = count ?? defaultCount
    if (!(remaining > 0)) throw new RangeError(`count must be positive, got ${count}`)
    if (match.partition !== undefined && match.topic === undefined) {
      throw new Error('a fault on a partition needs the topic as well')
    }
    const rule: Rule = { api: apiKeyOf(api), match, remaining, hits: 0, act }
    this.#rules.push(rule)
    return {
      get hits() {
        return rule.hits
      },
      get remaining() {
        return rule.remaining
      },
      remove: () => {
        this.#rules = this.#rules.filter((r) => r !== rule)
      },
    }
  }

  /**
   * The dispatch hook: the first matching rule with uses left answers; an interceptor that lets
   * the request through hands it to the next matching rule; the handler answers what is left.
   */
  readonly hook = (call: DispatchCall): unknown => {
    // Requests already read when the port closes go unanswered too.
    if (!call.ctx.broker.cluster.isLive(call.ctx.nodeId)) return CLOSE_CONNECTION
    if (this.#rules.length === 0) return call.next()
    return this.#apply(intercepted(call, this.#broker()?.core), [...this.#rules])
  }

  #apply(req: InterceptedRequest, rules: Rule[]): unknown {
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as Rule
      if (rule.remaining <= 0 || (rule.api !== undefined && rule.api !== req.apiKey)) continue
      if (!matches(rule.match, req)) continue
      rule.remaining--
      rule.hits++
      if (rule.remaining <= 0) this.#rules = this.#rules.filter((r) => r !== rule)
      const rest = rules.slice(i + 1)
      return rule.act(req, () => this.#apply(req, rest))
    }
    return req.next()
  }
}

function matches(m: RequestMatch, req: InterceptedRequest): boolean {
  if (m.nodeId !== undefined && req.nodeId !== m.nodeId) return false
  if (m.clientId !== undefined && req.clientId !== m.clientId) return false
  if (m.groupId !== undefined && groupIdOf(req.request) !== m.groupId) return false
  if (m.topic !== undefined) {
    const target = { topic: m.topic, partition: m.partition }
    if (!req.targets.some((t) => covers(target, t.topic, t.partition))) return false
  }
  return m.match === undefined || m.match(req)
}

function groupIdOf(request: unknown): string | undefined {
  const r = request as { groupId?: unknown }
  return typeof r?.groupId === 'string' ? r.groupId : undefined
}

function intercepted(call: DispatchCall, core: BrokerCore | undefined): InterceptedRequest {
  let targets: RequestTarget[] | undefined
  return {
    apiKey: call.apiKey,
    apiName: API_NAMES.get(call.apiKey) ?? String(call.apiKey),
    apiVersion: call.apiVersion,
    correlationId: call.correlationId,
    clientId: call.clientId,
    nodeId: call.ctx.nodeId,
    request: call.request,
    get targets() {
      targets ??= targetsOf(call.request, core)
      return targets
    },
    next: (request) => call.next(request),
    errorResponse(error, items) {
      const code = errorCodeOf(error)
      const failWhole = async (): Promise<unknown> => {
        // acks=0 producers read no response; answering anyway would desynchronize them.
        if (call.apiKey === ApiKey.Produce && (call.request as { acks?: number }).acks === 0) return null
        const response = call.errorResponse(code)
        if (response !== undefined) return response
        // Metadata and ApiVersions have no error answer of their own: run them (they change
        // nothing) and mark every item.
        const ran = await call.next()
        setErrorCodes(ran, code)
        return ran
      }
      return items === undefined ? failWhole() : failItems(call, items, code, core, failWhole)
    },
  }
}

function setErrorCodes(node: unknown, code: number): void {
  if (node === null || typeof node !== 'object' || Buffer.isBuffer(node)) return
  const o = node as Record<string, unknown>
  for (const [key, value] of Object.entries(o)) {
    if (key === 'errorCode' && typeof value === 'number') o[key] = code
    else if (Array.isArray(value)) for (const item of value) setErrorCodes(item, code)
    else if (typeof value === 'object') setErrorCodes(value, code)
  }
}
