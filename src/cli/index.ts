#!/usr/bin/env node
/**
 * The `samsa` command. Only the module of the command being run is loaded (the broker, the
 * codecs and compression libraries take time to load); the others are listed by name.
 */
import { Command, CommanderError } from 'commander'
import { describeError, ExitCode } from './common.ts'

interface CommandEntry {
  name: string
  description: string
  load(): Promise<(program: Command) => void>
}

const COMMANDS: CommandEntry[] = [
  {
    name: 'broker',
    description: 'run a Kafka-compatible broker (local storage in ./data, port 9092 by default)',
    load: async () => (await import('./commands/broker.ts')).registerBrokerCommand,
  },
  {
    name: 'topics',
    description: 'list, create, describe, alter and delete topics',
    load: async () => (await import('./commands/topics.ts')).registerTopicsCommand,
  },
  {
    name: 'produce',
    description: 'write records from stdin or a file to a topic',
    load: async () => (await import('./commands/produce.ts')).registerProduceCommand,
  },
  {
    name: 'consume',
    description: 'print records of a topic',
    load: async () => (await import('./commands/consume.ts')).registerConsumeCommand,
  },
  {
    name: 'groups',
    description: 'list, describe, delete consumer groups and reset their offsets',
    load: async () => (await import('./commands/groups.ts')).registerGroupsCommand,
  },
  {
    name: 'configs',
    description: 'describe and alter topic and broker configs',
    load: async () => (await import('./commands/configs.ts')).registerConfigsCommand,
  },
  {
    name: 'records',
    description: 'delete records from the start of partitions',
    load: async () => (await import('./commands/records.ts')).registerRecordsCommand,
  },
  {
    name: 'cluster',
    description: 'information about the cluster',
    load: async () => (await import('./commands/cluster.ts')).registerClusterCommand,
  },
  {
    name: 'perf',
    description: 'throughput and latency tests',
    load: async () => (await import('./commands/perf.ts')).registerPerfCommand,
  },
]

const verbose = process.argv.includes('--verbose') || process.argv.includes('-v')

/** Exits once stdout and stderr are flushed (they may be pipes). */
function exit(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)))
}

async function main(): Promise<void> {
  const program = new Command()
  program
    .name('samsa')
    .description('samsa: a Kafka-compatible event streaming platform')
    .showHelpAfterError()
    .exitOverride()
  const args = process.argv.slice(2)
  // `samsa <name> ...` or `samsa help <name>` needs the real command; the rest only its name.
  const wanted = args[0] === 'help' ? args[1] : args[0]
  for (const entry of COMMANDS) {
    if (entry.name === wanted) (await entry.load())(program)
    else program.command(entry.name).description(entry.description)
  }
  await program.parseAsync(process.argv)
}

main().then(
  () => {
    // Client commands are done: do not wait for idle sockets or timers.
    const name = process.argv[2]
    if (name !== undefined && name !== 'broker') exit(Number(process.exitCode ?? ExitCode.OK))
  },
  (err: unknown) => {
    if (err instanceof CommanderError) {
      // Commander already printed help or the usage problem.
      const ok =
        err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version'
      return exit(ok ? ExitCode.OK : ExitCode.USAGE)
    }
    const { code, message } = describeError(err)
    process.stderr.write(`samsa: error: ${message}\n`)
    if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`)
    exit(code)
  },
)
