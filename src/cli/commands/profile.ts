/** `samsa profile create|use|list|delete`: named client settings, as rpk's profiles. */
import type { Command } from 'commander'
import { EXIT_CODES_HELP, info, parsePositiveArg, printJson, UsageError } from '../common.ts'
import { printTable } from '../output/table.ts'
import { type Profile, readProfiles, unknownProfile, writeProfiles } from '../profiles.ts'

interface CreateFlags {
  bootstrap?: string
  timeout?: number
  clientId?: string
  use?: boolean
  force?: boolean
}

/** Profile names are used on command lines and in environment variables: keep them plain. */
function checkName(name: string): void {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) {
    throw new UsageError(`invalid profile name "${name}" (letters, digits, '.', '_' and '-')`)
  }
}

/** Registers the profile command group. */
export function registerProfileCommand(program: Command): void {
  const profile = program
    .command('profile')
    .description('named client settings (bootstrap servers, timeout) so --bootstrap need not be typed')
    .addHelpText(
      'after',
      `
Profiles are kept in ~/.config/samsa/profiles.json ($XDG_CONFIG_HOME/samsa or $SAMSA_CONFIG_DIR
when set). A command uses
--profile <name>, else SAMSA_PROFILE, else the profile chosen with 'samsa profile use'. Flags and
SAMSA_BOOTSTRAP still win over what the profile says.`,
    )

  profile
    .command('create')
    .description('create (or with --force replace) a profile')
    .argument('<name>')
    .option('-b, --bootstrap <servers>', 'bootstrap servers, host:port[,host:port]')
    .option('--timeout <ms>', 'request timeout in milliseconds', parsePositiveArg)
    .option('--client-id <id>', 'client.id the commands send (default: samsa-<command>)')
    .option('--use', 'make it the current profile')
    .option('--force', 'replace a profile of that name')
    .addHelpText(
      'after',
      `
Examples:
  samsa profile create local --bootstrap localhost:9092 --use
  samsa profile create staging -b kafka-1.staging:9092,kafka-2.staging:9092 --timeout 10000
  SAMSA_PROFILE=staging samsa topics list
${EXIT_CODES_HELP}`,
    )
    .action((name: string, flags: CreateFlags) => {
      checkName(name)
      if (!flags.bootstrap) throw new UsageError('give the profile its --bootstrap servers')
      const store = readProfiles()
      if (store.profiles[name] && !flags.force) {
        throw new UsageError(`profile ${name} already exists (add --force to replace it)`)
      }
      const entry: Profile = { bootstrap: flags.bootstrap }
      if (flags.timeout !== undefined) entry.timeout = flags.timeout
      if (flags.clientId !== undefined) entry.clientId = flags.clientId
      store.profiles[name] = entry
      if (flags.use) store.current = name
      writeProfiles(store)
      info(`created profile ${name}${flags.use ? ' (current)' : `; use it with: samsa profile use ${name}`}`)
    })

  profile
    .command('use')
    .description('make a profile the one commands use')
    .argument('<name>')
    .addHelpText('after', `\nExamples:\n  samsa profile use staging\n${EXIT_CODES_HELP}`)
    .action((name: string) => {
      const store = readProfiles()
      if (!store.profiles[name]) throw unknownProfile(name, store)
      store.current = name
      writeProfiles(store)
      info(`using profile ${name} (${store.profiles[name].bootstrap})`)
    })

  profile
    .command('list')
    .description('list profiles; * marks the current one')
    .option('--json', 'print JSON for scripts: one document per line, shapes in the README')
    .addHelpText('after', `\nExamples:\n  samsa profile list\n  samsa profile list --json\n${EXIT_CODES_HELP}`)
    .action((flags: { json?: boolean }) => {
      const store = readProfiles()
      const rows = Object.entries(store.profiles).map(([name, p]) => ({
        name,
        current: name === store.current,
        bootstrap: p.bootstrap ?? null,
        timeout: p.timeout ?? null,
        clientId: p.clientId ?? null,
      }))
      if (flags.json) printJson(rows)
      else if (rows.length === 0) info('no profiles (see samsa profile create --help)')
      else
        printTable(
          ['PROFILE', 'BOOTSTRAP', 'TIMEOUT', 'CLIENT ID'],
          rows.map((r) => [`${r.current ? '*' : ' '}${r.name}`, r.bootstrap, r.timeout, r.clientId]),
        )
    })

  profile
    .command('delete')
    .description('delete a profile')
    .argument('<name>')
    .addHelpText('after', `\nExamples:\n  samsa profile delete staging\n${EXIT_CODES_HELP}`)
    .action((name: string) => {
      const store = readProfiles()
      if (!store.profiles[name]) throw unknownProfile(name, store)
      delete store.profiles[name]
      if (store.current === name) delete store.current
      writeProfiles(store)
      info(`deleted profile ${name}`)
    })
}
