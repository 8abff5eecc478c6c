/**
 * Records as real clients see them, reduced to what the differential tests compare: partition,
 * offset, key, value, headers and the client-set timestamp, in partition and offset order.
 */
import { kafkajsClient, platformatic } from '../helpers/clients.ts'
import { kcat } from '../helpers/kcat.ts'
import { PATIENCE_MS, type Target } from './support.ts'

export interface Seen {
  partition: number
  offset: number
  key: string | null
  value: string | null
  headers: [string, string][]
  timestamp: number
}

const text = (b: Buffer | string | null | undefined): string | null =>
  b === null || b === undefined ? null : String(b)

const ordered = (seen: Seen[]): Seen[] => seen.sort((a, b) => a.partition - b.partition || a.offset - b.offset)

/** Until `count` records arrived, then `stop`; fails after PATIENCE_MS with how many came. */
function collect(count: number, what: string): { seen: Seen[]; done: Promise<void>; push(s: Seen): void } {
  const seen: Seen[] = []
  let resolve = (): void => {}
  const done = new Promise<void>((res, rej) => {
    resolve = res
    setTimeout(() => rej(new Error(`${what}: ${seen.length} of ${count} records`)), PATIENCE_MS).unref()
  })
  return {
    seen,
    done,
    push(s) {
      seen.push(s)
      if (seen.length >= count) resolve()
    },
  }
}

/** A kafkajs group consumer from the beginning, until `count` records. */
export async function readWithKafkajs(
  target: Target,
  topic: string,
  count: number,
  options: { readUncommitted?: boolean } = {},
): Promise<Seen[]> {
  const consumer = kafkajsClient(target.bootstrap).consumer({
    groupId: `kjs-${topic}-${options.readUncommitted === true}`,
    readUncommitted: options.readUncommitted ?? false,
    maxWaitTimeInMs: 100,
  })
  const out = collect(count, `kafkajs on ${target.name}`)
  try {
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        out.push({
          partition,
          offset: Number(message.offset),
          key: text(message.key),
          value: text(message.value),
          headers: Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
          timestamp: Number(message.timestamp),
        })
      },
    })
    await out.done
  } finally {
    await consumer.disconnect()
  }
  return ordered(out.seen)
}

/** A @platformatic/kafka group consumer from the earliest offsets, until `count` records. */
export async function readWithPlatformatic(
  target: Target,
  topic: string,
  count: number,
  options: { isolationLevel?: 0 | 1 } = {},
): Promise<Seen[]> {
  const pk = await platformatic()
  const consumer = new pk.Consumer({
    clientId: 'differential',
    bootstrapBrokers: [target.bootstrap],
    groupId: `plt-${topic}-${options.isolationLevel ?? 1}`,
    isolationLevel: options.isolationLevel ?? 1,
    maxWaitTime: 100,
    deserializers: pk.stringDeserializers,
  })
  const out = collect(count, `@platformatic/kafka on ${target.name}`)
  try {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
    stream.on('data', (m) => {
      out.push({
        partition: m.partition,
        offset: Number(m.offset),
        key: text(m.key as string | null),
        value: text(m.value as string | null),
        headers: [...m.headers].map(([k, v]) => [String(k), String(v)]),
        timestamp: Number(m.timestamp),
      })
    })
    await out.done
  } finally {
    await consumer.close(true)
  }
  return ordered(out.seen)
}

interface KcatRecord {
  partition: number
  offset: number
  ts: number
  key: string | null
  payload: string | null
  headers?: string[]
}

/** kcat (librdkafka) from the beginning to the end of each partition, as its JSON lines. */
export async function readWithKcat(target: Target, topic: string, isolation = 'read_committed'): Promise<Seen[]> {
  const out = await kcat(
    [
      '-C',
      '-b',
      target.bootstrap,
      '-t',
      topic,
      '-o',
      'beginning',
      '-e',
      '-q',
      '-J',
      '-X',
      `isolation.level=${isolation}`,
    ],
    undefined,
    PATIENCE_MS,
  )
  const seen = out
    .split('\n')
    .filter((l) => l !== '')
    .map((line): Seen => {
      const r = JSON.parse(line) as KcatRecord
      const h = r.headers ?? []
      const headers: [string, string][] = []
      for (let i = 0; i + 1 < h.length; i += 2) headers.push([h[i] as string, h[i + 1] as string])
      return { partition: r.partition, offset: r.offset, key: r.key, value: r.payload, headers, timestamp: r.ts }
    })
  return ordered(seen)
}

/** A member of a described group, its id reduced to its form and the bytes of its protocol to text. */
interface DescribedMember {
  memberId: string
  clientId: string
  clientHost: string
  metadata: string
  assignment: string
}

const memberShape = (id: string): string =>
  id.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, '<uuid>')

/**
 * A kafkajs consumer joins a group on the topic; kafkajs's admin and @platformatic/kafka's admin
 * describe the group while the member has its partitions, and again once it left.
 */
export async function describeKafkajsGroup(target: Target, topic: string): Promise<unknown> {
  const groupId = `kjs-described-${topic}`
  const kafka = kafkajsClient(target.bootstrap)
  const admin = kafka.admin()
  const pk = await platformatic()
  const pltAdmin = new pk.Admin({ clientId: 'differential', bootstrapBrokers: [target.bootstrap] })
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 })
  const describe = async () => {
    const [kjs] = (await admin.describeGroups([groupId])).groups
    const plt = (await pltAdmin.describeGroups({ groups: [groupId] })).get(groupId)
    return {
      kafkajs: kjs && {
        state: kjs.state,
        protocolType: kjs.protocolType,
        protocol: kjs.protocol,
        members: kjs.members.map(
          (m): DescribedMember => ({
            memberId: memberShape(m.memberId),
            clientId: m.clientId,
            clientHost: m.clientHost,
            metadata: m.memberMetadata.toString('base64'),
            assignment: m.memberAssignment.toString('base64'),
          }),
        ),
      },
      platformatic: plt && {
        state: plt.state,
        protocolType: plt.protocolType,
        protocol: plt.protocol,
        members: [...plt.members.values()].map((m) => ({
          memberId: memberShape(m.id),
          clientId: m.clientId,
          clientHost: m.clientHost,
          topics: m.metadata?.topics,
          assignments: [...(m.assignments ?? new Map()).entries()].map(([t, a]) => [t, a.partitions]),
        })),
      },
    }
  }
  try {
    await admin.connect()
    let joined = (): void => {}
    const assigned = new Promise<void>((resolve) => {
      joined = resolve
    })
    consumer.on(consumer.events.GROUP_JOIN, () => joined())
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({ eachMessage: async () => {} })
    await assigned
    const stable = await describe()
    await consumer.disconnect()
    return { stable, afterLeave: await describe() }
  } finally {
    await consumer.disconnect()
    await admin.disconnect()
    await pltAdmin.close()
  }
}
