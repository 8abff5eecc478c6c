/** `samsa --version` on every command, and the shell completion scripts run in real shells. */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { runCli } from './helpers.ts'

const CLI = fileURLToPath(new URL('../../src/cli/index.js', import.meta.url))
const VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version

const has = (shell: string): boolean => spawnSync(shell, ['-c', 'exit 0']).status === 0

/** Runs a script in a shell where `samsa` is the built CLI. */
function inShell(shell: string, script: string): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync(shell, ['-c', script], {
    env: { ...process.env, SAMSA_CLI: CLI, NODE: process.execPath },
    encoding: 'utf8',
  })
  return { status: res.status, stdout: res.stdout, stderr: res.stderr }
}

const SAMSA_FN = {
  bash: 'samsa() { "$NODE" "$SAMSA_CLI" "$@"; }',
  zsh: 'samsa() { "$NODE" "$SAMSA_CLI" "$@"; }',
  fish: 'function samsa; $NODE $SAMSA_CLI $argv; end',
}

// One at a time: the shell tests wait for their shells synchronously.
describe('samsa --version and completion', () => {
  test('--version and -V print the version on samsa and on every subcommand', async () => {
    for (const args of [
      ['--version'],
      ['-V'],
      ['topics', '--version'],
      ['groups', 'describe', '--version'],
      ['broker', '-V'],
      ['completion', '--version'],
    ]) {
      const res = await runCli(args)
      assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`)
      assert.equal(res.stdout, `${VERSION}\n`, args.join(' '))
    }
  })

  test('an unknown shell is a usage error', async () => {
    const res = await runCli(['completion', 'tcsh'])
    assert.equal(res.code, 2)
    assert.equal(res.stderr, 'samsa: error: unknown shell "tcsh" (use bash, zsh, fish); see samsa completion --help\n')
  })

  test('bash completes commands, subcommands, options and file names after a valued option', () => {
    const complete = (words: string[]): string[] => {
      const script = `${SAMSA_FN.bash}
source <(samsa completion bash) || exit 9
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_samsa; printf '%s\\n' "\${COMPREPLY[@]}"`
      const res = inShell('bash', script)
      assert.equal(res.status, 0, res.stderr)
      return res.stdout.split('\n').filter(Boolean).sort()
    }
    assert.deepEqual(complete(['samsa', 'gr']), ['groups'])
    assert.deepEqual(complete(['samsa', 'groups', 'de']), ['delete', 'delete-offsets', 'describe'])
    assert.deepEqual(complete(['samsa', 'consume', 'orders', '--fo']), ['--follow', '--format'])
    assert.deepEqual(complete(['samsa', 'topics', 'create', 'x', '--if']), ['--if-not-exists'])
    assert.ok(complete(['samsa', 'produce', 't', '-f', '']).length > 0, 'file names after --file')
    assert.deepEqual(complete(['samsa', '--vers']), ['--version'])
  })

  test('zsh registers the completion function', { skip: has('zsh') ? false : 'zsh is not installed' }, () => {
    const res = inShell(
      'zsh',
      `${SAMSA_FN.zsh}\nautoload -U compinit && compinit -u -d "$(mktemp)" && source <(samsa completion zsh) && print -r -- $_comps[samsa]`,
    )
    assert.equal(res.status, 0, res.stderr)
    assert.equal(res.stdout.trim(), '_samsa')
  })

  test('fish completes subcommands and options with descriptions', {
    skip: has('fish') ? false : 'fish is not installed',
  }, () => {
    const complete = (line: string): string => {
      const res = inShell('fish', `${SAMSA_FN.fish}\nsamsa completion fish | source; complete -C '${line}'`)
      assert.equal(res.status, 0, res.stderr)
      return res.stdout
    }
    assert.match(complete('samsa gro'), /^groups\tlist, describe, delete consumer groups/m)
    assert.match(complete('samsa groups de'), /^describe\t/m)
    assert.match(complete('samsa groups de'), /^delete\t/m)
    assert.match(complete('samsa consume orders --fol'), /^--follow\t/m)
    assert.doesNotMatch(complete('samsa consume orders --fol'), /--format/)
  })
})
