import type { AnyHandler } from '../handler.ts'
import produce from './00-produce.ts'
import fetch from './01-fetch.ts'
import listOffsets from './02-list-offsets.ts'
import metadata from './03-metadata.ts'
import offsetCommit from './08-offset-commit.ts'
import offsetFetch from './09-offset-fetch.ts'
import findCoordinator from './10-find-coordinator.ts'
import joinGroup from './11-join-group.ts'
import heartbeat from './12-heartbeat.ts'
import leaveGroup from './13-leave-group.ts'
import syncGroup from './14-sync-group.ts'
import describeGroups from './15-describe-groups.ts'
import listGroups from './16-list-groups.ts'
import saslHandshake from './17-sasl-handshake.ts'
import apiVersions from './18-api-versions.ts'
import createTopics from './19-create-topics.ts'
import deleteTopics from './20-delete-topics.ts'
import deleteRecords from './21-delete-records.ts'
import initProducerId from './22-init-producer-id.ts'
import offsetForLeaderEpoch from './23-offset-for-leader-epoch.ts'
import addPartitionsToTxn from './24-add-partitions-to-txn.ts'
import addOffsetsToTxn from './25-add-offsets-to-txn.ts'
import endTxn from './26-end-txn.ts'
import writeTxnMarkers from './27-write-txn-markers.ts'
import txnOffsetCommit from './28-txn-offset-commit.ts'
import describeAcls from './29-describe-acls.ts'
import createAcls from './30-create-acls.ts'
import deleteAcls from './31-delete-acls.ts'
import describeConfigs from './32-describe-configs.ts'
import alterConfigs from './33-alter-configs.ts'
import alterReplicaLogDirs from './34-alter-replica-log-dirs.ts'
import describeLogDirs from './35-describe-log-dirs.ts'
import saslAuthenticate from './36-sasl-authenticate.ts'
import createPartitions from './37-create-partitions.ts'
import createDelegationToken from './38-create-delegation-token.ts'
import renewDelegationToken from './39-renew-delegation-token.ts'
import expireDelegationToken from './40-expire-delegation-token.ts'
import describeDelegationToken from './41-describe-delegation-token.ts'
import deleteGroups from './42-delete-groups.ts'
import electLeaders from './43-elect-leaders.ts'
import incrementalAlterConfigs from './44-incremental-alter-configs.ts'
import alterPartitionReassignments from './45-alter-partition-reassignments.ts'
import listPartitionReassignments from './46-list-partition-reassignments.ts'
import offsetDelete from './47-offset-delete.ts'
import describeClientQuotas from './48-describe-client-quotas.ts'
import alterClientQuotas from './49-alter-client-quotas.ts'
import describeUserScramCredentials from './50-describe-user-scram-credentials.ts'
import alterUserScramCredentials from './51-alter-user-scram-credentials.ts'
import describeQuorum from './55-describe-quorum.ts'
import updateFeatures from './57-update-features.ts'
import describeCluster from './60-describe-cluster.ts'
import describeProducers from './61-describe-producers.ts'
import unregisterBroker from './64-unregister-broker.ts'
import describeTransactions from './65-describe-transactions.ts'
import listTransactions from './66-list-transactions.ts'
import consumerGroupHeartbeat from './68-consumer-group-heartbeat.ts'
import consumerGroupDescribe from './69-consumer-group-describe.ts'
import getTelemetrySubscriptions from './71-get-telemetry-subscriptions.ts'
import pushTelemetry from './72-push-telemetry.ts'
import listConfigResources from './74-list-config-resources.ts'
import describeTopicPartitions from './75-describe-topic-partitions.ts'
import shareGroupHeartbeat from './76-share-group-heartbeat.ts'
import shareGroupDescribe from './77-share-group-describe.ts'
import shareFetch from './78-share-fetch.ts'
import shareAcknowledge from './79-share-acknowledge.ts'
import streamsGroupHeartbeat from './88-streams-group-heartbeat.ts'
import streamsGroupDescribe from './89-streams-group-describe.ts'
import describeShareGroupOffsets from './90-describe-share-group-offsets.ts'
import alterShareGroupOffsets from './91-alter-share-group-offsets.ts'
import deleteShareGroupOffsets from './92-delete-share-group-offsets.ts'
import streamsGroupTopologyDescriptionUpdate from './93-streams-group-topology-description-update.ts'

/** The group coordinator's APIs. */
const GROUP_HANDLERS: readonly AnyHandler[] = [
  ...[offsetCommit, offsetFetch, findCoordinator, joinGroup, heartbeat, leaveGroup, syncGroup, describeGroups],
  ...[listGroups, deleteGroups, offsetDelete, consumerGroupHeartbeat, consumerGroupDescribe],
  ...[streamsGroupHeartbeat, streamsGroupDescribe, streamsGroupTopologyDescriptionUpdate],
]

/** Share groups (KIP-932): membership at the group coordinator, records at the partition leaders. */
const SHARE_HANDLERS: readonly AnyHandler[] = [
  ...[shareGroupHeartbeat, shareGroupDescribe, shareFetch, shareAcknowledge],
  ...[describeShareGroupOffsets, alterShareGroupOffsets, deleteShareGroupOffsets],
]

/** The transaction coordinator's and producer state's APIs. */
const TXN_HANDLERS: readonly AnyHandler[] = [
  ...[initProducerId, addPartitionsToTxn, addOffsetsToTxn, endTxn, writeTxnMarkers, txnOffsetCommit],
  ...[describeProducers, describeTransactions, listTransactions],
]

/** Authentication on SASL listeners (sasl/authenticator.ts), the SCRAM users it checks and delegation tokens. */
const SASL_HANDLERS: readonly AnyHandler[] = [
  ...[saslHandshake, saslAuthenticate],
  ...[describeUserScramCredentials, alterUserScramCredentials],
  ...[createDelegationToken, renewDelegationToken, expireDelegationToken, describeDelegationToken],
]

/** The standard authorizer's ACLs (acls/authorizer.ts). */
const ACL_HANDLERS: readonly AnyHandler[] = [describeAcls, createAcls, deleteAcls]

/**
 * Replicas, leaders, log dirs and the metadata quorum, answered for samsa's shape: one shared log,
 * leaders computed from the replica lists and the live brokers, metadata in the storage engine.
 */
const REPLICA_HANDLERS: readonly AnyHandler[] = [
  ...[electLeaders, alterPartitionReassignments, listPartitionReassignments, alterReplicaLogDirs],
  ...[describeQuorum, unregisterBroker],
]

/** Client quotas (quotas/client-quotas.ts). */
const QUOTA_HANDLERS: readonly AnyHandler[] = [describeClientQuotas, alterClientQuotas]

/** Every API this broker serves; ApiVersions advertises exactly this list. */
export const HANDLERS: readonly AnyHandler[] = [
  produce,
  fetch,
  listOffsets,
  metadata,
  apiVersions,
  createTopics,
  deleteTopics,
  deleteRecords,
  offsetForLeaderEpoch,
  describeConfigs,
  alterConfigs,
  describeLogDirs,
  createPartitions,
  incrementalAlterConfigs,
  describeCluster,
  updateFeatures,
  describeTopicPartitions,
  listConfigResources,
  getTelemetrySubscriptions,
  pushTelemetry,
  ...GROUP_HANDLERS,
  ...SHARE_HANDLERS,
  ...TXN_HANDLERS,
  ...SASL_HANDLERS,
  ...ACL_HANDLERS,
  ...QUOTA_HANDLERS,
  ...REPLICA_HANDLERS,
]
