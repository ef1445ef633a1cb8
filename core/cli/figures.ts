/** Numbers as the CLI shows them to people: counts with separators, byte sizes in binary units. */

export const count = (x: number): string => x.toLocaleString('en-US');

export function byteSize(x: number): string {
  if (x < 1024) return `${x} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = x / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i] ?? ''}`;
}
