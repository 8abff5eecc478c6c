/**
 * The config-changing core shared by AlterConfigs (which replaces a resource's whole set of
 * overrides) and IncrementalAlterConfigs (SET, DELETE, APPEND, SUBTRACT per key), following
 * Kafka's ConfigAdminManager and the KRaft controller's ConfigurationControlManager: the same
 * checks in the same order, the same error codes and messages in their spirit.
 * Resources: TOPIC (overrides stored with the topic), BROKER (dynamic broker configs, this node
 * or the cluster defaults), CLIENT_METRICS (telemetry subscriptions, KIP-714), GROUP (share group
 * configs, KIP-932) and, incrementally only, BROKER_LOGGER (the root log level).
 */
import { BROKER_CONFIG_BY_NAME } from '../config/broker-configs.ts'
import { type ConfigDefinition, TOPIC_CONFIG_BY_NAME, validateConfigValue } from '../config/topic-configs.ts'
import { GROUP_CONFIG_BY_NAME, groupConfigProblem } from '../coordinator/share/share-configs.ts'
import { ErrorCode } from '../protocol/error-codes.ts'
import { AclOperation } from './acls/acl-model.ts'
import { clusterAuthorized, groupAuthorized, topicAuthorized } from './authorize.ts'
import type { BrokerCore } from './broker-core.ts'
import { DYNAMIC_BROKER_CONFIGS, invalidTopicConfigs } from './config-describe.ts'
import type { RequestContext } from './context.ts'
import { dynamicLayer, replaceDynamicLayer } from './dynamic-configs.ts'
import { CLIENT_METRICS_CONFIG_BY_NAME, subscriptionProblem } from './telemetry/subscriptions.ts'
import { invalidTopicName } from './topics.ts'

/** Kafka's ConfigResource.Type ids. */
export const ConfigResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8, CLIENT_METRICS: 16, GROUP: 32 } as const

/** Kafka's AlterConfigOp.OpType ids. */
export const AlterConfigOp = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const
const OP_NAMES = ['SET', 'DELETE', 'APPEND', 'SUBTRACT']

export interface ConfigChange {
  name: string
  /** An AlterConfigOp; always SET for AlterConfigs. */
  op: number
  value: string | null
}

export interface ConfigResourceChange {
  resourceType: number
  resourceName: string
  changes: ConfigChange[]
}

/** One resource's outcome, in the shape of both AlterConfigs responses. */
export interface AlterResult {
  resourceType: number
  resourceName: string
  errorCode: number
  errorMessage: string | null
}

/** Every resource answered with the same error (for a handler's errorResponse). */
export function failedResources(
  resources: { resourceType: number; resourceName: string }[],
  errorCode: number,
): AlterResult[] {
  return resources.map((r) => ({
    resourceType: r.resourceType,
    resourceName: r.resourceName,
    errorCode,
    errorMessage: null,
  }))
}

/**
 * Kafka's check of a config resource: the operation (DESCRIBE_CONFIGS or ALTER_CONFIGS) on the
 * topic, the group, or (brokers, loggers, client-metrics subscriptions) the cluster; NONE or the
 * authorization error of that resource type.
 */
export function configRefusal(ctx: RequestContext, operation: ConfigOperation, type: number, name: string): number {
  switch (type) {
    case ConfigResourceType.TOPIC:
      return topicAuthorized(ctx, operation, name) ? ErrorCode.NONE : ErrorCode.TOPIC_AUTHORIZATION_FAILED
    case ConfigResourceType.GROUP:
      return groupAuthorized(ctx, operation, name) ? ErrorCode.NONE : ErrorCode.GROUP_AUTHORIZATION_FAILED
    default:
      return clusterAuthorized(ctx, operation) ? ErrorCode.NONE : ErrorCode.CLUSTER_AUTHORIZATION_FAILED
  }
}

type ConfigOperation = typeof AclOperation.DESCRIBE_CONFIGS | typeof AclOperation.ALTER_CONFIGS

/** 'replace' for AlterConfigs (unlisted keys are removed), 'incremental' for IncrementalAlterConfigs. */
export type AlterMode = 'replace' | 'incremental'

