const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** `512`, `8G`, `1.5T` -> bytes (binary units, as PVE). */
export function parseBytes(value: string | number): number {
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?$/i.exec(value.trim());
  if (!match) throw new Error(`not a size: '${value}'`);
  return Math.round(Number(match[1]) * UNITS[match[2].toUpperCase()]);
}

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

/** PVE prints disk sizes the short way: 8G, 512M. */
export function formatDiskSize(bytes: number): string {
  for (const [unit, factor] of [['T', 1024 ** 4], ['G', GiB], ['M', MiB], ['K', 1024]] as const) {
    if (bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return String(bytes);
}
