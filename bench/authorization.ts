/**
 * What authorization costs the produce path: small Produce requests (10 records of 100 bytes, 6
 * partitions, 3 connections with 4 requests in flight, acks=1, memory engine) to a broker without
 * an authorizer and to one with Kafka's standard authorizer (every topic open through
 * allow.everyone.if.no.acl.found, so each partition's check is a cached decision), alternating
 * over ROUNDS rounds; then the check alone, in this process, with the authorizer off and on.
 * Small requests make the per-request cost as visible as it gets.
 */
import { Authorizer } from '../src/broker/acls/authorizer.ts'
import { authorized } from '../src/broker/authorize.ts'
import type { RequestContext } from '../src/broker/context.ts'
import type { KeyValueStore } from '../src/storage/types.ts'
import { createLog } from '../src/util/logger.ts'
import { startServer } from './children.ts'
import { openConns, runLoad } from './load-generator.ts'
import { createTopics } from './produce.ts'
import { checkProduceResponse, makeBatch, produceFrame } from './requests.ts'
import { CpuMeter, fmt, median, table } from './util.ts'

const ROUNDS = 5
const PARTITIONS = 6
const CONNECTIONS = 3
const IN_FLIGHT = 4
const DURATION_MS = 2000
const CALLS = 5_000_000
const AUTHORIZER_CONFIG = {
  'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
  'allow.everyone.if.no.acl.found': 'true',
}

/**
 * Requests per second and broker CPU µs per request of small produce requests, for one broker
 * with these properties; `prepare` readies it first (given its port).
 */
export async function smallProduceRate(
  brokerConfig: Record<string, string>,
  prepare?: (port: number) => Promise<void>,
): Promise<{ perSec: number; cpuUs: number }> {
  const config = { 'num.partitions': String(PARTITIONS), ...brokerConfig }
  const server = await startServer({ kind: 'broker', storage: 'memory', config })
  try {
    await createTopics(server.port, [{ name: 'authz', partitions: PARTITIONS }])
    await prepare?.(server.port)
    const batch = makeBatch(10, 100)
    const frames = Array.from({ length: PARTITIONS }, (_, p) => produceFrame('authz', p, 1, batch))
    const conns = await openConns(server.port, CONNECTIONS)
    const turn = conns.map(() => 0)
    const cpu = new CpuMeter(server.pid)
    let serverCpu = Number.NaN
    try {
      const result = await runLoad({
        conns,
        inFlight: IN_FLIGHT,
        warmupMs: 500,
        durationMs: DURATION_MS,
        // Connection c owns partitions c and c + CONNECTIONS: each partition is appended to in order.
        next: (c) => {
          const partition = c + CONNECTIONS * ((turn[c] as number)++ % (PARTITIONS / CONNECTIONS))
          return { frame: frames[partition] as Buffer, bytes: batch.length, records: 10 }
        },
        check: (_c, _req, head) => {
          checkProduceResponse(head)
          return undefined
        },
        onWindow: (phase) => {
          if (phase === 'start') cpu.start()
          else serverCpu = cpu.stop()
        },
      })
      const perSec = result.requests / result.seconds
      return { perSec, cpuUs: ((serverCpu / 100) * 1e6) / perSec }
    } finally {
      for (const c of conns) c.close()
    }
  } finally {
    await server.stop()
  }
}

/** ns per authorized() call for a produce-like check (WRITE on one of 6 topics), the authorizer off or on. */
async function checkNs(enabled: boolean): Promise<number> {
  const kv = {
    list: async () => new Map(),
    getVersioned: async () => ({ value: undefined, version: 0 }),
    put: async () => {},
  } as unknown as KeyValueStore
  const acls = new Authorizer({ kv, props: enabled ? AUTHORIZER_CONFIG : {}, shared: false, log: createLog('silent') })
  await acls.load()
  const connection = { principal: 'User:alice', socket: { remoteAddress: '::ffff:127.0.0.1' } }
  const ctx = { broker: { acls }, connection } as unknown as RequestContext
  const topics = Array.from({ length: PARTITIONS }, (_, i) => `orders-${i}`)
  let allowed = 0
  const run = (): number => {
    const start = performance.now()
    for (let i = 0; i < CALLS; i++) if (authorized(ctx, 4, 2, topics[i % PARTITIONS] as string)) allowed++
    return ((performance.now() - start) * 1e6) / CALLS
  }
  run()
  const ns = run()
  if (allowed !== 2 * CALLS) throw new Error('a check was refused')
  return ns
}

/** Runs the comparison and prints it. */
export async function benchAuthorization(): Promise<void> {
  const off: { perSec: number; cpuUs: number }[] = []
  const on: { perSec: number; cpuUs: number }[] = []
  for (let i = 0; i < ROUNDS; i++) {
    for (const measured of i % 2 === 0 ? [false, true] : [true, false]) {
      ;(measured ? on : off).push(await smallProduceRate(measured ? AUTHORIZER_CONFIG : {}))
    }
  }
  const rate = (runs: typeof off): number => median(runs.map((r) => r.perSec))
  const cpu = (runs: typeof off): number => median(runs.map((r) => r.cpuUs))
  console.log(
    table([
      ['produce (10 x 100 B per request, memory)', 'requests/s', 'broker CPU µs/request'],
      ['no authorizer', fmt(rate(off), 0), fmt(cpu(off), 1)],
      ['StandardAuthorizer (cached decisions)', fmt(rate(on), 0), fmt(cpu(on), 1)],
      ['difference', `${fmt(((rate(on) - rate(off)) / rate(off)) * 100, 1)} %`, `${fmt(cpu(on) - cpu(off), 1)} µs`],
    ]),
  )
  console.log(
    `medians of ${ROUNDS} rounds each, alternating; one partition's check alone: ${fmt(await checkNs(false), 1)} ns ` +
      `without an authorizer, ${fmt(await checkNs(true), 1)} ns with it (a cached decision)`,
  )
}
