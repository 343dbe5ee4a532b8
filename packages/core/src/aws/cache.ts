import { awsClientConfig, type RetryOptions } from "./clients.ts";

type AwsClientConfig = ReturnType<typeof awsClientConfig>;

/** How one client differs from the default: its retry policy, or settings of its own class. */
export interface ClientOptions<E extends object> {
  readonly retry?: RetryOptions;
  readonly config?: E;
}

/**
 * The one cache of AWS clients and cluster connections, for a Lambda's cold start or a CLI run: one
 * client per class, region and options, built with `awsClientConfig` on first use and kept, so its
 * connections and credentials are reused. The functions keep one in `lib/clients.ts`; the CLI makes one
 * per command. Builds nothing until asked and reads no environment.
 */
export class ClientCache {
  readonly #values = new Map<string, unknown>();
  // Client classes by identity, not by name: bundlers minify class names.
  readonly #classIds = new WeakMap<object, number>();
  #classCount = 0;

  /** The client of `Client` in `region` (with `options`), built on first use. */
  client<C, E extends object = Record<never, never>>(
    Client: new (config: AwsClientConfig & E) => C,
    region: string,
    options: ClientOptions<E> = {},
  ): C {
    let id = this.#classIds.get(Client);
    if (id === undefined) {
      id = ++this.#classCount;
      this.#classIds.set(Client, id);
    }
    return this.value(`client ${id} ${region} ${JSON.stringify(options)}`, () => {
      return new Client({ ...awsClientConfig(region, options.retry), ...options.config } as AwsClientConfig &
        E);
    });
  }

  /**
   * The value kept under `key`, made on first use (a cluster connection). A promise that rejects is
   * dropped, so that the next call tries again instead of failing forever with the first error.
   */
  value<T>(key: string, make: () => T): T {
    if (this.#values.has(key)) return this.#values.get(key) as T;
    const value = make();
    this.#values.set(key, value);
    if (value instanceof Promise) {
      value.catch(() => {
        if (this.#values.get(key) === value) this.#values.delete(key);
      });
    }
    return value;
  }
}
