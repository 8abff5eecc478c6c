import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'
import type { startBroker } from '../../broker/broker.ts'
import { listenerSecurityProblems } from '../../broker/listener-security.ts'
import { clientListeners } from '../../broker/listeners-config.ts'
import { knownBrokerConfigNames, normalizeBrokerProps, validateBrokerProps } from '../../config/broker-configs.ts'
import { propsFromEnv, readPropertiesFile } from '../../config/properties-file.ts'
import { createBrokerLogger, LOG_LEVELS, parseLogFormat, parseLogLevel } from '../output/log-format.ts'
import { UsageError } from '../usage.ts'

interface BrokerFlags {
  config?: string
  set: string[]
  port?: string
  httpPort?: string
  host?: string
  dataDir?: string
  advertisedHost?: string
  nodeId?: string
  rack?: string
  memory?: boolean
  storage?: string
  brokers?: string
  logLevel?: string
  logFormat?: string
}

const collect = (value: string, previous: string[]): string[] => [...previous, value]

/**
 * startBroker from the package's bundle (dist/bundle/index.js, what `import 'samsa'` loads): one
 * file to load instead of some 150 modules, about half the broker's start-up time. The modules
 * themselves where no bundle is built beside this file.
 */
async function loadStartBroker(): Promise<typeof startBroker> {
  const bundle = new URL('../../../bundle/index.js', import.meta.url).href
  try {
    return ((await import(bundle)) as { startBroker: typeof startBroker }).startBroker
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND' || !String(err).includes(fileURLToPath(bundle)))
      throw err
    return (await import('../../broker/broker.ts')).startBroker
  }
}

/** `samsa broker`: runs a broker until SIGTERM or SIGINT. */
export function registerBrokerCommand(program: Command): void {
  program
    .command('broker')
    .description('run a Kafka-compatible broker (local storage in ./data, port 9092 by default)')
    .option('-c, --config <file>', 'a server.properties file with Kafka config names')
    .option('-s, --set <name=value>', 'set a Kafka config, e.g. --set num.partitions=3 (repeatable)', collect, [])
    .option('-p, --port <port>', 'port to listen on (listeners=PLAINTEXT://:<port>)')
    .option('--http-port <port>', 'serve health checks and Prometheus /metrics on this port (http.listeners)')
    .option('--host <host>', 'interface to bind (default: every interface)')
    .option('-d, --data-dir <dir>', 'data directory (log.dirs)')
    .option('--advertised-host <host>', 'host name clients are told to connect to (default localhost)')
    .option('--node-id <id>', 'node.id; over a shared postgres:// database one is allocated from 1001 when absent')
    .option('--rack <rack>', 'broker.rack: consumers with this client.rack read from this broker (KIP-392)')
    .option('--memory', 'keep everything in memory (nothing is written to disk)')
    .option(
      '--storage <engine>',
      'local (default), memory, a postgres://user:password@host:port/db URL, or postgres (an embedded PostgreSQL in the data directory)',
    )
    .option(
      '--brokers <n>',
      'answer as n brokers on consecutive ports over one store, to try clients against a cluster (default 1)',
    )
    .option('--log-level <level>', `${LOG_LEVELS.join(', ')} (default info)`)
    .option(
      '--log-format <format>',
      'pretty (readable lines, the default on a terminal) or json (JSON lines, the default otherwise)',
    )
    .addHelpText(
      'after',
      `
The log goes to stdout: readable lines on a terminal, JSON lines (pino) otherwise or with
--log-format json. At start the broker logs the address it binds (every interface unless --host)
and the one it advertises to clients (--advertised-host, advertised.listeners).

Configuration comes from, lowest precedence first: Kafka's defaults, the --config file,
SAMSA_* environment variables (SAMSA_NUM_PARTITIONS=3 sets num.partitions), then flags.

Examples:
  samsa broker                                 # localhost:9092, data in ./data
  samsa broker --port 19092 --data-dir ~/samsa-data
  samsa broker --memory --set auto.create.topics.enable=false
  samsa broker --memory --brokers 3            # nodes 1-3 on ports 9092-9094
  samsa broker --http-port 8080                # /health/live, /health/ready, /metrics
  samsa broker --storage postgres              # an embedded PostgreSQL in ./data/postgres
  samsa broker --storage postgres://samsa:secret@db:5432/samsa
  samsa broker --storage postgres://samsa:secret@db:5432/samsa --node-id 2 --port 9093 --rack zone-b
  SAMSA_LOG_RETENTION_MS=3600000 samsa broker`,
    )
    .action(async (flags: BrokerFlags) => {
      const logFormat = parseLogFormat(flags.logFormat, process.stdout.isTTY === true)
      const props = brokerProps(flags)
      const brokers = flags.brokers === undefined ? 1 : Number(flags.brokers)
      if (!Number.isInteger(brokers) || brokers < 1) {
        throw new UsageError(`--brokers expects a positive whole number, got "${flags.brokers}"`)
      }
      // pino loads while the broker's modules are read (start-up time).
      const loading = loadStartBroker()
      const logger = createBrokerLogger(props['log.level'] ?? 'info', logFormat)
      const start = await loading
      // The handlers are in place before the broker starts: a signal that comes as soon as it
      // logs "listening" (a script that waits for that line) stops it cleanly, not by default.
      let stopping: string | undefined
      let started: Awaited<ReturnType<typeof startBroker>> | undefined
      const stop = (signal: string): void => {
        if (stopping !== undefined) return
        stopping = signal
        logger.info({ signal }, 'shutting down')
        started?.close().then(
          () => process.exit(0),
          (err) => {
            logger.error({ err }, 'shutdown failed')
            process.exit(1)
          },
        )
      }
      process.once('SIGTERM', () => stop('SIGTERM'))
      process.once('SIGINT', () => stop('SIGINT'))
      // A broker of `samsa cluster` runs detached from the terminal: it stops with that process,
      // however that process ends (once orphaned, a process gets another parent).
      if (process.env.SAMSA_EXIT_WITH_PARENT === '1') {
        const parent = process.ppid
        setInterval(() => process.ppid !== parent && stop('parent exited'), 500).unref()
      }
      started = await start({
        config: props,
        advertisedHost: flags.advertisedHost,
        brokers,
        logger,
      })
      if (stopping !== undefined) {
        const signal = stopping
        stopping = undefined
        stop(signal)
      }
    })
}

