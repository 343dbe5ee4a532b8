/**
 * `T` with every property that may hold `undefined` made optional instead: what {@link defined}
 * returns. With `exactOptionalPropertyTypes` an optional property is absent or set, never present and
 * undefined.
 */
export type Defined<T> = {
  [K in keyof T as undefined extends T[K] ? never : K]: T[K];
} & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

/**
 * The object without its undefined properties: for building one of our types from an SDK answer whose
 * fields may each be missing, so that a missing field is left out instead of set to undefined.
 */
export function defined<T extends object>(value: T): Defined<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Defined<T>;
}
