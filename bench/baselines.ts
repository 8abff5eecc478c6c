/**
 * What the machine itself can do, measured in the same run as the broker:
 * - loopback TCP with the produce test's frames, connections and pipelining, against a sink
 *   process that splits frames by counting, discards them and answers a canned Produce response;
 * - loopback TCP with the fetch test's response sizes, against a source process answering
 *   canned Fetch responses;
 * - disk: 1 MiB appends through fs/promises (libuv's pool, as the local engine writes), without
 *   and with fdatasync after each, and the latency of a 4 KiB write + fdatasync;
 * - memory: 1 MiB copies into freshly allocated buffers that are all kept, as the memory engine
 *   keeps every produced byte (on a VM, the page faults of new memory set this rate).
 */
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { startServer } from './children.ts'
import { BATCHES_PER_FETCH, type FetchRun, fetchLoad } from './fetch.ts'
import { benchBatch, PARTITIONS, type ProduceRun, produceLoad, RECORDS_PER_BATCH } from './produce.ts'
import { cannedProduceResponse } from './requests.ts'
import { MB, MiB, msBetween, now, percentile, sorted, tempDir } from './util.ts'

/** The produce load against the sink: the ceiling for produce over loopback. */
export async function tcpProduceBaseline(): Promise<ProduceRun> {
  const server = await startServer({ kind: 'sink', response: cannedProduceResponse('bench-acks1', 0).toString('hex') })
  try {
    return await produceLoad({ server, topic: 'bench-acks1', acks: 1 })
  } finally {
    await server.stop()
  }
}

/** The fetch load against the source: the ceiling for fetch over loopback. */
export async function tcpFetchBaseline(): Promise<FetchRun> {
  const server = await startServer({
    kind: 'source',
    topic: 'bench-acks1',
    recordsBytes: BATCHES_PER_FETCH * benchBatch().length,
  })
  try {
    const endOffsets = Array.from({ length: PARTITIONS }, () => BATCHES_PER_FETCH * RECORDS_PER_BATCH)
    return await fetchLoad(server, { topic: 'bench-acks1', endOffsets }, false)
  } finally {
    await server.stop()
  }
}

export interface MachineResult {
  /** 1 MiB sequential appends, no sync (page cache), MB/s. */
  appendMbPerSec: number
  /** 1 MiB appends with fdatasync after each, MB/s. */
  syncedMbPerSec: number
  /** 4 KiB write + fdatasync, ms. */
  smallSyncP50Ms: number
  smallSyncP99Ms: number
  /** 1 MiB copies into new buffers that stay referenced, MB/s. */
  retainedMemoryMbPerSec: number
}

const APPEND_MS = 1500
const SYNCED_MS = 1500
const SMALL_SYNCS = 200
const RETAINED_MIB = 768

/** The rate at which a process can take new memory and fill it: the memory engine's ceiling. */
function retainedMemoryRate(): number {
  const block = Buffer.alloc(MiB, 0x5a)
  const kept: Buffer[] = []
  const start = now()
  for (let i = 0; i < RETAINED_MIB; i++) {
    const b = Buffer.allocUnsafe(MiB)
    block.copy(b)
    kept.push(b)
  }
  return (kept.length * MiB) / MB / (msBetween(start, now()) / 1000)
}

export async function machineBaseline(): Promise<MachineResult> {
  const dir = await tempDir('disk')
  const block = Buffer.alloc(MiB, 0x5a)
  try {
    const append = async (sync: boolean, ms: number): Promise<number> => {
      const fh = await open(join(dir.path, sync ? 'synced.log' : 'append.log'), 'w')
      try {
        let position = 0
        const start = now()
        const deadline = start + BigInt(ms * 1e6)
        while (now() < deadline) {
          await fh.write(block, 0, block.length, position)
          position += block.length
          if (sync) await fh.datasync()
        }
        const seconds = msBetween(start, now()) / 1000
        // Untimed: do not leave dirty pages behind for the next measurement.
        if (!sync) await fh.datasync()
        return position / MB / seconds
      } finally {
        await fh.close()
      }
    }
    const appendMbPerSec = await append(false, APPEND_MS)
    const syncedMbPerSec = await append(true, SYNCED_MS)
    const small = Buffer.alloc(4096, 0x33)
    const fh = await open(join(dir.path, 'small.log'), 'w')
    const times: number[] = []
    try {
      for (let i = 0; i < SMALL_SYNCS; i++) {
        const t = now()
        await fh.write(small, 0, small.length, i * small.length)
        await fh.datasync()
        times.push(msBetween(t, now()))
      }
    } finally {
      await fh.close()
    }
    const s = sorted(times)
    return {
      appendMbPerSec,
      syncedMbPerSec,
      smallSyncP50Ms: percentile(s, 50),
      smallSyncP99Ms: percentile(s, 99),
      retainedMemoryMbPerSec: retainedMemoryRate(),
    }
  } finally {
    await dir.cleanup()
  }
}
