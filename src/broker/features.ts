/**
 * The feature flags ApiVersions reports (KIP-584), as a Kafka 4.2 cluster of samsa's abilities
 * would: each feature's supported version range and the level finalized cluster-wide. A feature
 * goes here once what it gates works: share.version 1 turns on share groups (KIP-932).
 */

export interface Feature {
  name: string
  minVersion: number
  maxVersion: number
  /** The finalized level; 0 is not reported as finalized, as Kafka omits disabled features. */
  level: number
}

export const FEATURES: readonly Feature[] = [{ name: 'share.version', minVersion: 0, maxVersion: 1, level: 1 }]

/**
 * The epoch of the finalized features (Kafka: the metadata offset they were read at). samsa's
 * features never change while it runs, so one fixed epoch; -1 would mean "unknown".
 */
export const FINALIZED_FEATURES_EPOCH = 1n

/** ApiVersions' feature fields; v3 leaves out features whose supported range starts at 0, as Kafka does. */
export function featureFields(apiVersion: number) {
  return {
    supportedFeatures: FEATURES.filter((f) => apiVersion >= 4 || f.minVersion > 0).map((f) => ({
      name: f.name,
      minVersion: f.minVersion,
      maxVersion: f.maxVersion,
    })),
    finalizedFeaturesEpoch: FINALIZED_FEATURES_EPOCH,
    finalizedFeatures: FEATURES.filter((f) => f.level > 0).map((f) => ({
      name: f.name,
      maxVersionLevel: f.level,
      minVersionLevel: f.level,
    })),
  }
}
