/**
 * Produce→consume latency at a moderate fixed rate: 1,000 records/s of 1 KiB in batches of 5
 * (one Produce request every 5 ms, on a schedule that does not wait for responses), one
 * partition, and a consumer long-polling with Fetch (max_wait 500 ms, min_bytes 1) on another
 * connection. A record's latency is the time from writing its Produce request to the socket to
 * the arrival of the Fetch response carrying it; offsets are deterministic (one producer, one
 * partition), so batch k holds offsets 5k..5k+4, which the Produce responses confirm.
 */
import * as L from '../src/protocol/records/batch-layout.ts'
import type { ServerProcess } from './children.ts'
import { type Conn, openConns } from './load-generator.ts'
import { createTopics, startBenchBroker } from './produce.ts'
import { checkProduceResponse, decodeFetch, fetchFrame, makeBatch, produceFrame } from './requests.ts'
import { msBetween, now, percentile, sleep, sorted, tempDir } from './util.ts'

const RATE = 1000
const BATCH_RECORDS = 5
const RECORD_SIZE = 1024
const WARMUP_MS = 500
const DURATION_MS = 4000
const MAX_WAIT_MS = 500
const TOPIC = 'latency'

export interface LatencyRun {
  /** Produce→consume, per record, ms. */
  p50Ms: number
  p99Ms: number
  p999Ms: number
  maxMs: number
  samples: number
  /** Produce request round trip (ack), ms. */
  ackP50Ms: number
  ackP99Ms: number
  /** Records actually offered per second during the window. */
  offeredRate: number
}

async function measure(server: ServerProcess, acks: number): Promise<LatencyRun> {
  await createTopics(server.port, [{ name: TOPIC, partitions: 1 }])
  const [producer] = (await openConns(server.port, 1)) as [Conn]
  const [consumer] = (await openConns(server.port, 1, 64 * 1024 * 1024)) as [Conn]
  const frame = produceFrame(TOPIC, 0, acks, makeBatch(BATCH_RECORDS, RECORD_SIZE))
  const periodNs = BigInt(Math.round((BATCH_RECORDS / RATE) * 1e9))
  const sendTimes: bigint[] = []
  const latencies: number[] = []
  const acksMs: number[] = []
  let failure: unknown
  const start = now()
  const windowStart = start + BigInt(WARMUP_MS * 1e6)
  const windowEnd = windowStart + BigInt(DURATION_MS * 1e6)
  let sentInWindow = 0

  // Producer: batch k is due at start + k·period; a late timer sends the overdue ones at once.
  let stopped = false
  const produced = new Promise<void>((resolve) => {
    const tick = (): void => {
      const t = now()
      while (!stopped && start + BigInt(sendTimes.length) * periodNs <= t) {
        const k = sendTimes.length
        const sentAt = now()
        sendTimes.push(sentAt)
        if (sentAt >= windowStart && sentAt < windowEnd) sentInWindow++
        producer.send(frame, (head) => {
          try {
            const ack = checkProduceResponse(head)
            if (ack.baseOffset !== k * BATCH_RECORDS) throw new Error(`batch ${k} got offset ${ack.baseOffset}`)
            if (sentAt >= windowStart && sentAt < windowEnd) acksMs.push(msBetween(sentAt, now()))
          } catch (err) {
            failure ??= err
          }
        })
      }
      if (t >= windowEnd || failure !== undefined) {
        stopped = true
        resolve()
        return
      }
      const due = start + BigInt(sendTimes.length) * periodNs
      setTimeout(tick, Math.max(0, Number(due - now()) / 1e6))
    }
    tick()
  })

  // Consumer: one long-poll in flight, the next sent as soon as a response arrives.
  let next = 0
  let consuming = true
  const consumed = new Promise<void>((resolve) => {
    const poll = (): void => {
      consumer.send(
        fetchFrame({
          topic: TOPIC,
          partition: 0,
          offset: next,
          maxBytes: 1024 * 1024,
          maxWaitMs: MAX_WAIT_MS,
          minBytes: 1,
        }),
        (head) => {
          const t = now()
          try {
            const p = decodeFetch(head).responses[0]?.partitions[0]
            if (p === undefined || p.errorCode !== 0) throw new Error(`fetch error ${p?.errorCode}`)
            const records = p.records ?? Buffer.alloc(0)
            for (let pos = 0; pos + L.RECORDS <= records.length; ) {
              const base = L.readInt64AsNumber(records, pos + L.BASE_OFFSET)
              const count = records.readInt32BE(pos + L.LAST_OFFSET_DELTA) + 1
              const sentAt = sendTimes[base / BATCH_RECORDS]
              if (sentAt === undefined) throw new Error(`unexpected batch at offset ${base}`)
              if (sentAt >= windowStart && sentAt < windowEnd) {
                const ms = msBetween(sentAt, t)
                for (let i = 0; i < count; i++) latencies.push(ms)
              }
              next = base + count
              pos += L.LOG_OVERHEAD + records.readInt32BE(pos + L.BATCH_LENGTH)
            }
          } catch (err) {
            failure ??= err
          }
          if (consuming && failure === undefined) poll()
          else resolve()
        },
      )
    }
    poll()
  })

  await produced
  // Let the consumer catch up with everything sent (bounded), then let its last poll return.
  const deadline = now() + 3_000_000_000n
  while (next < sendTimes.length * BATCH_RECORDS && now() < deadline && failure === undefined) await sleep(5)
  consuming = false
  await Promise.race([consumed, sleep(MAX_WAIT_MS + 1000)])
  producer.close()
  consumer.close()
  if (failure !== undefined) throw failure
  const s = sorted(latencies)
  const a = sorted(acksMs)
  return {
    p50Ms: percentile(s, 50),
    p99Ms: percentile(s, 99),
    p999Ms: percentile(s, 99.9),
    maxMs: s[s.length - 1] ?? Number.NaN,
    samples: s.length,
    ackP50Ms: percentile(a, 50),
    ackP99Ms: percentile(a, 99),
    offeredRate: (sentInWindow * BATCH_RECORDS) / (DURATION_MS / 1000),
  }
}

export interface LatencySection {
  results: { label: string; run: LatencyRun }[]
}

export async function benchLatency(): Promise<LatencySection> {
  const results: LatencySection['results'] = []
  const cases: { label: string; storage: 'local' | 'memory'; acks: number }[] = [
    { label: 'local, acks=1', storage: 'local', acks: 1 },
    { label: 'local, acks=-1', storage: 'local', acks: -1 },
    { label: 'memory, acks=1', storage: 'memory', acks: 1 },
  ]
  for (const c of cases) {
    const dir = c.storage === 'local' ? await tempDir('latency') : undefined
    const server = await startBenchBroker(c.storage, dir?.path)
    try {
      results.push({ label: c.label, run: await measure(server, c.acks) })
    } finally {
      await server.stop()
      await dir?.cleanup()
    }
  }
  return { results }
}
