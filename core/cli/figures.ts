/** Numbers as the CLI shows them to people: counts with separators, byte sizes in binary units. */

/** `1,234,567`: Intl would do it too, at the price of loading ICU's locale data at every start. */
export function count(x: number): string {
  const [int = '', frac] = (Math.round(x * 1000) / 1000).toString().split('.');
  const grouped = int.replace(/\B(?=(\d{3})+$)/g, ',');
  return frac === undefined ? grouped : `${grouped}.${frac}`;
}

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
