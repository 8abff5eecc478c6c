/**
 * Which old segments retention deletes, as Kafka decides it: with cleanup.policy=delete, the
 * oldest segments whose newest record is older than retention.ms, then the oldest segments while
 * the partition stays above retention.bytes without them. Pure: the log does the deleting.
 */
import type { LogConfig } from '../../config/topic-configs.ts'

/** What retention looks at per segment, oldest first; the last is the active segment. */
export interface RetentionSegment {
  size: number
  /** Segment.largestTimestamp(): its newest record's timestamp, else its file's last-modified time. */
  largestTimestamp: number
}

/** The verdict: how many of the oldest segments to delete, and whether the active one must roll first. */
export interface RetentionPlan {
  deleteCount: number
  /** Every segment, the active one included, is past retention.ms: roll so it can go too. */
  rollActive: boolean
}

/** Applies retention.ms then retention.bytes to the segments (oldest first). */
export function planRetention(segments: readonly RetentionSegment[], config: LogConfig, nowMs: number): RetentionPlan {
  const none: RetentionPlan = { deleteCount: 0, rollActive: false }
  if (!config.cleanupPolicy.delete || segments.length === 0) return none
  let expired = 0
  if (config.retentionMs >= 0) {
    for (const s of segments) {
      // Like Kafka, stop at the first young segment.
      if (nowMs - s.largestTimestamp <= config.retentionMs) break
      expired++
    }
  }
  const active = segments[segments.length - 1] as RetentionSegment
  if (expired === segments.length && active.size > 0) return { deleteCount: expired, rollActive: true }
  let count = Math.min(expired, segments.length - 1)
  if (config.retentionBytes >= 0) {
    let total = 0
    for (const s of segments) total += s.size
    let excess = total - config.retentionBytes
    for (let i = 0; i < segments.length - 1; i++) {
      const s = segments[i] as RetentionSegment
      if (excess - s.size < 0) break
      excess -= s.size
      count = Math.max(count, i + 1)
    }
  }
  return { deleteCount: count, rollActive: false }
}