/** A failed check; thrown inside this module only and turned into the resource's result. */
class Rejected extends Error {
  readonly errorCode: number
  constructor(errorCode: number, message: string) {
    super(message)
    this.errorCode = errorCode
  }
}

const reject = (errorCode: number, message: string): never => {
  throw new Rejected(errorCode, message)
}

/** Checks and applies each resource in order; returns one result per resource, in request order. */
export async function alterConfigResources(
  ctx: RequestContext,
  resources: ConfigResourceChange[],
  mode: AlterMode,
  validateOnly: boolean,
): Promise<AlterResult[]> {
  const key = (r: ConfigResourceChange): string => `${r.resourceType}:${r.resourceName}`
  const seen = new Map<string, number>()
  for (const r of resources) seen.set(key(r), (seen.get(key(r)) ?? 0) + 1)
  const core = ctx.broker
  const results: AlterResult[] = []
  for (const r of resources) {
    const result = { resourceType: r.resourceType, resourceName: r.resourceName }
    const refused = configRefusal(ctx, AclOperation.ALTER_CONFIGS, r.resourceType, r.resourceName)
    if (refused !== ErrorCode.NONE) {
      results.push({ ...result, errorCode: refused, errorMessage: null })
      continue
    }
    if ((seen.get(key(r)) ?? 0) > 1) {
      results.push({
        ...result,
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: 'Each resource must appear at most once.',
      })
      continue
    }
    try {
      await alterResource(core, r, mode, validateOnly)
      results.push({ ...result, errorCode: ErrorCode.NONE, errorMessage: null })
    } catch (err) {
      if (!(err instanceof Rejected)) throw err
      results.push({ ...result, errorCode: err.errorCode, errorMessage: err.message })
    }
  }
  return results
}

async function alterResource(
  core: BrokerCore,
  r: ConfigResourceChange,
  mode: AlterMode,
  validateOnly: boolean,
): Promise<void> {
  const names = r.changes.map((c) => c.name)
  if (new Set(names).size !== names.length) reject(ErrorCode.INVALID_REQUEST, 'Error due to duplicate config keys')
  const nulls = r.changes.filter((c) => c.value === null && (mode === 'replace' || c.op !== AlterConfigOp.DELETE))
  if (nulls.length > 0) {
    reject(ErrorCode.INVALID_REQUEST, `Null value not supported for : ${nulls.map((c) => c.name).join(', ')}`)
  }
  switch (r.resourceType) {
    case ConfigResourceType.TOPIC:
      return alterTopic(core, r, mode, validateOnly)
    case ConfigResourceType.BROKER:
      return alterBroker(core, r, mode, validateOnly)
    case ConfigResourceType.CLIENT_METRICS:
      return alterClientMetrics(core, r, mode, validateOnly)
    case ConfigResourceType.GROUP:
      return alterGroup(core, r, mode, validateOnly)
    case ConfigResourceType.BROKER_LOGGER:
      if (mode === 'incremental') return alterLogger(core, r, validateOnly)
  }
  reject(ErrorCode.INVALID_REQUEST, `Unknown resource type ${r.resourceType}`)
}

