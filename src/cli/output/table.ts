/** Plain-text tables for listing commands: padded columns, a header row, numbers right-aligned. */

/** A cell value. */
export type Cell = string | number | bigint | boolean | null | undefined

function text(v: Cell): string {
  if (v === null || v === undefined) return '-'
  return String(v)
}

/** Formats rows under headers as aligned columns. */
export function formatTable(headers: string[], rows: Cell[][]): string {
  const cells = rows.map((r) => headers.map((_, i) => text(r[i])))
  const numeric = headers.map(
    (_, i) =>
      rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || typeof r[i] === 'bigint' || r[i] === null),
  )
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] as string).length)))
  const line = (r: string[]): string =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd()
  return [line(headers), ...cells.map(line)].join('\n')
}

/** Prints a table to stdout. */
export function printTable(headers: string[], rows: Cell[][]): void {
  process.stdout.write(`${formatTable(headers, rows)}\n`)
}

/** Formats a byte count (1.5 KiB, 3.2 MiB...). */
export function formatBytes(n: number | bigint): string {
  let v = Number(n)
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`
}
