/** `samsa perf produce|consume`: throughput and latency tests with a live progress bar. */
import { randomBytes } from 'node:crypto'
import type { Command } from 'commander'
import { Consumer } from '../../client/consumer.ts'
import { EARLIEST, LATEST, listOffsets, tpKey } from '../../client/offsets.ts'
import { Producer, type RecordMetadata } from '../../client/producer.ts'
import {
  type CommonFlags,
  EXIT_CODES_HELP,
  openCluster,
  parseCountArg,
  parseIntArg,
  printJson,
  topicToProduce,
  withCommonFlags,
} from '../common.ts'
import { ProgressBar } from '../output/progress.ts'
import { formatSummary, LatencyRecorder, summarize } from '../perf-stats.ts'
import { parseAcks, parseCompression } from '../producer-flags.ts'

interface PerfProduceFlags extends CommonFlags {
  numRecords: number
  recordSize: number
  throughput: number
  acks: string
  compression: string
  batchSize: number
  lingerMs: number
  progress?: boolean
}

interface PerfConsumeFlags extends CommonFlags {
  messages?: number
  group?: string
  idleTimeout: number
  progress?: boolean
}

/** Registers the perf command group. */
export function registerPerfCommand(program: Command): void {
  const perf = program.command('perf').description('throughput and latency tests')

  withCommonFlags(
    perf.command('produce').description('produce records as fast as possible (or at a set rate)').argument('<topic>'),
    {
      json: true,
    },
  )
    .option('-n, --num-records <n>', 'records to send', parseCountArg, 100_000)
    .option('-s, --record-size <bytes>', 'value size of each record', parseCountArg, 100)
    .option('--throughput <n>', 'cap in records/s (-1: no cap)', parseIntArg, -1)
    .option('-a, --acks <acks>', 'all, 1 or 0', 'all')
    .option('-z, --compression <codec>', 'none, gzip, snappy, lz4 or zstd', 'none')
    .option('--batch-size <bytes>', 'producer batch size', parseCountArg, 65_536)
    .option('--linger-ms <ms>', 'producer linger', parseCountArg, 5)
    .option('--progress', 'draw the progress bar even when stderr is not a terminal')
    .addHelpText(
      'after',
      `
Latency is measured per record, from send to acknowledgement; percentiles that need more
samples than the run made (100 for p99, 1000 for p99.9) are left out and named. The summary goes to stdout
(--json for scripts); progress goes to stderr.

Examples:
  samsa perf produce bench -n 100000 -s 200
  samsa perf produce bench -n 10000 --throughput 5000 -z lz4 --acks 1
${EXIT_CODES_HELP}`,
    )
    .action(async (topic: string, flags: PerfProduceFlags) => {
      const acks = parseAcks(flags.acks)
      const compression = parseCompression(flags.compression)
      const cluster = openCluster(flags, 'samsa-perf')
      const producer = new Producer(cluster, {
        acks,
        compression,
        batchSize: flags.batchSize,
        lingerMs: flags.lingerMs,
      })
      const latency = new LatencyRecorder()
      const payload = randomBytes(flags.recordSize)
      let bar: ProgressBar | undefined
      let acked = 0
      let failure: unknown
      try {
        await topicToProduce(cluster, topic)
        bar = new ProgressBar({ total: flags.numRecords, label: 'records', tty: flags.progress || undefined })
        const progress = bar
        const window: Promise<RecordMetadata>[] = []
        const started = performance.now()
        for (let i = 0; i < flags.numRecords && !failure; i++) {
          if (flags.throughput > 0) {
            const due = started + (i * 1000) / flags.throughput
            const wait = due - performance.now()
            if (wait > 1) await new Promise((r) => setTimeout(r, wait))
          }
          const t0 = performance.now()
          const p = producer.send({ topic, value: payload })
          p.then(
            () => {
              latency.record(performance.now() - t0)
              progress.update(++acked)
            },
            (err: unknown) => {
              failure ??= err
            },
          )
          window.push(p)
          // Bound memory: keep at most 50k records outstanding.
          if (window.length >= 50_000) await Promise.allSettled(window.splice(0, 25_000))
        }
        await producer.flush()
        await Promise.allSettled(window)
        const elapsed = performance.now() - started
        progress.stop()
        if (failure) throw failure
        const summary = summarize(acked, acked * flags.recordSize, elapsed, latency)
        if (flags.json) printJson({ topic, ...summary })
        else process.stdout.write(`${formatSummary(summary, 'sent', 'produce')}\n`)
      } finally {
        bar?.stop()
        await cluster.close()
      }
    })

  withCommonFlags(perf.command('consume').description('consume records as fast as possible').argument('<topic>'), {
    json: true,
  })
    .option('-n, --messages <n>', 'records to consume (default: all records in the topic now)', parseCountArg)
    .option('-g, --group <id>', 'consume as a member of this group (default: assign all partitions)')
    .option('--idle-timeout <ms>', 'fail after this long without records', parseCountArg, 10_000)
    .option('--progress', 'draw the progress bar even when stderr is not a terminal')
    .addHelpText(
      'after',
      `
Reads from the earliest offset. Latency is measured per fetch that returned records (one Fetch
request to each partition leader, in parallel), not counting the group join or the offset
look-ups; percentiles that need more samples than the run made are left out and named.

Examples:
  samsa perf consume bench
  samsa perf consume bench -n 100000 --group perf-1
${EXIT_CODES_HELP}`,
    )
    .action(async (topic: string, flags: PerfConsumeFlags) => {
      const cluster = openCluster(flags, 'samsa-perf')
      const consumer = new Consumer(cluster, { groupId: flags.group, autoOffsetReset: 'earliest', maxWaitMs: 500 })
      const latency = new LatencyRecorder()
      try {
        const meta = await cluster.topic(topic)
        const tps = meta.partitions.map((p) => ({ topic, partition: p.partition }))
        let target = flags.messages
        if (target === undefined) {
          const [lo, hi] = await Promise.all([listOffsets(cluster, tps, EARLIEST), listOffsets(cluster, tps, LATEST)])
          target = tps.reduce(
            (s, tp) =>
              s + Number((hi.get(tpKey(topic, tp.partition)) ?? 0n) - (lo.get(tpKey(topic, tp.partition)) ?? 0n)),
            0,
          )
        }
        if (flags.group) consumer.subscribe([topic])
        else consumer.assign(tps.map((tp) => ({ ...tp, offset: 'earliest' as const })))
        const bar = new ProgressBar({ total: target, label: 'records', tty: flags.progress || undefined })
        let count = 0
        let bytes = 0
        // The clock starts once the group is joined, as kafka-consumer-perf-test's fetch time does.
        await consumer.membership?.ensureActive()
        const started = performance.now()
        let lastData = started
        try {
          while (count < target) {
            // Join the group (or rejoin after a rebalance) and look up start offsets outside the
            // measured time: a sample is one fetch round, a Fetch to each leader in parallel.
            await consumer.membership?.ensureActive()
            await consumer.resolvePositions()
            const t0 = performance.now()
            const records = await consumer.poll()
            const t1 = performance.now()
            if (records.length === 0) {
              if (t1 - lastData > flags.idleTimeout) {
                throw new Error(`only ${count} of ${target} records arrived within ${flags.idleTimeout} ms`)
              }
              continue
            }
            latency.record(t1 - t0)
            lastData = t1
            for (const r of records) bytes += (r.value?.length ?? 0) + (r.key?.length ?? 0)
            count += records.length
            bar.update(count)
          }
        } finally {
          bar.stop()
        }
        const elapsed = performance.now() - started
        if (flags.group) await consumer.commit()
        const summary = summarize(count, bytes, elapsed, latency)
        if (flags.json) printJson({ topic, ...summary })
        else process.stdout.write(`${formatSummary(summary, 'consumed', 'fetch')}\n`)
      } finally {
        await consumer.close().catch(() => undefined)
        await cluster.close()
      }
    })
}