async function alterTopic(
  core: BrokerCore,
  r: ConfigResourceChange,
  mode: AlterMode,
  validateOnly: boolean,
): Promise<void> {
  const name = r.resourceName
  if (name === '') reject(ErrorCode.INVALID_REQUEST, 'Default topic resources are not allowed.')
  const badName = invalidTopicName(name)
  if (badName) reject(ErrorCode.INVALID_TOPIC_EXCEPTION, badName)
  const topic = core.topics.get(name)
  const next = applyChanges(mode === 'replace' ? {} : { ...topic?.configs }, r.changes, (key, op) => {
    const def = TOPIC_CONFIG_BY_NAME.get(key)
    if (def?.type !== 'LIST')
      reject(ErrorCode.INVALID_CONFIG, `Can't ${op} to key ${key} because its type is not LIST.`)
    return def as ConfigDefinition
  })
  const bad = invalidTopicConfigs(Object.entries(next).map(([n, value]) => ({ name: n, value })))
  if (bad) reject(ErrorCode.INVALID_CONFIG, bad)
  // As in Kafka, the values are checked before the topic's existence.
  if (!topic) reject(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${name}' does not exist.`)
  if (validateOnly) return
  await core.topics.setConfigs(name, next)
  core.log.info({ topic: name, configs: next }, 'topic configs changed')
}

async function alterBroker(
  core: BrokerCore,
  r: ConfigResourceChange,
  mode: AlterMode,
  validateOnly: boolean,
): Promise<void> {
  const perBroker = r.resourceName !== ''
  if (perBroker) checkNodeId(core, r.resourceName, `Unexpected broker id, expected ${core.nodeId}, but received`)
  const next = applyChanges(mode === 'replace' ? {} : dynamicLayer(core, perBroker), r.changes, (key, op) => {
    const def = BROKER_CONFIG_BY_NAME.get(key)
    if (!def) reject(ErrorCode.INVALID_CONFIG, `Unknown config name: ${key}`)
    if (def?.type !== 'LIST') {
      reject(ErrorCode.INVALID_CONFIG, `Config value ${op.toLowerCase()} is not allowed for config key: ${key}`)
    }
    return def as ConfigDefinition
  })
  // Kafka answers INVALID_REQUEST (not INVALID_CONFIG) for broker configs it cannot apply (KAFKA-13609).
  const fixed = Object.keys(next).filter((n) => !DYNAMIC_BROKER_CONFIGS.has(n))
  if (fixed.length > 0)
    reject(ErrorCode.INVALID_REQUEST, `Cannot update these configs dynamically: ${fixed.join(', ')}`)
  for (const [n, value] of Object.entries(next)) {
    const why = validateConfigValue(BROKER_CONFIG_BY_NAME.get(n) as ConfigDefinition, value)
    if (why) reject(ErrorCode.INVALID_REQUEST, `Invalid value ${value} for configuration ${n}: ${why}`)
  }
  if (!validateOnly) await replaceDynamicLayer(core, perBroker, next)
}

/** A subscription's configs, checked as Kafka's ClientMetricsConfigs.validate; none left deletes it. */
async function alterClientMetrics(
  core: BrokerCore,
  r: ConfigResourceChange,
  mode: AlterMode,
  validateOnly: boolean,
): Promise<void> {
  const name = r.resourceName
  if (name === '') reject(ErrorCode.INVALID_REQUEST, "Subscription name can't be empty")
  await core.clientMetrics.refresh()
  const next = applyChanges(mode === 'replace' ? {} : core.clientMetrics.configs(name), r.changes, (key, op) => {
    const def = CLIENT_METRICS_CONFIG_BY_NAME.get(key)
    if (!def) reject(ErrorCode.INVALID_REQUEST, `Unknown client metrics configuration: ${key}`)
    if (def?.type !== 'LIST')
      reject(ErrorCode.INVALID_CONFIG, `Can't ${op} to key ${key} because its type is not LIST.`)
    return def as ConfigDefinition
  })
  const problem = subscriptionProblem(name, next)
  if (problem)
    reject(problem.kind === 'request' ? ErrorCode.INVALID_REQUEST : ErrorCode.INVALID_CONFIG, problem.message)
  if (validateOnly) return
  await core.clientMetrics.set(name, next)
  core.log.info({ subscription: name, configs: next }, 'client metrics subscription changed')
}

/** A group's configs (share.*), checked as Kafka's GroupConfig.validate; none left removes them. */
async function alterGroup(
  core: BrokerCore,
  r: ConfigResourceChange,
  mode: AlterMode,
  validateOnly: boolean,
): Promise<void> {
  const groupId = r.resourceName
  if (groupId === '') reject(ErrorCode.INVALID_REQUEST, 'Group name must not be empty')
  await core.groupConfigs.load()
  const next = applyChanges(mode === 'replace' ? {} : { ...core.groupConfigs.get(groupId) }, r.changes, (key, op) => {
    const def = GROUP_CONFIG_BY_NAME.get(key)
    if (!def) reject(ErrorCode.INVALID_CONFIG, `Unknown group config name: ${key}`)
    reject(ErrorCode.INVALID_CONFIG, `Can't ${op} to key ${key} because its type is not LIST.`)
    return def as ConfigDefinition
  })
  for (const [name, value] of Object.entries(next)) {
    const problem = groupConfigProblem(name, value, (n) => core.prop(n))
    if (problem) reject(ErrorCode.INVALID_CONFIG, problem)
  }
  if (validateOnly) return
  await core.groupConfigs.set(groupId, next)
  core.log.info({ groupId, configs: next }, 'group configs changed')
}

const LOG_LEVELS = ['FATAL', 'ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE']

/** KIP-412 log levels: samsa has one logger, "root", whose level is the pino level. Not persisted. */
function alterLogger(core: BrokerCore, r: ConfigResourceChange, validateOnly: boolean): void {
  checkNodeId(core, r.resourceName, `Unexpected node id. Expected ${core.nodeId}, but received`)
  for (const c of r.changes) {
    const op = OP_NAMES[c.op]
    if (op === 'APPEND' || op === 'SUBTRACT') {
      reject(ErrorCode.INVALID_REQUEST, `${op} operation is not allowed for the BROKER_LOGGER resource`)
    }
    if (op === undefined) {
      reject(ErrorCode.INVALID_REQUEST, `Unknown operation type ${c.op} is not allowed for the BROKER_LOGGER resource`)
    }
    if (c.name !== 'root') reject(ErrorCode.INVALID_CONFIG, `Logger ${c.name} does not exist!`)
    if (op === 'DELETE') reject(ErrorCode.INVALID_REQUEST, 'Removing the log level of the root logger is not allowed')
    if (!LOG_LEVELS.includes(c.value ?? '')) {
      reject(
        ErrorCode.INVALID_CONFIG,
        `Cannot set the log level of ${c.name} to ${c.value} as it is not a supported log level. Valid log levels are ${LOG_LEVELS.join(', ')}`,
      )
    }
  }
  if (validateOnly) return
  for (const c of r.changes) {
    core.log.level = (c.value as string).toLowerCase()
    core.log.warn(`Updated the log level of root to ${c.value}`)
  }
}

/** The brokers of a multi-broker view share one configuration, so any of their ids names it. */
function checkNodeId(core: BrokerCore, name: string, mismatch: string): void {
  if (!/^-?\d+$/.test(name)) reject(ErrorCode.INVALID_REQUEST, `Node id must be an integer, but it is: ${name}`)
  if (core.cluster.node(Number(name)) === undefined) reject(ErrorCode.INVALID_REQUEST, `${mismatch} ${name}`)
}

/**
 * Applies the changes to a copy of the current values. `listDef` returns the definition of a
 * LIST config for APPEND and SUBTRACT (or rejects); its default seeds an unset list.
 */
function applyChanges(
  base: Record<string, string>,
  changes: ConfigChange[],
  listDef: (name: string, op: string) => ConfigDefinition,
): Record<string, string> {
  const out = base
  for (const c of changes) {
    switch (c.op) {
      case AlterConfigOp.SET:
        out[c.name] = c.value as string
        break
      case AlterConfigOp.DELETE:
        delete out[c.name]
        break
      case AlterConfigOp.APPEND:
      case AlterConfigOp.SUBTRACT: {
        const def = listDef(c.name, OP_NAMES[c.op] as string)
        const parts = (out[c.name] ?? def.default).split(',').filter((p) => p !== '')
        for (const v of (c.value as string).split(',')) {
          const at = parts.indexOf(v)
          if (c.op === AlterConfigOp.APPEND && at < 0) parts.push(v)
          if (c.op === AlterConfigOp.SUBTRACT && at >= 0) parts.splice(at, 1)
        }
        out[c.name] = parts.join(',')
        break
      }
      default:
        reject(ErrorCode.INVALID_REQUEST, `Unknown operations type ${c.op}`)
    }
  }
  return out
}
