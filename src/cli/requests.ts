/**
 * Requests of admin commands the client library has no call for (DescribeLogDirs per broker,
 * DescribeProducers, ListTransactions, DescribeTransactions): each is sent in the highest version
 * both the command and the broker speak, as the client does for its own APIs.
 */
import type { Cluster } from '../client/cluster.ts'
import type { Connection } from '../client/connection.ts'
import { ClientError } from '../client/errors.ts'
import { API_DESCRIPTORS } from '../protocol/generated/index.ts'

/** Sends a request at min(highest version the command builds, the broker's highest). */
export function sendNewest<Res>(
  conn: Connection,
  apiKey: number,
  versions: { min: number; max: number },
  build: (version: number) => unknown,
): Promise<Res> {
  const theirs = conn.brokerVersions.get(apiKey)
  const name = API_DESCRIPTORS.find((a) => a.apiKey === apiKey)?.name ?? String(apiKey)
  const version = Math.min(versions.max, theirs?.max ?? -1)
  if (!theirs || version < versions.min || version < theirs.min) {
    throw new ClientError(
      'SAMSA_ERR_UNSUPPORTED_VERSION',
      `the broker at ${conn.address} does not serve ${name} (API key ${apiKey}) in a version this command speaks`,
    )
  }
  return conn.sendVersion<Res>(apiKey, version, build(version))
}

/** Node ids of every broker of the cluster, from fresh metadata. */
export async function brokerIds(cluster: Cluster): Promise<number[]> {
  await cluster.refreshMetadata([])
  return [...cluster.brokers.keys()].sort((a, b) => a - b)
}
