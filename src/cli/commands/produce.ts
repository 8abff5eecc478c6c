/** `samsa produce <topic>`: records from stdin or a file, one per line (or the whole input as one). */
import { createReadStream } from 'node:fs'
import type { Readable } from 'node:stream'
import type { Command } from 'commander'
import { Producer, type ProducerRecord, type RecordMetadata } from '../../client/producer.ts'
import type { RecordHeader } from '../../protocol/records/record-codec.ts'
import {
  type CommonFlags,
  checkPartitions,
  collect,
  EXIT_CODES_HELP,
  info,
  openCluster,
  parseCountArg,
  printJson,
  topicToProduce,
  UsageError,
  withCommonFlags,
} from '../common.ts'
import {
  compileInputPattern,
  type InputPattern,
  type ParsedRecord,
  parseJsonRecord,
  parseWithPattern,
} from '../input-format.ts'
import { decodeText, parseEncoding, type TextEncoding, unescapeFlag } from '../output/encoding.ts'
import { parseAcks, parseCompression } from '../producer-flags.ts'
import { checkTopicName } from '../validate.ts'

interface ProduceFlags extends CommonFlags {
  file?: string
  keySeparator?: string
  header: string[]
  partition?: number
  compression: string
  acks: string
  encoding: string
  raw?: boolean
  delimiter: string
  lingerMs: number
  batchSize: number
  nullValue?: string
  pattern?: string
  format: string
}

/**
 * Parses repeated -H key=value flags into record headers, in order and with repeated keys kept
 * (Kafka headers are an ordered list: kcat and the Java client allow a key more than once).
 */
function parseHeaders(flags: string[]): RecordHeader[] {
  return flags.map((flag) => {
    const i = flag.indexOf('=')
    if (i <= 0) throw new UsageError(`invalid header "${flag}" (expected key=value)`)
    return { key: flag.slice(0, i), value: Buffer.from(flag.slice(i + 1)) }
  })
}

/** Splits a stream into records at a delimiter, keeping bytes intact. */
async function* splitRecords(input: Readable, delimiter: Buffer): AsyncGenerator<Buffer> {
  let rest: Buffer = Buffer.alloc(0)
  for await (const chunk of input) {
    rest = rest.length === 0 ? (chunk as Buffer) : Buffer.concat([rest, chunk as Buffer])
    let start = 0
    for (let i = rest.indexOf(delimiter, start); i >= 0; i = rest.indexOf(delimiter, start)) {
      yield rest.subarray(start, i)
      start = i + delimiter.length
    }
    rest = rest.subarray(start)
  }
  if (rest.length > 0) yield rest
}

async function readAll(input: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of input) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** How each input record is read: a line (key separator), a pattern, or a JSON object. */
type InputReader = (line: Buffer) => ParsedRecord

function inputReader(flags: ProduceFlags, encoding: TextEncoding): { read?: InputReader; pattern?: InputPattern } {
  if (flags.format !== 'lines' && flags.format !== 'json') {
    throw new UsageError(`unknown input format "${flags.format}" (use lines or json, or --pattern)`)
  }
  const given = [flags.raw, flags.pattern !== undefined, flags.format === 'json', flags.keySeparator !== undefined]
  if (given.filter(Boolean).length > 1) {
    throw new UsageError('use only one of --raw, --pattern, --format json and --key-separator')
  }
  if (flags.format === 'json') return { read: (line) => parseJsonRecord(line, encoding) }
  if (flags.pattern === undefined) return {}
  const pattern = compileInputPattern(unescapeFlag(flags.pattern))
  return { pattern, read: (line) => parseWithPattern(line, pattern, encoding) }
}

function toRecord(
  line: Buffer,
  topic: string,
  flags: ProduceFlags,
  separator: Buffer | undefined,
  encoding: TextEncoding,
  headers: RecordHeader[],
  read: InputReader | undefined,
): ProducerRecord {
  if (read) {
    const r = read(line)
    return {
      topic,
      key: r.key,
      value: r.value,
      headers: r.headers ? [...headers, ...r.headers] : headers,
      partition: r.partition ?? flags.partition,
      timestamp: r.timestamp,
    }
  }
  let key: Buffer | null = null
  let value: Buffer | null = line
  if (separator) {
    const i = line.indexOf(separator)
    if (i < 0) throw new UsageError(`line without key separator: "${line.toString().slice(0, 60)}"`)
    key = decodeText(line.subarray(0, i), encoding)
    value = line.subarray(i + separator.length)
  }
  if (flags.nullValue !== undefined && value.equals(Buffer.from(flags.nullValue))) value = null
  else value = decodeText(value, encoding)
  return { topic, key, value, headers, partition: flags.partition }
}

