// UpdateFeatures: v0-2
// Changes finalized feature levels (KIP-584), as Kafka's controller does: every update is checked
// first and one bad update fails them all (top-level INVALID_UPDATE_VERSION naming it); then the
// levels are finalized together, durably through the storage engine (feature-store.ts), at the
// next finalized features epoch, which ApiVersions reports from then on. validate_only checks
// without changing anything.
// transaction.version may be set anywhere in 0-2 (2: KIP-890 part 2; the coordinator follows each
// request's version, so the level only tells clients which protocol to speak, and is what the
// coordinator's own aborts run as). group.version, share.version and streams.version stay at the
// level samsa serves (KIP-848 groups, share and streams groups are always on here): setting their
// current level is accepted, any other INVALID_UPDATE_VERSION. Unknown features, negative levels,
// levels out of the supported range, unknown upgrade types, a lower level without a downgrade
// type and a higher one with it are INVALID_UPDATE_VERSION.
// Authorization: ALTER on the cluster, else CLUSTER_AUTHORIZATION_FAILED.
// Version notes: v0 asks for downgrades with allow_downgrade (taken as a safe downgrade), v1+ with
// upgrade_type (1 upgrade, 2 safe downgrade, 3 unsafe downgrade: both downgrades are alike here)
// and adds validate_only; v0-1 list each feature's result on success, v2 only the top-level error.

import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createUpdateFeaturesResponse,
  type UpdateFeaturesRequest,
  type UpdateFeaturesResponse,
} from '../../protocol/generated/update-features.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { clusterAuthorized } from '../authorize.ts'
import type { FeatureStore } from '../feature-store.ts'
import { SUPPORTED_FEATURES } from '../features.ts'
import { defineHandler } from '../handler.ts'

/** Kafka's FeatureUpdate.UpgradeType codes. */
const UpgradeType = { UPGRADE: 1, SAFE_DOWNGRADE: 2, UNSAFE_DOWNGRADE: 3 } as const

/** The features whose level changes what samsa does; the others are always on. */
const CHANGEABLE = new Set(['transaction.version'])

/** How often an update is decided again when another broker changed the levels meanwhile. */
const ATTEMPTS = 3

/** Why an update is refused, or undefined when it may be made. */
function refusal(features: FeatureStore, name: string, level: number, upgradeType: number): string | undefined {
  if (!Object.values(UpgradeType).includes(upgradeType as 1)) return `upgrade type ${upgradeType} is unknown`
  if (level < 0) return 'a feature level cannot be negative'
  const feature = SUPPORTED_FEATURES.find((f) => f.name === name)
  if (feature === undefined) return 'samsa does not support this feature'
  if (level < feature.minVersion || level > feature.maxVersion) {
    return `samsa supports its levels ${feature.minVersion}-${feature.maxVersion} only`
  }
  const current = features.level(name)
  if (level < current && upgradeType === UpgradeType.UPGRADE) {
    return 'a lower level needs a downgrade upgrade type (safe or unsafe)'
  }
  if (level > current && upgradeType !== UpgradeType.UPGRADE) return 'a downgrade cannot raise the level'
  if (level !== current && !CHANGEABLE.has(name)) {
    return `samsa serves this feature at level ${current} only, and its level cannot be changed`
  }
  return undefined
}

export default defineHandler<UpdateFeaturesRequest, UpdateFeaturesResponse>({
  api,
  minVersion: 0,
  maxVersion: 2,
  refuse: (ctx) => (clusterAuthorized(ctx, AclOperation.ALTER) ? undefined : ErrorCode.CLUSTER_AUTHORIZATION_FAILED),
  async handle(ctx, req) {
    const { features } = ctx.broker
    const v = ctx.apiVersion
    for (let attempt = 1; ; attempt++) {
      const levels = new Map<string, number>()
      for (const u of req.featureUpdates) {
        const upgradeType =
          v === 0 ? (u.allowDowngrade ? UpgradeType.SAFE_DOWNGRADE : UpgradeType.UPGRADE) : u.upgradeType
        const why = refusal(features, u.feature, u.maxVersionLevel, upgradeType)
        if (why !== undefined) {
          return createUpdateFeaturesResponse({
            errorCode: ErrorCode.INVALID_UPDATE_VERSION,
            errorMessage: `The update failed for every feature because one was refused: level ${u.maxVersionLevel} of ${u.feature}: ${why}.`,
          })
        }
        levels.set(u.feature, u.maxVersionLevel)
      }
      const changes = [...levels].some(([name, level]) => features.level(name) !== level)
      if (req.validateOnly || !changes || (await features.update(levels))) break
      if (attempt >= ATTEMPTS) {
        return createUpdateFeaturesResponse({
          errorCode: ErrorCode.FEATURE_UPDATE_FAILED,
          errorMessage: 'The finalized features kept changing through other brokers; try again.',
        })
      }
    }
    return createUpdateFeaturesResponse({
      errorMessage: null,
      results:
        v <= 1
          ? req.featureUpdates.map((u) => ({ feature: u.feature, errorCode: ErrorCode.NONE, errorMessage: null }))
          : [],
    })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createUpdateFeaturesResponse({ errorCode })
  },
})
