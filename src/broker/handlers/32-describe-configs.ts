// DescribeConfigs: v0-4
// TOPIC: every topic config with its effective value and source (topic override, dynamic broker
// config of this node or of the cluster, static broker config, default). BROKER named by this
// node id: every broker config (readOnly unless it can change at run time); BROKER with an empty
// name: only the dynamic cluster-wide defaults that are set. BROKER_LOGGER: the "root" logger.
// CLIENT_METRICS: a telemetry subscription's metrics, interval.ms and match, set or default.
// configuration_keys null or empty lists everything; unknown keys are left out. Synonyms only
// when include_synonyms, documentation only when include_documentation.
// Errors: unknown topic UNKNOWN_TOPIC_OR_PARTITION, bad topic name INVALID_TOPIC_EXCEPTION,
// another broker id, an empty subscription name or an unknown resource type INVALID_REQUEST,
// all per resource.
// Version notes: v0 reports is_default instead of a source; v1+ sources and synonyms; v3+
// documentation and config types; v4 is flexible.
// Gaps: GROUP resources answer INVALID_REQUEST.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createDescribeConfigsResourceResult,
  createDescribeConfigsResponse,
  createDescribeConfigsResult,
  type DescribeConfigsRequest,
  type DescribeConfigsResource,
  type DescribeConfigsResourceResult,
  type DescribeConfigsResponse,
  type DescribeConfigsResult,
} from '../../protocol/generated/describe-configs.ts'
import { AclOperation } from '../acls/acl-model.ts'
import type { BrokerCore } from '../broker-core.ts'
import { ConfigResourceType, configRefusal } from '../config-alter.ts'
import {
  ConfigSource,
  type DescribedConfig,
  describeBrokerConfigs,
  describeClientMetricsConfigs,
  describeGroupConfigs,
  describeTopicConfigs,
} from '../config-describe.ts'
import { defineHandler } from '../handler.ts'
import { invalidTopicName } from '../topics.ts'

/** Kafka's DescribeConfigsResponse.ConfigType ids. */
const CONFIG_TYPE: Readonly<Record<string, number>> = {
  BOOLEAN: 1,
  STRING: 2,
  INT: 3,
  SHORT: 4,
  LONG: 5,
  DOUBLE: 6,
  LIST: 7,
  CLASS: 8,
  PASSWORD: 9,
}

interface Options {
  synonyms: boolean
  documentation: boolean
}

export default defineHandler<DescribeConfigsRequest, DescribeConfigsResponse>({
  api,
  minVersion: 0,
  maxVersion: 4,
  async handle(ctx, req) {
    if (req.resources.some((r) => r.resourceType === ConfigResourceType.CLIENT_METRICS)) {
      await ctx.broker.clientMetrics.refresh()
    }
    if (req.resources.some((r) => r.resourceType === ConfigResourceType.GROUP)) await ctx.broker.groupConfigs.load()
    const options = { synonyms: req.includeSynonyms, documentation: req.includeDocumentation }
    const results = req.resources.map((r) => {
      const refused = configRefusal(ctx, AclOperation.DESCRIBE_CONFIGS, r.resourceType, r.resourceName)
      return refused === ErrorCode.NONE ? describe(ctx.broker, r, options) : failed(r, refused, null)
    })
    return createDescribeConfigsResponse({ results })
  },
  errorResponse(_ctx, req, errorCode) {
    return createDescribeConfigsResponse({ results: req.resources.map((r) => failed(r, errorCode, null)) })
  },
})

function failed(r: DescribeConfigsResource, errorCode: number, errorMessage: string | null): DescribeConfigsResult {
  return createDescribeConfigsResult({
    resourceType: r.resourceType,
    resourceName: r.resourceName,
    errorCode,
    errorMessage,
  })
}

function describe(core: BrokerCore, r: DescribeConfigsResource, options: Options): DescribeConfigsResult {
  const name = r.resourceName
  let entries: DescribeConfigsResourceResult[]
  switch (r.resourceType) {
    case ConfigResourceType.TOPIC: {
      const badName = invalidTopicName(name)
      if (badName) return failed(r, ErrorCode.INVALID_TOPIC_EXCEPTION, badName)
      const topic = core.topics.get(name)
      if (!topic) return failed(r, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null)
      entries = describeTopicConfigs(core, topic.configs).map((c) => entry(c, options))
      break
    }
    case ConfigResourceType.BROKER: {
      const bad = name === '' ? undefined : wrongBroker(core, name, `expected ${core.nodeId} or empty string,`)
      if (bad) return failed(r, ErrorCode.INVALID_REQUEST, bad)
      entries = describeBrokerConfigs(core, name !== '').map((c) => entry(c, options))
      break
    }
    case ConfigResourceType.BROKER_LOGGER: {
      const bad = name === '' ? 'Broker id must not be empty' : wrongBroker(core, name, `expected ${core.nodeId}`)
      if (bad) return failed(r, ErrorCode.INVALID_REQUEST, bad)
      entries = [rootLogger(core)]
      break
    }
    case ConfigResourceType.CLIENT_METRICS: {
      if (name === '') return failed(r, ErrorCode.INVALID_REQUEST, 'Client metrics subscription name must not be empty')
      entries = describeClientMetricsConfigs(core, name).map((c) => entry(c, options))
      break
    }
    case ConfigResourceType.GROUP: {
      if (name === '') return failed(r, ErrorCode.INVALID_REQUEST, 'Group name must not be empty')
      entries = describeGroupConfigs(core, name).map((c) => entry(c, options))
      break
    }
    default:
      return failed(r, ErrorCode.INVALID_REQUEST, `Unsupported resource type: ${r.resourceType}`)
  }
  const keys = r.configurationKeys
  if (keys !== null && keys.length > 0) entries = entries.filter((e) => keys.includes(e.name))
  return createDescribeConfigsResult({ resourceType: r.resourceType, resourceName: name, configs: entries })
}

/** The brokers of a multi-broker view share one configuration, so any of their ids names it. */
function wrongBroker(core: BrokerCore, name: string, expected: string): string | undefined {
  if (!/^-?\d+$/.test(name)) return `Broker id must be an integer, but it is: ${name}`
  if (core.cluster.node(Number(name)) === undefined) return `Unexpected broker id, ${expected} but received ${name}`
  return undefined
}

function entry(c: DescribedConfig, options: Options): DescribeConfigsResourceResult {
  return createDescribeConfigsResourceResult({
    name: c.name,
    value: c.value,
    readOnly: c.readOnly,
    isDefault: c.source === ConfigSource.DEFAULT_CONFIG,
    configSource: c.source,
    isSensitive: c.isSensitive,
    synonyms: options.synonyms ? c.synonyms.map((s) => ({ name: s.name, value: s.value, source: s.source })) : [],
    configType: CONFIG_TYPE[c.definition.type] ?? 0,
    documentation: options.documentation ? c.definition.doc : null,
  })
}

/** samsa has one logger; its level is reported in log4j's words. */
function rootLogger(core: BrokerCore): DescribeConfigsResourceResult {
  const level = core.log.level === 'silent' ? 'OFF' : core.log.level.toUpperCase()
  return createDescribeConfigsResourceResult({
    name: 'root',
    value: level,
    configSource: ConfigSource.DYNAMIC_BROKER_LOGGER_CONFIG,
    configType: CONFIG_TYPE.STRING,
  })
}
