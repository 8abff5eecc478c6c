/**
 * Dynamic broker configs (KIP-226): set at run time through AlterConfigs and
 * IncrementalAlterConfigs, kept in the storage's durable key-value store and applied again at
 * start. Two layers, as in Kafka: the cluster-wide defaults (resource name "") and this broker's
 * own values (resource name = node id), which win.
 */
import { BROKER_CONFIG_BY_NAME } from '../config/broker-configs.ts'
import { validateConfigValue } from '../config/topic-configs.ts'
import type { BrokerCore } from './broker-core.ts'
import { DYNAMIC_BROKER_CONFIGS } from './config-describe.ts'

const NAMESPACE = 'broker-configs'
const DEFAULT_KEY = 'cluster-default'
const brokerKey = (nodeId: number): string => `broker-${nodeId}`

/** Reads both layers from storage and applies them; invalid stored entries are dropped with a warning. */
export async function loadDynamicConfigs(core: BrokerCore): Promise<void> {
  const read = async (key: string): Promise<Record<string, string>> => {
    const raw = await core.storage.kv.get(NAMESPACE, key)
    if (raw === undefined) return {}
    const out: Record<string, string> = {}
    for (const [name, value] of Object.entries(JSON.parse(raw.toString('utf8')) as Record<string, unknown>)) {
      const def = BROKER_CONFIG_BY_NAME.get(name)
      const why =
        typeof value !== 'string' || !def || !DYNAMIC_BROKER_CONFIGS.has(name)
          ? 'not a dynamic config'
          : validateConfigValue(def, value)
      if (why) core.log.warn({ name, value, layer: key }, `ignoring stored dynamic broker config: ${why}`)
      else out[name] = value as string
    }
    return out
  }
  const defaults = await read(DEFAULT_KEY)
  const perBroker = await read(brokerKey(core.nodeId))
  if (Object.keys(defaults).length > 0 || Object.keys(perBroker).length > 0) core.setDynamicLayers(defaults, perBroker)
}

/** The current configs of one layer. */
export function dynamicLayer(core: BrokerCore, perBroker: boolean): Record<string, string> {
  return { ...(perBroker ? core.dynamicBrokerProps : core.dynamicDefaultProps) }
}

/** Replaces one layer: persists it, then applies it to the running broker. */
export async function replaceDynamicLayer(
  core: BrokerCore,
  perBroker: boolean,
  configs: Record<string, string>,
): Promise<void> {
  const key = perBroker ? brokerKey(core.nodeId) : DEFAULT_KEY
  const value = Object.keys(configs).length === 0 ? null : Buffer.from(JSON.stringify(configs))
  await core.storage.kv.put(NAMESPACE, new Map([[key, value]]))
  if (perBroker) core.setDynamicLayers({ ...core.dynamicDefaultProps }, configs)
  else core.setDynamicLayers(configs, { ...core.dynamicBrokerProps })
  core.log.info({ layer: key, configs }, 'dynamic broker configs changed')
}
