/**
 * The feature flags ApiVersions reports (KIP-584), as a Kafka 4.2 cluster of samsa's abilities
 * would: each feature's supported version range and the level finalized cluster-wide. A feature
 * goes here once what it gates works: share.version 1 turns on share groups (KIP-932),
 * streams.version 1 streams groups (KIP-1071).
 */

export interface Feature {
  name: string
  minVersion: number
  maxVersion: number
  /** The finalized level (by default); 0 is not reported as finalized, as Kafka omits disabled features. */
  level: number
}

export const FEATURES: readonly Feature[] = [
  { name: 'share.version', minVersion: 0, maxVersion: 1, level: 1 },
  { name: 'streams.version', minVersion: 0, maxVersion: 1, level: 1 },
]

/**
 * The epoch of the finalized features (Kafka: the metadata offset they were read at). samsa's
 * features start at this epoch, and each change UpdateFeatures makes moves it on (feature-store.ts),
 * so that clients, which keep the levels of the highest epoch they saw, follow it; -1 would mean
 * "unknown".
 */
export const FINALIZED_FEATURES_EPOCH = 1n

/**
 * group.version 1 is the KIP-848 consumer group protocol; transaction.version 2 is KIP-890 part 2
 * (partitions and groups joining a transaction implicitly, the epoch bumped by every end), which
 * UpdateFeatures may set anywhere in its range. Their `level` is the one finalized until then.
 */
export const GROUP_AND_TRANSACTION_FEATURES: readonly Feature[] = [
  { name: 'group.version', minVersion: 0, maxVersion: 1, level: 1 },
  { name: 'transaction.version', minVersion: 0, maxVersion: 2, level: 2 },
]

/** Every feature ApiVersions reports. */
export const SUPPORTED_FEATURES: readonly Feature[] = [...GROUP_AND_TRANSACTION_FEATURES, ...FEATURES]

/** The finalized level of each feature, and the epoch they were read at. */
export interface FinalizedFeatures {
  epoch: bigint
  level(name: string): number
}

/** ApiVersions' feature fields; v3 leaves out features whose supported range starts at 0, as Kafka does. */
export function featureFields(apiVersion: number, finalized: FinalizedFeatures) {
  return {
    supportedFeatures: SUPPORTED_FEATURES.filter((f) => apiVersion >= 4 || f.minVersion > 0).map((f) => ({
      name: f.name,
      minVersion: f.minVersion,
      maxVersion: f.maxVersion,
    })),
    finalizedFeaturesEpoch: finalized.epoch,
    finalizedFeatures: SUPPORTED_FEATURES.filter((f) => finalized.level(f.name) > 0).map((f) => ({
      name: f.name,
      maxVersionLevel: finalized.level(f.name),
      minVersionLevel: finalized.level(f.name),
    })),
  }
}
