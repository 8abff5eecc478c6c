/**
 * Profiles: named sets of client settings (bootstrap servers, request timeout, client id), as
 * rpk's profiles, so `--bootstrap` need not be typed on every command. They live in one JSON file,
 * `$SAMSA_CONFIG_DIR/profiles.json` (default `$XDG_CONFIG_HOME/samsa`, else `~/.config/samsa`).
 * A command uses `--profile`, else `SAMSA_PROFILE`, else the profile chosen with `samsa profile use`;
 * flags and SAMSA_* variables still win over what the profile says.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { UsageError } from './common.ts'

/** The settings a profile holds. */
export interface Profile {
  bootstrap?: string
  timeout?: number
  clientId?: string
}

/** The profiles file. */
export interface ProfileStore {
  /** The profile used when none is named. */
  current?: string
  profiles: Record<string, Profile>
}

/** Where the profiles file is. */
export function profilesPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.SAMSA_CONFIG_DIR || join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'samsa')
  return join(dir, 'profiles.json')
}

/** Reads the profiles file (empty when there is none). */
export function readProfiles(path = profilesPath()): ProfileStore {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { profiles: {} }
    throw err
  }
  try {
    const store = JSON.parse(text) as ProfileStore
    if (typeof store !== 'object' || store === null || typeof store.profiles !== 'object')
      throw new Error('no profiles')
    return store
  } catch (err) {
    throw new UsageError(`cannot read the profiles file ${path}: ${(err as Error).message}`)
  }
}

/** Writes the profiles file (through a temporary file, so a crash never leaves half of it). */
export function writeProfiles(store: ProfileStore, path = profilesPath()): void {
  mkdirSync(dirname(path), { recursive: true })
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(store, null, 2)}\n`, { mode: 0o600 })
  renameSync(tmp, path)
}

/** `profile a does not exist (profiles: b, c)`: the same words wherever a profile is named. */
export function unknownProfile(name: string, store: ProfileStore): UsageError {
  const names = Object.keys(store.profiles)
  const known =
    names.length === 0 ? 'there are none yet: see samsa profile create --help' : `profiles: ${names.join(', ')}`
  return new UsageError(`profile ${name} does not exist (${known})`)
}

/**
 * The profile a command runs with: `--profile`, else SAMSA_PROFILE, else the current one, else
 * none. A named profile that does not exist is a usage error; no profiles file means none.
 */
export function activeProfile(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): {
  name?: string
  profile: Profile
} {
  const named = flag || env.SAMSA_PROFILE || undefined
  const store = readProfiles(profilesPath(env))
  const name = named ?? store.current
  if (name === undefined) return { profile: {} }
  const profile = store.profiles[name]
  if (profile === undefined) throw unknownProfile(name, store)
  return { name, profile }
}