/**
 * The broker properties of a run, lowest precedence first: samsa's CLI defaults, the --config
 * file, SAMSA_* variables, --set, then the flags. Invalid ones are a usage error (exit code 2).
 */
function brokerProps(flags: BrokerFlags): Record<string, string> {
  const props: Record<string, string> = {}
  if (flags.config) {
    try {
      Object.assign(props, readPropertiesFile(flags.config))
    } catch (err) {
      throw new UsageError(`cannot read --config ${flags.config}: ${(err as Error).message}`)
    }
  }
  Object.assign(props, propsFromEnv(process.env, new Set(knownBrokerConfigNames())))
  for (const pair of flags.set) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new UsageError(`--set expects name=value, got "${pair}"`)
    props[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  if (flags.port !== undefined && !/^\d+$/.test(flags.port)) {
    throw new UsageError(`--port expects a port number, got "${flags.port}"`)
  }
  if (flags.port || flags.host !== undefined) {
    props.listeners = `PLAINTEXT://${flags.host ?? ''}:${flags.port ?? 9092}`
  }
  if (flags.httpPort !== undefined) {
    if (!/^\d+$/.test(flags.httpPort))
      throw new UsageError(`--http-port expects a port number, got "${flags.httpPort}"`)
    props['http.listeners'] = `http://${flags.host ?? ''}:${flags.httpPort}`
  }
  if (flags.nodeId !== undefined) {
    if (!/^\d+$/.test(flags.nodeId)) throw new UsageError(`--node-id expects a number, got "${flags.nodeId}"`)
    props['node.id'] = flags.nodeId
  }
  if (flags.rack !== undefined) props['broker.rack'] = flags.rack
  if (flags.dataDir) props['log.dirs'] = flags.dataDir
  if (flags.storage) props['samsa.storage'] = flags.storage
  if (flags.memory) props['samsa.storage'] = 'memory'
  if (flags.logLevel) props['log.level'] = parseLogLevel(flags.logLevel)
  // Defaults of `samsa broker` (startBroker's, for embedded brokers, differ).
  props.listeners ??= 'PLAINTEXT://:9092'
  if (props['log.dirs'] === undefined && props['log.dir'] === undefined) props['log.dirs'] = './data'
  props['samsa.storage'] ??= 'local'
  // Kafka's default; embedded brokers (startBroker) default to 0 for fast test suites.
  props['group.initial.rebalance.delay.ms'] ??= '3000'
  const normalized = normalizeBrokerProps(props).props
  const problems = validateBrokerProps(normalized)
  try {
    for (const spec of clientListeners(normalized, props.listeners)) {
      problems.push(...listenerSecurityProblems(normalized, spec))
    }
  } catch (err) {
    problems.push((err as Error).message)
  }
  if (problems.length > 0) throw new UsageError(`invalid broker configuration: ${problems.join('; ')}`)
  return props
}
