/**
 * `samsa completion bash|zsh|fish`: a completion script for the shell, written from the command
 * tree itself (every command, subcommand and option with its description), so it cannot drift
 * from what the commands accept.
 */
import type { Command } from 'commander'
import { EXIT_CODES_HELP, UsageError } from '../common.ts'

/** A command as the completion scripts see it. */
interface Node {
  /** The command path without `samsa`, e.g. `groups describe` ('' for samsa itself). */
  path: string
  description: string
  subcommands: { name: string; description: string }[]
  options: { flags: string[]; description: string; takesValue: boolean }[]
}

const SHELLS = ['bash', 'zsh', 'fish'] as const
type Shell = (typeof SHELLS)[number]

/** Every command of the tree, depth first, with its options (help and version included). */
function nodes(program: Command): Node[] {
  const out: Node[] = []
  const walk = (cmd: Command, path: string): void => {
    const options = cmd.options.map((o) => ({
      flags: [o.short, o.long].filter((f): f is string => f !== undefined),
      description: o.description,
      takesValue: o.required || o.optional,
    }))
    options.push({ flags: ['-h', '--help'], description: 'show the help', takesValue: false })
    const subs = cmd.commands.filter((c) => c.name() !== 'help')
    out.push({
      path,
      description: cmd.description(),
      subcommands: subs.map((c) => ({ name: c.name(), description: c.description() })),
      options,
    })
    for (const sub of subs) walk(sub, path === '' ? sub.name() : `${path} ${sub.name()}`)
  }
  walk(program, '')
  return out
}

const single = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`

function bashScript(tree: Node[]): string {
  const cases = tree.map((n) => {
    const words = [...n.subcommands.map((s) => s.name), ...n.options.flatMap((o) => o.flags)].join(' ')
    const valued = n.options
      .filter((o) => o.takesValue)
      .flatMap((o) => o.flags)
      .join('|')
    return `    ${single(n.path)}) words=${single(words)}; valued=${single(valued)} ;;`
  })
  return `# samsa completion for bash: add to ~/.bashrc
#   source <(samsa completion bash)
_samsa() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  local path='' next words valued i
  # The command path: the leading words that name subcommands.
  for ((i = 1; i < COMP_CWORD; i++)); do
    next=\${path:+$path }\${COMP_WORDS[i]}
    case "$next" in
${tree
  .filter((n) => n.path !== '')
  .map((n) => `      ${single(n.path)}) path=$next ;;`)
  .join('\n')}
      *) [[ \${COMP_WORDS[i]} != -* ]] && break ;;
    esac
  done
  case "$path" in
${cases.join('\n')}
    *) words=''; valued='' ;;
  esac
  # After an option that takes a value, complete file names.
  if [[ -n $valued && $prev == -* && "|$valued|" == *"|$prev|"* ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
    return
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _samsa samsa
`
}

function zshScript(tree: Node[]): string {
  const zshEscape = (s: string): string => s.replaceAll('\\', '\\\\').replaceAll(':', '\\:')
  const cases = tree.map((n) => {
    const subs = n.subcommands.map((s) => single(`${zshEscape(s.name)}:${zshEscape(s.description)}`)).join(' ')
    const opts = n.options
      .flatMap((o) => o.flags.map((f) => single(`${zshEscape(f)}:${zshEscape(o.description)}`)))
      .join(' ')
    return `    ${single(n.path)}) subs=(${subs}); opts=(${opts}) ;;`
  })
  const paths = tree
    .filter((n) => n.path !== '')
    .map((n) => single(n.path))
    .join(' ')
  return `#compdef samsa
# samsa completion for zsh: add to ~/.zshrc (after compinit)
#   source <(samsa completion zsh)
_samsa() {
  local path='' next i
  local -a subs opts known
  known=(${paths})
  for ((i = 2; i < CURRENT; i++)); do
    next=\${path:+$path }\${words[i]}
    if (( \${known[(Ie)$next]} )); then path=$next; elif [[ \${words[i]} != -* ]]; then break; fi
  done
  case "$path" in
${cases.join('\n')}
    *) subs=(); opts=() ;;
  esac
  if [[ \${words[CURRENT]} == -* ]]; then
    _describe -t options 'option' opts
  elif (( \${#subs} )); then
    _describe -t commands 'command' subs
  else
    _files
  fi
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then _samsa "$@"; else compdef _samsa samsa; fi
`
}

function fishScript(tree: Node[]): string {
  const lines = [
    '# samsa completion for fish: save as ~/.config/fish/completions/samsa.fish',
    '#   samsa completion fish > ~/.config/fish/completions/samsa.fish',
    '# The command path typed so far: the leading words that name subcommands.',
    'function __samsa_path',
    '    set -l words (commandline -opc)',
    '    set -l path',
    '    for w in $words[2..-1]',
    `        if contains -- "$path $w" ${tree
      .filter((n) => n.path !== '')
      .map((n) => single(` ${n.path}`))
      .join(' ')}`,
    '            set path "$path $w"',
    "        else if not string match -q -- '-*' $w",
    '            break',
    '        end',
    '    end',
    '    echo (string trim -- "$path")',
    'end',
    'complete -c samsa -f',
  ]
  for (const n of tree) {
    const when = `-n ${single(`test (__samsa_path) = ${single(n.path)}`)}`
    for (const s of n.subcommands) {
      lines.push(`complete -c samsa ${when} -a ${single(s.name)} -d ${single(s.description)}`)
    }
    for (const o of n.options) {
      const parts = o.flags.map((f) => (f.startsWith('--') ? `-l ${f.slice(2)}` : `-s ${f.slice(1)}`))
      lines.push(
        `complete -c samsa ${when} ${parts.join(' ')}${o.takesValue ? ' -r -F' : ''} -d ${single(o.description)}`,
      )
    }
  }
  return `${lines.join('\n')}\n`
}

/**
 * Registers `samsa completion`. `fullTree` builds the whole command tree (the CLI loads only the
 * command being run; the script must know them all).
 */
export function registerCompletionCommand(program: Command, fullTree: () => Promise<Command>): void {
  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .argument('<shell>', SHELLS.join(', '))
    .addHelpText(
      'after',
      `
Examples:
  source <(samsa completion bash)                                     # in ~/.bashrc
  source <(samsa completion zsh)                                      # in ~/.zshrc, after compinit
  samsa completion fish > ~/.config/fish/completions/samsa.fish
${EXIT_CODES_HELP}`,
    )
    .action(async (shell: string) => {
      if (!(SHELLS as readonly string[]).includes(shell)) {
        throw new UsageError(`unknown shell "${shell}" (use ${SHELLS.join(', ')})`)
      }
      const tree = nodes(await fullTree())
      const script = { bash: bashScript, zsh: zshScript, fish: fishScript }[shell as Shell](tree)
      process.stdout.write(script)
    })
}
