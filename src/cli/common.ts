/**
 * What every client command shares: the --bootstrap/--verbose/--json flags, a client per run,
 * exit codes scripts can rely on, and one-line error messages.
 */
import { type Command, InvalidArgumentError } from 'commander'
import { Admin } from '../client/admin.ts'
import { Cluster, type TopicInfo } from '../client/cluster.ts'
import { ClientError, KafkaError } from '../client/errors.ts'
import { readCommandConfig } from './command-config.ts'
import { activeProfile } from './profiles.ts'
import { ExitCode, UsageError } from './usage.ts'

export { ExitCode, UsageError } from './usage.ts'

/** Flags every client command has. */
export interface CommonFlags {
  /** As given on the command line; see openCluster for what applies when it is not. */
  bootstrap?: string
  profile?: string
  verbose?: boolean
  json?: boolean
  timeout?: number
  /** A Kafka client properties file with the security settings (security.protocol, ssl.*, sasl.*). */
  commandConfig?: string
}

/** Text shown after every command's help. */
export const EXIT_CODES_HELP = `
Exit codes: 0 success, 1 operation failed (e.g. unknown topic), 2 invalid usage,
3 broker unreachable.`

/** Adds --bootstrap, --verbose and (optionally) --json to a command. */
export function withCommonFlags(cmd: Command, options: { json?: boolean } = {}): Command {
  cmd
    .option(
      '-b, --bootstrap <servers>',
      'bootstrap servers, host:port[,host:port] (default: env SAMSA_BOOTSTRAP, the profile, localhost:9092)',
    )
    .option('--profile <name>', 'use this profile (default: env SAMSA_PROFILE, else the one samsa profile use chose)')
    .option('--timeout <ms>', 'request timeout in milliseconds (default: the profile, 30000)', parsePositiveArg)
    .option(
      '--command-config <file>',
      'Kafka client properties for secured clusters: security.protocol, ssl.*, sasl.mechanism, sasl.jaas.config (default: env SAMSA_COMMAND_CONFIG)',
    )
    .option('-v, --verbose', 'show stack traces on errors')
  if (options.json) cmd.option('--json', 'print JSON for scripts: one document per line, shapes in the README')
  return cmd
}

/** Parses an integer flag value (commander argument parser). */
export function parseIntArg(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError('not an integer.')
  return Number(value)
}

/** Parses a non-negative integer flag value. */
export function parseCountArg(value: string): number {
  const n = parseIntArg(value)
  if (n < 0) throw new InvalidArgumentError('must be zero or more.')
  return n
}

/** Parses a positive integer flag value (partition counts, replication factors, timeouts). */
export function parsePositiveArg(value: string): number {
  const n = parseIntArg(value)
  if (n < 1) throw new InvalidArgumentError('must be 1 or more.')
  return n
}

/** Parses a --partition list (`0` or `0,3`); the same in consume and records delete. */
export function parsePartitionList(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined
  const list = value.split(',').map((x) => x.trim())
  if (list.some((x) => !/^\d+$/.test(x))) {
    throw new UsageError(`invalid --partition "${value}" (a partition number, or a list such as 0,2)`)
  }
  return list.map(Number)
}

/**
 * Throws, for the first of `partitions` the topic does not have, the error every command gives
 * for it: UNKNOWN_TOPIC_OR_PARTITION, exit code 1 (the partition is looked up on the broker).
 */
export function checkPartitions(topic: TopicInfo, partitions: readonly number[]): void {
  const count = topic.partitions.length
  const missing = partitions.find((p) => !topic.partitions.some((x) => x.partition === p))
  if (missing === undefined) return
  const has = count === 0 ? 'no partitions' : count === 1 ? 'partition 0 only' : `partitions 0-${count - 1}`
  throw new KafkaError(
    UNKNOWN_TOPIC_OR_PARTITION,
    `partition does not exist (${topic.name} has ${has})`,
    `${topic.name}/${missing}`,
  )
}

/** Collects repeated flag values. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

/** Parses `name=value` pairs into a record. */
export function parseAssignments(pairs: string[] | undefined, what = 'config'): Record<string, string> {
  const out: Record<string, string> = {}
  for (const pair of pairs ?? []) {
    const i = pair.indexOf('=')
    if (i <= 0) throw new UsageError(`invalid ${what} "${pair}" (expected name=value)`)
    out[pair.slice(0, i)] = pair.slice(i + 1)
  }
  return out
}

/** Where the bootstrap servers came from when a profile gave them (for the unreachable message). */
let bootstrapFrom: string | undefined

