#!/usr/bin/env node
/**
 * The `samsa` command. Only the module of the command being run is loaded (the broker, the
 * codecs and compression libraries take time to load); the others are listed by name.
 */
import { createRequire } from 'node:module'
import type { Command } from 'commander'
import { ExitCode } from './usage.ts'
import { samsaVersion } from './version.ts'

/**
 * commander by require: an `import` of a CommonJS package first has node scan its source for the
 * names it exports, a few ms of every start.
 */
const commander = createRequire(import.meta.url)('commander') as typeof import('commander')

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
  {
    name: 'offsets',
    description: 'offsets of partitions: earliest, latest, at a time',
    load: async () => (await import('./commands/offsets.ts')).registerOffsetsCommand,
  },
  {
    name: 'log-dirs',
    description: 'where brokers store partitions, and their sizes',
    load: async () => (await import('./commands/log-dirs.ts')).registerLogDirsCommand,
  },
  {
    name: 'producers',
    description: 'active idempotent and transactional producers of partitions',
    load: async () => (await import('./commands/producers.ts')).registerProducersCommand,
  },
  {
    name: 'transactions',
    description: 'list and describe transactional ids, abort hanging transactions',
    load: async () => (await import('./commands/transactions.ts')).registerTransactionsCommand,
  },
  {
    name: 'acls',
    description: "ACLs of Kafka's standard authorizer: list, create, delete",
    load: async () => (await import('./commands/acls.ts')).registerAclsCommand,
  },
  {
    name: 'quotas',
    description: 'client quotas: byte rates per user, client id or IP',
    load: async () => (await import('./commands/quotas.ts')).registerQuotasCommand,
  },
  {
    name: 'users',
    description: 'SCRAM credentials of users (SASL authentication)',
    load: async () => (await import('./commands/users.ts')).registerUsersCommand,
  },
  {
    name: 'top',
    description: "a live view of a broker from its HTTP port's /metrics",
    load: async () => (await import('./commands/top.ts')).registerTopCommand,
  },
  {
    name: 'profile',
    description: 'named client settings (bootstrap servers, timeout) so --bootstrap need not be typed',
    load: async () => (await import('./commands/profile.ts')).registerProfileCommand,
  },
  {
    name: 'completion',
    description: 'print a shell completion script (bash, zsh or fish)',
    load: async () => {
      const { registerCompletionCommand } = await import('./commands/completion.ts')
      return (program) => registerCompletionCommand(program, fullTree)
    },
  },
]

/** A program with every command loaded (for the completion scripts). */
async function fullTree(): Promise<Command> {
  const all = new commander.Command().name('samsa')
  for (const entry of COMMANDS) (await entry.load())(all)
  addVersion(all)
  return all
}

/** `--version` (and -V) on samsa and every subcommand, as on the program itself. */
function addVersion(cmd: Command): void {
  cmd.version(samsaVersion(), '-V, --version', 'print the samsa version')
  for (const sub of cmd.commands) addVersion(sub)
}

const verbose = process.argv.includes('--verbose') || process.argv.includes('-v')

/** Exits once stdout and stderr are flushed (they may be pipes). */
function exit(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)))
}

const program = new commander.Command()

/**
 * `samsa topics create` for `samsa topics create x --partitons 3`: the command the arguments
 * name, for the hint after a usage error.
 */
function commandPath(args: string[]): string {
  const names = ['samsa']
  let cmd: Command = program
  for (const arg of args) {
    if (arg.startsWith('-')) continue
    const sub = cmd.commands.find((c) => c.name() === arg)
    if (!sub) break
    names.push(arg)
    cmd = sub
  }
  return names.join(' ')
}

/** A usage problem as one line: what is wrong, then where the command's help is. */
function usageLine(message: string): string {
  const text = message
    .replace(/^error: /, '')
    .replace(/\n+\(Did you mean/, ' (did you mean')
    .replace(/ is invalid\. /, ' is invalid: ')
    .replace(/\.$/, '')
    .replaceAll('\n', ' ')
  return `samsa: error: ${text}; see ${commandPath(process.argv.slice(2))} --help\n`
}

async function main(): Promise<void> {
  program
    .name('samsa')
    .description('samsa: a Kafka-compatible event streaming platform')
    .exitOverride()
    // Usage errors are printed by the handler below as one line with a pointer to the help
    // (subcommands inherit this), not followed by the whole help text.
    .configureOutput({ outputError: () => {} })
  const args = process.argv.slice(2)
  // `samsa <name> ...` or `samsa help <name>` needs the real command; the rest only its name.
  const wanted = args[0] === 'help' ? args[1] : args[0]
  for (const entry of COMMANDS) {
    if (entry.name === wanted) (await entry.load())(program)
    else program.command(entry.name).description(entry.description)
  }
  addVersion(program)
  await program.parseAsync(process.argv)
}

main().then(
  () => {
    // Client commands are done: do not wait for idle sockets or timers.
    const name = process.argv[2]
    if (name !== undefined && name !== 'broker') exit(Number(process.exitCode ?? ExitCode.OK))
  },
  async (err: unknown) => {
    if (err instanceof commander.CommanderError) {
      const ok =
        err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version'
      if (!ok) process.stderr.write(usageLine(err.message))
      return exit(ok ? ExitCode.OK : ExitCode.USAGE)
    }
    // Loaded here: common.ts brings the client, which `samsa broker` and --help do not need.
    const { describeError } = await import('./common.ts')
    const { code, message } = describeError(err)
    process.stderr.write(code === ExitCode.USAGE ? usageLine(message) : `samsa: error: ${message}\n`)
    if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`)
    exit(code)
  },
)