/** Registers `samsa produce`. */
export function registerProduceCommand(program: Command): void {
  withCommonFlags(
    program.command('produce').description('write records from stdin or a file to a topic').argument('<topic>'),
    { json: true },
  )
    .option('-f, --file <path>', 'read from this file instead of stdin')
    .option('-k, --key-separator <sep>', 'split each line into key and value at the first <sep>')
    .option(
      '-H, --header <key=value>',
      'add a header to every record (repeatable; order and repeated keys are kept)',
      collect,
      [],
    )
    .option(
      '-p, --partition <n>',
      'write to this partition (default: by key, murmur2 like the Java client)',
      parseCountArg,
    )
    .option('-z, --compression <codec>', 'none, gzip, snappy, lz4 or zstd', 'none')
    .option('-a, --acks <acks>', 'all, 1 or 0', 'all')
    .option('-e, --encoding <enc>', 'how keys and values are written in the input: utf8, base64 or hex', 'utf8')
    .option('--raw', 'send the whole input as one record value, byte for byte')
    .option('-d, --delimiter <str>', 'record delimiter (escapes like \\n, \\0 allowed)', '\\n')
    .option('--null-value <str>', 'a value equal to <str> is sent as null (a tombstone)')
    .option('--linger-ms <ms>', 'wait this long to fill batches', parseCountArg, 5)
    .option('--batch-size <bytes>', 'batch size in bytes', parseCountArg, 16_384)
    .option(
      '-F, --pattern <fmt>',
      'read each record with a pattern of %k key, %s value, %h headers (k=v,k=v), %p partition, %T timestamp (ms)',
    )
    .option('--format <fmt>', 'lines (a value per line) or json ({key, value, headers, timestamp} per line)', 'lines')
    .addHelpText(
      'after',
      `
Each input line becomes a record (keys with --key-separator); the command reports how many
records went to each partition and at which offsets (with --json, as JSON on stdout).

Per-record keys, headers, partitions and timestamps: --pattern reads each record with the
tokens consume -F prints (each token takes the text up to the next literal; the pattern's last
literal ends the record, else --delimiter does). --format json reads one object per line in the
shape consume --format json prints ({key, value, headers: [{key, value}], timestamp}, each
optional; its topic, partition and offset are ignored), so any header bytes and repeated keys
come through. -H headers come first.

Examples:
  echo hello | samsa produce greetings
  printf 'user1:login\\nuser2:logout\\n' | samsa produce events -k :
  samsa produce images --raw -f photo.jpg
  samsa produce events -f events.txt -z zstd -H source=import -H version=2
  samsa produce events -H trace=a -H trace=b      # two "trace" headers, in this order
  echo 'AAEC/w==' | samsa produce bin --encoding base64
  printf 'k1\\tsource=web,trace=a\\thello\\n' | samsa produce events -F '%k\\t%h\\t%s\\n'
  echo '{"key":"k1","value":"hi","headers":[{"key":"x","value":"1"},{"key":"x","value":"2"}]}' | samsa produce events --format json
  samsa consume orders --from-beginning --format json | samsa produce orders-copy --format json
${EXIT_CODES_HELP}`,
    )
    .action(async (topic: string, flags: ProduceFlags) => {
      checkTopicName(topic)
      const acks = parseAcks(flags.acks)
      const compression = parseCompression(flags.compression)
      const encoding = parseEncoding(flags.encoding)
      const headers = parseHeaders(flags.header)
      const separator = flags.keySeparator === undefined ? undefined : Buffer.from(unescapeFlag(flags.keySeparator))
      const { read, pattern } = inputReader(flags, encoding)
      const delimiter = Buffer.from(pattern?.terminator || unescapeFlag(flags.delimiter), 'latin1')
      if (delimiter.length === 0) throw new UsageError('the delimiter cannot be empty')
      const cluster = openCluster(flags, 'samsa-produce')
      const producer = new Producer(cluster, {
        acks,
        compression,
        lingerMs: flags.lingerMs,
        batchSize: flags.batchSize,
      })
      const input: Readable = flags.file ? createReadStream(flags.file) : process.stdin
      const results: Promise<RecordMetadata>[] = []
      let failed: unknown
      const track = (p: Promise<RecordMetadata>): void => {
        p.catch((err: unknown) => {
          failed ??= err
        })
        results.push(p)
      }
      try {
        // Metadata first (creating the topic where the broker allows it): a topic that cannot be
        // written fails before any input is read.
        const meta = await topicToProduce(cluster, topic)
        if (flags.partition !== undefined) checkPartitions(meta, [flags.partition])
        if (flags.raw) {
          const value = await readAll(input)
          track(producer.send({ topic, value, headers, partition: flags.partition }))
        } else {
          for await (const line of splitRecords(input, delimiter)) {
            track(producer.send(toRecord(line, topic, flags, separator, encoding, headers, read)))
            if (failed) break
            if (producer.pending > 10_000) await producer.flush()
          }
        }
        await producer.flush()
        const written = await Promise.allSettled(results)
        const errors = written.filter((r) => r.status === 'rejected')
        if (errors.length > 0) throw (errors[0] as PromiseRejectedResult).reason
        report(
          topic,
          written.map((r) => (r as PromiseFulfilledResult<RecordMetadata>).value),
          flags.json === true,
          acks,
        )
      } finally {
        await cluster.close()
      }
    })
}

function report(topic: string, written: RecordMetadata[], json: boolean, acks: number): void {
  const byPartition = new Map<number, { count: number; first: bigint; last: bigint }>()
  for (const m of written) {
    const s = byPartition.get(m.partition)
    if (!s) byPartition.set(m.partition, { count: 1, first: m.offset, last: m.offset })
    else {
      s.count++
      if (m.offset < s.first) s.first = m.offset
      if (m.offset > s.last) s.last = m.offset
    }
  }
  const partitions = [...byPartition].sort((a, b) => a[0] - b[0])
  if (json) {
    printJson({
      topic,
      records: written.length,
      partitions: partitions.map(([partition, s]) => ({
        partition,
        records: s.count,
        firstOffset: acks === 0 ? null : s.first,
        lastOffset: acks === 0 ? null : s.last,
      })),
    })
    return
  }
  const detail = partitions
    .map(([p, s]) => (acks === 0 ? `partition ${p}: ${s.count}` : `partition ${p}: offsets ${s.first}-${s.last}`))
    .join(', ')
  info(`produced ${written.length} record${written.length === 1 ? '' : 's'} to ${topic}${detail ? ` (${detail})` : ''}`)
}
