/** One benchmark figure as a `name=value` line; a number to at most `digits` decimals, trailing zeros dropped. */
export function print(name: string, value: number | string, digits = 3) {
  process.stdout.write(`${name}=${typeof value === 'number' ? Number(value.toFixed(digits)) : value}\n`);
}
