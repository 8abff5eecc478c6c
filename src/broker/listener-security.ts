/**
 * What each listener needs for its security protocol, checked before anything binds, so that
 * `samsa broker` refuses a configuration it cannot serve as a usage error.
 */
import type { ListenerAddress } from './listeners-config.ts'

/** The problems of a listener's security configuration (none: it can be served). */
export function listenerSecurityProblems(
  _props: Readonly<Record<string, string | undefined>>,
  spec: ListenerAddress,
): string[] {
  if (spec.protocol !== 'PLAINTEXT') return [`listener ${spec.name}: ${spec.protocol} is not served yet`]
  return []
}
