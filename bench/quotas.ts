/**
 * What client quotas cost the request path: the small produce requests of bench/authorization.ts
 * to a broker without quotas, to one whose default client id has a request_percentage (every
 * request timed and recorded, none throttled), and to one with a producer_byte_rate as well;
 * alternating over ROUNDS rounds. Then one request's quota bookkeeping alone, in this process.
 */
import { ClientQuotas } from '../src/broker/quotas/client-quotas.ts'
import { Cluster } from '../src/client/cluster.ts'
import {
  type AlterClientQuotasResponse,
  createAlterClientQuotasRequest,
} from '../src/protocol/generated/alter-client-quotas.ts'
import { ApiKey } from '../src/protocol/generated/index.ts'
import { MemoryKeyValueStore } from '../src/storage/memory/memory-kv.ts'
import { createLog } from '../src/util/logger.ts'
import { smallProduceRate } from './authorization.ts'
import { fmt, median, table } from './util.ts'

const ROUNDS = 5
const CALLS = 2_000_000
/** Quotas far above what the load reaches: everything is measured, nothing throttled. */
const REQUEST_QUOTA = { key: 'request_percentage', value: 1e6, remove: false }
const BYTE_QUOTA = { key: 'producer_byte_rate', value: 1e12, remove: false }

/** Sets quotas on the default client id of the broker at `port`. */
async function setQuotas(port: number, ops: (typeof REQUEST_QUOTA)[]): Promise<void> {
  const cluster = new Cluster({ bootstrap: `127.0.0.1:${port}` })
  try {
    const conn = await cluster.anyConnection()
    const res = await conn.sendVersion<AlterClientQuotasResponse>(
      ApiKey.AlterClientQuotas,
      1,
      createAlterClientQuotasRequest({
        entries: [{ entity: [{ entityType: 'client-id', entityName: null }], ops }],
        validateOnly: false,
      }),
    )
    if (res.entries.some((e) => e.errorCode !== 0)) throw new Error('setting the quotas failed')
  } finally {
    await cluster.close()
  }
}

/** ns of one request's request-time bookkeeping: four clock reads and one recordTime(). */
async function bookkeepingNs(): Promise<number> {
  const quotas = new ClientQuotas({
    kv: new MemoryKeyValueStore(),
    shared: false,
    windowCount: 11,
    windowMs: 1000,
    log: createLog('silent'),
  })
  await quotas.alter([{ entity: new Map([['client-id', null]]), values: new Map([['request_percentage', 1e6]]) }])
  let throttled = 0
  const run = (): number => {
    const start = performance.now()
    for (let i = 0; i < CALLS; i++) {
      const from = performance.now()
      const loopMs = performance.now() - from
      throttled += quotas.recordTime('ANONYMOUS', 'bench', loopMs, Date.now())
      const encodingFrom = performance.now()
      quotas.recordTime('ANONYMOUS', 'bench', performance.now() - encodingFrom, Date.now())
    }
    return ((performance.now() - start) * 1e6) / CALLS
  }
  run()
  const ns = run()
  if (throttled !== 0) throw new Error('a request was throttled')
  return ns
}

/** Runs the comparison and prints it. */
export async function benchQuotas(): Promise<void> {
  const variants = [
    { name: 'no quotas', ops: [] },
    { name: 'request_percentage (timed, not throttled)', ops: [REQUEST_QUOTA] },
    { name: 'request_percentage and producer_byte_rate', ops: [REQUEST_QUOTA, BYTE_QUOTA] },
  ]
  const runs = variants.map(() => [] as { perSec: number; cpuUs: number }[])
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 === 0 ? [0, 1, 2] : [2, 1, 0]
    for (const v of order) {
      const { ops } = variants[v] as (typeof variants)[number]
      const prepare = ops.length === 0 ? undefined : (port: number) => setQuotas(port, ops)
      runs[v]?.push(await smallProduceRate({}, prepare))
    }
  }
  const rate = (v: number): number => median((runs[v] ?? []).map((r) => r.perSec))
  const cpu = (v: number): number => median((runs[v] ?? []).map((r) => r.cpuUs))
  console.log(
    table([
      ['produce (10 x 100 B per request, memory)', 'requests/s', 'broker CPU µs/request', 'CPU vs no quotas'],
      ...variants.map((v, i) => [
        v.name,
        fmt(rate(i), 0),
        fmt(cpu(i), 1),
        i === 0 ? '' : `${fmt(cpu(i) - cpu(0), 1)} µs`,
      ]),
    ]),
  )
  console.log(
    `medians of ${ROUNDS} rounds each, alternating; one request's request-time bookkeeping alone: ` +
      `${fmt(await bookkeepingNs(), 0)} ns`,
  )
}
