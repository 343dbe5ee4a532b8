/**
 * The rehearsal's isolation guard. Refused destinations are tried only with Node's own connect and lookup
 * replaced by recorders first, so even a broken guard sends nothing off this machine; allowed ones are
 * real connections to a server on 127.0.0.1.
 */
import dns from "node:dns";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import net, { type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  connectDestination,
  type GuardEvent,
  installIsolation,
  isLoopbackHost,
  NetworkIsolationError,
} from "../../../packages/sim/src/rehearse/guard.ts";

let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer((_req, res) => res.end("local"));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("what counts as loopback", () => {
  it("127.0.0.0/8, ::1 and localhost; nothing else", () => {
    for (const host of [
      "127.0.0.1",
      "127.1.2.3",
      "::1",
      "[::1]",
      "localhost",
      "LOCALHOST",
      "::ffff:127.0.0.1",
      undefined,
    ])
      expect(isLoopbackHost(host)).toBe(true);
    for (const host of [
      "10.0.0.1",
      "192.168.1.1",
      "0.0.0.0",
      "sts.amazonaws.com",
      "localhost.example.com",
      "128.0.0.1",
    ])
      expect(isLoopbackHost(host)).toBe(false);
  });

  it("reads the destination of each form of socket.connect", () => {
    expect(connectDestination([{ host: "a", port: 1 }])).toEqual({ host: "a", port: 1 });
    expect(connectDestination([[{ host: "b", port: 2 }, () => {}]])).toEqual({ host: "b", port: 2 });
    expect(connectDestination([443, "c"])).toEqual({ port: 443, host: "c" });
    expect(connectDestination(["443", "c"])).toEqual({ port: "443", host: "c" });
    expect(connectDestination([80])).toEqual({ port: 80 });
    expect(connectDestination(["/tmp/mysql.sock"])).toEqual({ path: "/tmp/mysql.sock" });
    expect(connectDestination([{ path: "/tmp/s" }])).toEqual({ path: "/tmp/s" });
  });
});

describe("installIsolation", () => {
  it("refuses a connection to any other address, before a byte or a DNS query leaves", async () => {
    const realConnect = net.Socket.prototype.connect;
    const realLookup = dns.lookup;
    const realPromisesLookup = dns.promises.lookup;
    const reached: unknown[] = [];
    net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
      reached.push(args);
      return this;
    } as typeof realConnect;
    dns.lookup = ((...args: unknown[]) => reached.push(args)) as unknown as typeof dns.lookup;
    dns.promises.lookup = (async (...args: unknown[]) => {
      reached.push(args);
    }) as unknown as typeof dns.promises.lookup;
    const events: GuardEvent[] = [];
    const release = installIsolation({ onEvent: (e) => events.push(e) });
    try {
      const errors = await Promise.all(
        [
          () => net.connect(443, "192.0.2.10"),
          () => net.connect({ host: "sts.amazonaws.com", port: 443 }),
        ].map(async (open) => {
          const socket = open();
          const [error] = (await once(socket, "error")) as [Error];
          return error;
        }),
      );
      expect(errors.map((e) => [e.name, e instanceof NetworkIsolationError, e.message])).toEqual([
        [
          "NetworkIsolationError",
          true,
          "The simulated account reaches only 127.0.0.1: a connection to 192.0.2.10:443 was refused (a client without a simulated endpoint?)",
        ],
        [
          "NetworkIsolationError",
          true,
          "The simulated account reaches only 127.0.0.1: a connection to sts.amazonaws.com:443 was refused (a client without a simulated endpoint?)",
        ],
      ]);
      const lookupError = await new Promise<Error | null>((resolve) =>
        dns.lookup("rds.eu-west-1.amazonaws.com", (err) => resolve(err)),
      );
      expect(lookupError?.name).toBe("NetworkIsolationError");
      await expect(dns.promises.lookup("s3.amazonaws.com")).rejects.toThrow(NetworkIsolationError);
      expect(reached).toEqual([]);
      expect(events).toEqual([
        { allowed: false, destination: "192.0.2.10:443" },
        { allowed: false, destination: "sts.amazonaws.com:443" },
        { allowed: false, destination: "dns:rds.eu-west-1.amazonaws.com" },
        { allowed: false, destination: "dns:s3.amazonaws.com" },
      ]);
    } finally {
      release();
      net.Socket.prototype.connect = realConnect;
      dns.lookup = realLookup;
      dns.promises.lookup = realPromisesLookup;
    }
  });

  it("lets the loopback through: http to 127.0.0.1 and to localhost (its lookup too)", async () => {
    const events: GuardEvent[] = [];
    const release = installIsolation({ onEvent: (e) => events.push(e) });
    try {
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe("local");
      expect(await (await fetch(`http://localhost:${port}/`)).text()).toBe("local");
    } finally {
      release();
    }
    expect(events.every((e) => e.allowed)).toBe(true);
    expect(events.map((e) => e.destination)).toContain(`127.0.0.1:${port}`);
  });

  it("takes the environment's AWS credentials away for the run and puts them back; nested installs share one guard", () => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", "AKIAREHEARSALBOGUS02");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "bogus");
    vi.stubEnv("AWS_SESSION_TOKEN", "bogus-token");
    vi.stubEnv("AWS_PROFILE", "bogus-profile");
    const connect = net.Socket.prototype.connect;
    try {
      const outer = installIsolation();
      const inner = installIsolation();
      expect(process.env.AWS_ACCESS_KEY_ID).toBeUndefined();
      expect(process.env.AWS_SECRET_ACCESS_KEY).toBeUndefined();
      expect(process.env.AWS_SESSION_TOKEN).toBeUndefined();
      expect(process.env.AWS_PROFILE).toBeUndefined();
      expect(process.env.AWS_SHARED_CREDENTIALS_FILE).toBe("/nonexistent/gitpod-dr-rehearsal");
      expect(process.env.AWS_EC2_METADATA_DISABLED).toBe("true");
      inner();
      inner(); // a second release of the same install changes nothing
      expect(net.Socket.prototype.connect).not.toBe(connect);
      expect(process.env.AWS_PROFILE).toBeUndefined();
      outer();
      expect(net.Socket.prototype.connect).toBe(connect);
      expect(process.env.AWS_ACCESS_KEY_ID).toBe("AKIAREHEARSALBOGUS02");
      expect(process.env.AWS_PROFILE).toBe("bogus-profile");
      expect(process.env.AWS_SHARED_CREDENTIALS_FILE).toBeUndefined();
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
