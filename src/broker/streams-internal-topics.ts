/**
 * The internal topics of streams groups (KIP-1071): the repartition and changelog topics a
 * group's topology needs, created by the broker with the partition counts the coordinator
 * decided and the configs the application sent, as Kafka's broker auto-creates them on a
 * heartbeat's behalf. A topic that cannot be created is logged; the group keeps reporting
 * MISSING_INTERNAL_TOPICS meanwhile.
 */
import type { InternalTopicToCreate } from '../coordinator/streams/topology.ts'
import type { BrokerCore } from './broker-core.ts'
import { invalidTopicConfigs } from './config-describe.ts'
import { invalidTopicName } from './topics.ts'

export function createStreamsInternalTopics(core: BrokerCore, topics: InternalTopicToCreate[]): void {
  for (const t of topics) {
    if (core.topics.get(t.name) !== undefined) continue
    const problem =
      invalidTopicName(t.name) ??
      invalidTopicConfigs(Object.entries(t.configs).map(([name, value]) => ({ name, value }))) ??
      (t.partitions <= 0 ? 'no partition count' : undefined)
    if (problem !== undefined) {
      core.log.warn({ topic: t.name, problem }, 'cannot create streams internal topic')
      continue
    }
    const replicationFactor = Math.min(
      t.replicationFactor > 0 ? t.replicationFactor : core.numberProp('default.replication.factor'),
      core.cluster.nodes.length,
    )
    core.topics
      .create(t.name, t.partitions, t.configs, { replicationFactor })
      .then((created) => {
        if (created) core.log.info({ topic: t.name, partitions: t.partitions }, 'created streams internal topic')
      })
      .catch((err: unknown) => core.log.error({ err, topic: t.name }, 'streams internal topic creation failed'))
  }
}