/** The client settings of a run: flags, then SAMSA_* variables, then the profile, then defaults. */
export function clientSettings(flags: CommonFlags): { bootstrap: string; timeout: number; clientId?: string } {
  const { name, profile } = activeProfile(flags.profile)
  const fromProfile = !flags.bootstrap && !process.env.SAMSA_BOOTSTRAP && profile.bootstrap
  bootstrapFrom = fromProfile ? `profile ${name}` : undefined
  return {
    bootstrap: flags.bootstrap || process.env.SAMSA_BOOTSTRAP || profile.bootstrap || 'localhost:9092',
    timeout: flags.timeout ?? profile.timeout ?? 30_000,
    clientId: profile.clientId,
  }
}

/** A cluster for one command run. */
export function openCluster(flags: CommonFlags, clientId = 'samsa-cli'): Cluster {
  const settings = clientSettings(flags)
  const commandConfig = flags.commandConfig ?? process.env.SAMSA_COMMAND_CONFIG
  return new Cluster({
    ...(commandConfig ? readCommandConfig(commandConfig) : {}),
    bootstrap: settings.bootstrap,
    clientId: settings.clientId ?? clientId,
    requestTimeoutMs: settings.timeout,
    connectTimeoutMs: Math.min(settings.timeout, 10_000),
    retries: 3,
  })
}

/** Kafka's UNKNOWN_TOPIC_OR_PARTITION error code. */
export const UNKNOWN_TOPIC_OR_PARTITION = 3

/**
 * Metadata of the topic a producing command writes to. Like the Java producer and librdkafka,
 * it asks the broker to create a missing topic; where the broker refuses
 * (auto.create.topics.enable=false), the error says how to create it.
 */
export async function topicToProduce(cluster: Cluster, topic: string): Promise<TopicInfo> {
  try {
    return await cluster.topic(topic, { autoCreate: true })
  } catch (err) {
    if (err instanceof KafkaError && err.code === UNKNOWN_TOPIC_OR_PARTITION) {
      throw new KafkaError(
        UNKNOWN_TOPIC_OR_PARTITION,
        `topic does not exist and the broker does not create topics on first use (auto.create.topics.enable=false); create it with: samsa topics create ${topic}`,
        topic,
      )
    }
    throw err
  }
}

/** Runs `fn` with an admin client and closes it afterwards. */
export async function withAdmin<T>(flags: CommonFlags, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin(openCluster(flags))
  try {
    return await fn(admin)
  } finally {
    await admin.close()
  }
}

/**
 * Prints one JSON document on one line (bigints as numbers when safe, else strings). Every
 * `--json` output is one document per line; the shapes are documented in the README.
 */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, jsonReplacer)}\n`)
}

/**
 * Prints one JSON document per line (JSON Lines): describe commands print one object per topic
 * or group named, so `jq .field` reads the same with one name or several.
 */
export function printJsonLines(values: readonly unknown[]): void {
  process.stdout.write(values.map((v) => `${JSON.stringify(v, jsonReplacer)}\n`).join(''))
}

/** JSON.stringify replacer for bigints and buffers. */
export function jsonReplacer(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint')
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()
  return v
}

/** Writes a line to stderr (status messages, so stdout stays clean for data). */
export function info(message: string): void {
  process.stderr.write(`${message}\n`)
}

/** Kafka's GROUP_ID_NOT_FOUND error code. */
export const GROUP_ID_NOT_FOUND = 69

/**
 * One text per condition, whichever request found it: an unknown topic or group reads the same
 * from every command, whatever message the broker sent with the code.
 */
function kafkaErrorMessage(err: KafkaError): string {
  const r = err.resource
  if (r === undefined) return err.message
  if (err.code === UNKNOWN_TOPIC_OR_PARTITION && !r.includes('/')) {
    const text = `${err.name} (${r}): topic does not exist`
    return err.message.startsWith(text) ? err.message : text
  }
  if (err.code === GROUP_ID_NOT_FOUND) return `${err.name} (${r}): group does not exist`
  return err.message
}

/** The exit code and one-line message of an error. */
export function describeError(err: unknown): { code: number; message: string } {
  if (err instanceof UsageError) return { code: ExitCode.USAGE, message: err.message }
  if (err instanceof ClientError) {
    if (err.code === 'SAMSA_ERR_INVALID_ARGUMENT') return { code: ExitCode.USAGE, message: err.message }
    if (err.code === 'SAMSA_ERR_CONNECTION') {
      const from = bootstrapFrom === undefined ? '' : ` the address comes from ${bootstrapFrom};`
      return { code: ExitCode.UNREACHABLE, message: `${err.message} (is a broker running?${from} see --bootstrap)` }
    }
    return { code: ExitCode.FAILED, message: err.message }
  }
  if (err instanceof KafkaError) return { code: ExitCode.FAILED, message: kafkaErrorMessage(err) }
  if (err instanceof Error) return { code: ExitCode.FAILED, message: err.message }
  return { code: ExitCode.FAILED, message: String(err) }
}
