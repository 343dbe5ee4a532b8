/**
 * One value per key, made on first use and kept for the cold start: AWS clients per region, cluster
 * access per cluster. `forget` drops a key, so that a value that turned out bad is made again.
 */
export function perKey<T>(make: (key: string) => T): ((key: string) => T) & { forget(key: string): void } {
  const made = new Map<string, T>();
  const get = (key: string) => {
    let value = made.get(key);
    if (value === undefined) {
      value = make(key);
      made.set(key, value);
    }
    return value;
  };
  return Object.assign(get, { forget: (key: string) => void made.delete(key) });
}
