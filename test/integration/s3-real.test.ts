/**
 * Which S3 request shapes work against a real S3-compatible server (s3rver 3.7.1 via
 * packages/sim/src/s3/server.ts), driven by the real SDK v3 S3Client over HTTP.
 *
 * s3rver implements objects and listings; it does not implement versioning or replication. The tests
 * below pin down what it actually answers for each operation, including the surprising cases
 * (GetBucketVersioning "succeeds" with an empty output because s3rver serves a ListObjects response).
 *
 * The last block uses a small node:http STUB (not s3rver, not S3) that returns AWS-documented XML and
 * headers, so the SDK's real deserializers for GetBucketReplication, GetBucketVersioning and the
 * HeadObject replication header are still exercised end to end.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  GetBucketLocationCommand,
  GetBucketReplicationCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketReplicationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type ReplicationStatus,
  S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3RVER_CREDENTIALS, type S3Server, startS3 } from "../../packages/sim/src/s3/server.ts";

const BUCKET = "gitpod-dr-backups";
const OTHER_BUCKET = "unrelated-bucket";
const CANARY_PREFIX = ".gitpod-dr/canary/";
const CANARY_KEY = `${CANARY_PREFIX}2026-11-26T03-00-00Z-ab12.json`;

const md5 = (data: string | Buffer) => createHash("md5").update(data).digest("hex");

describe("startS3 fixture", () => {
  it("listens on an ephemeral 127.0.0.1 port with its own store; stop() removes it and is idempotent", async () => {
    const a = await startS3({ buckets: ["fixture-a"] });
    const b = await startS3();
    try {
      expect(a.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(b.endpoint).not.toBe(a.endpoint);
      expect(a.directory).not.toBe(b.directory);
      expect(existsSync(a.directory)).toBe(true);

      const listA = await a.client().send(new ListBucketsCommand({}));
      expect(listA.Buckets?.map((x) => x.Name)).toEqual(["fixture-a"]);
      const listB = await b.client().send(new ListBucketsCommand({}));
      expect(listB.Buckets ?? []).toEqual([]);
    } finally {
      await b.stop();
    }
    const client = a.client();
    await client.send(new PutObjectCommand({ Bucket: "fixture-a", Key: "k", Body: "v" }));
    await a.stop();
    expect(existsSync(a.directory)).toBe(false);
    await expect(a.stop()).resolves.toBeUndefined();
    expect(() => a.client()).toThrow(/already stopped/);
    await expect(fetch(`${a.endpoint}/`)).rejects.toThrow();
  });
});

describe("SDK v3 S3Client against s3rver", () => {
  let s3: S3Server;
  let client: S3Client;
  const canaryBody = JSON.stringify({
    kind: "gitpod-dr-canary",
    id: "ab12",
    writtenAt: "2026-11-26T03:00:00Z",
  });

  beforeAll(async () => {
    s3 = await startS3({ buckets: [BUCKET, OTHER_BUCKET] });
    client = s3.client();
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it("PutObject of a JSON canary returns the quoted MD5 ETag", async () => {
    const out = await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: CANARY_KEY,
        Body: canaryBody,
        ContentType: "application/json",
        Metadata: { "Gitpod-Dr-Canary": "ab12", "written-at": "2026-11-26T03:00:00Z" },
      }),
    );
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(out.ETag).toBe(`"${md5(canaryBody)}"`);
    // s3rver echoes no version id, checksum or SSE headers.
    expect(out.VersionId).toBeUndefined();
    expect(out.ChecksumCRC32).toBeUndefined();
    expect(out.ServerSideEncryption).toBeUndefined();
  });

  it("HeadObject returns ETag, ContentLength, lower-cased Metadata, and no ReplicationStatus", async () => {
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: CANARY_KEY }));
    expect(head).toMatchObject({
      ETag: `"${md5(canaryBody)}"`,
      ContentLength: Buffer.byteLength(canaryBody),
      ContentType: "application/json",
      AcceptRanges: "bytes",
      // The SDK strips "x-amz-meta-" and HTTP lower-cases the names.
      Metadata: { "gitpod-dr-canary": "ab12", "written-at": "2026-11-26T03:00:00Z" },
    });
    expect(head.LastModified).toBeInstanceOf(Date);
    // s3rver does not replicate, version or encrypt: these are absent, not empty.
    expect(head.ReplicationStatus).toBeUndefined();
    expect(head.VersionId).toBeUndefined();
    expect(head.ServerSideEncryption).toBeUndefined();
    expect(head.StorageClass).toBeUndefined();
  });

  it("GetObject returns the canary bytes", async () => {
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: CANARY_KEY }));
    expect(got.ContentLength).toBe(Buffer.byteLength(canaryBody));
    expect(JSON.parse((await got.Body?.transformToString()) ?? "")).toEqual(JSON.parse(canaryBody));
  });

  it("ListObjectsV2 with Prefix and MaxKeys returns one page, then follows continuation tokens", async () => {
    const extra = ["2026-11-27T03-00-00Z-cd34", "2026-11-28T03-00-00Z-ef56", "2026-11-29T03-00-00Z-0a78"].map(
      (s) => `${CANARY_PREFIX}${s}.json`,
    );
    for (const key of extra) {
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "{}" }));
    }
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: ".gitpod-dr/other/x.json", Body: "{}" }));
    const expected = [CANARY_KEY, ...extra].sort();

    const first = await client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: CANARY_PREFIX, MaxKeys: 2 }),
    );
    expect(first).toMatchObject({
      Name: BUCKET,
      Prefix: CANARY_PREFIX,
      MaxKeys: 2,
      KeyCount: 2,
      IsTruncated: true,
    });
    expect(typeof first.NextContinuationToken).toBe("string");
    expect(first.ContinuationToken).toBeUndefined();
    expect(first.Contents?.map((o) => o.Key)).toEqual(expected.slice(0, 2));
    expect(first.Contents?.[0]).toMatchObject({
      ETag: `"${md5(canaryBody)}"`,
      Size: Buffer.byteLength(canaryBody),
      StorageClass: "STANDARD",
    });
    expect(first.Contents?.[0]?.LastModified).toBeInstanceOf(Date);
    // list-type=2 without FetchOwner: no Owner.
    expect(first.Contents?.[0]?.Owner).toBeUndefined();

    const keys = [...(first.Contents ?? []).map((o) => o.Key)];
    let token = first.NextContinuationToken;
    let pages = 1;
    while (token !== undefined) {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: BUCKET,
          Prefix: CANARY_PREFIX,
          MaxKeys: 2,
          ContinuationToken: token,
        }),
      );
      expect(page.ContinuationToken).toBe(token);
      keys.push(...(page.Contents ?? []).map((o) => o.Key));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      pages++;
    }
    expect(pages).toBe(2);
    expect(keys).toEqual(expected);

    // The token really is deciphered (DES, via the fixture's OpenSSL 3 shim) and bound to its bucket.
    await expect(
      client.send(
        new ListObjectsV2Command({ Bucket: OTHER_BUCKET, ContinuationToken: first.NextContinuationToken }),
      ),
    ).rejects.toMatchObject({ name: "InvalidArgument", $metadata: { httpStatusCode: 400 } });

    const all = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: CANARY_PREFIX }));
    expect(all).toMatchObject({ KeyCount: 4, MaxKeys: 1000, IsTruncated: false });
    expect(all.NextContinuationToken).toBeUndefined();
  });

  it("DeleteObject answers 204; the object is then gone (HeadObject NotFound); deleting again is 204", async () => {
    const del = await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: CANARY_KEY }));
    expect(del.$metadata.httpStatusCode).toBe(204);
    expect(del.DeleteMarker).toBeUndefined();
    expect(del.VersionId).toBeUndefined();
    await expect(
      client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: CANARY_KEY })),
    ).rejects.toMatchObject({
      name: "NotFound",
      $metadata: { httpStatusCode: 404 },
    });
    const again = await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: CANARY_KEY }));
    expect(again.$metadata.httpStatusCode).toBe(204);
  });

  it("GetBucketVersioning 'succeeds' with an empty output: s3rver answers ?versioning with a ListObjects body", async () => {
    // `versioning` is missing from s3rver's bucket subresource list, so its router never sees it and
    // GET /bucket?versioning falls through to GET Bucket (ListObjects v1). The SDK finds no <Status>
    // in that body and returns an empty output, indistinguishable from "versioning never enabled".
    const out = await client.send(new GetBucketVersioningCommand({ Bucket: BUCKET }));
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(out.Status).toBeUndefined();
    expect(out.MFADelete).toBeUndefined();
    const raw = await fetch(`${s3.endpoint}/${BUCKET}?versioning`);
    expect(raw.status).toBe(200);
    expect(await raw.text()).toContain("<ListBucketResult");

    await expect(
      client.send(new GetBucketVersioningCommand({ Bucket: "no-such-bucket" })),
    ).rejects.toMatchObject({
      name: "NoSuchBucket",
      $metadata: { httpStatusCode: 404 },
    });
  });

  it("PutBucketVersioning falls through to CreateBucket: BucketAlreadyExists (409), versioning unchanged", async () => {
    await expect(
      client.send(
        new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: "Enabled" } }),
      ),
    ).rejects.toMatchObject({ name: "BucketAlreadyExists", $metadata: { httpStatusCode: 409 } });
    const out = await client.send(new GetBucketVersioningCommand({ Bucket: BUCKET }));
    expect(out.Status).toBeUndefined();
  });

  it("GetBucketReplication and PutBucketReplication are NotImplemented (HTTP 501, server fault, no retry)", async () => {
    await expect(client.send(new GetBucketReplicationCommand({ Bucket: BUCKET }))).rejects.toMatchObject({
      name: "NotImplemented",
      Code: "NotImplemented",
      $fault: "server",
      $metadata: { httpStatusCode: 501, attempts: 1 },
      message: "A parameter you provided implies functionality that is not implemented",
    });
    await expect(
      client.send(
        new PutBucketReplicationCommand({
          Bucket: BUCKET,
          ReplicationConfiguration: {
            Role: "arn:aws:iam::123456789012:role/r",
            Rules: [{ Status: "Enabled", Destination: { Bucket: "arn:aws:s3:::replica" } }],
          },
        }),
      ),
    ).rejects.toMatchObject({ name: "NotImplemented", $metadata: { httpStatusCode: 501 } });
    // Bucket existence is checked first: not ReplicationConfigurationNotFoundError for a missing bucket.
    await expect(
      client.send(new GetBucketReplicationCommand({ Bucket: "no-such-bucket" })),
    ).rejects.toMatchObject({
      name: "NoSuchBucket",
    });
  });

  it("ListObjectVersions is MethodNotAllowed (HTTP 405)", async () => {
    await expect(client.send(new ListObjectVersionsCommand({ Bucket: BUCKET }))).rejects.toMatchObject({
      name: "MethodNotAllowed",
      $metadata: { httpStatusCode: 405 },
    });
  });

  it("GetBucketLocation answers an empty LocationConstraint (as S3 does for us-east-1)", async () => {
    const out = await client.send(new GetBucketLocationCommand({ Bucket: BUCKET }));
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(out.LocationConstraint).toBeUndefined();
    // Whatever region the client is in.
    const eu = await s3.client("eu-west-1").send(new GetBucketLocationCommand({ Bucket: BUCKET }));
    expect(eu.LocationConstraint).toBeUndefined();
  });

  it("ListBuckets lists every bucket with the dummy owner; Prefix and MaxBuckets are ignored", async () => {
    const all = await client.send(new ListBucketsCommand({}));
    expect(all.Buckets?.map((b) => b.Name)).toEqual([BUCKET, OTHER_BUCKET]);
    expect(all.Buckets?.[0]?.CreationDate).toBeInstanceOf(Date);
    expect(all.Owner).toEqual({ ID: "123456789000", DisplayName: "S3rver" });

    const filtered = await client.send(new ListBucketsCommand({ Prefix: "gitpod-dr-", MaxBuckets: 1 }));
    // Real S3 would return only gitpod-dr-backups and echo Prefix; s3rver ignores both parameters.
    expect(filtered.Buckets?.map((b) => b.Name)).toEqual([BUCKET, OTHER_BUCKET]);
    expect(filtered.Prefix).toBeUndefined();
    expect(filtered.ContinuationToken).toBeUndefined();
  });

  it("authentication checks only the access key id (SigV4 signatures are not verified)", async () => {
    const unknownKey = new S3Client({
      endpoint: s3.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "x" },
    });
    const wrongSecret = new S3Client({
      endpoint: s3.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId: S3RVER_CREDENTIALS.accessKeyId, secretAccessKey: "wrong" },
    });
    try {
      await expect(unknownKey.send(new ListBucketsCommand({}))).rejects.toMatchObject({
        name: "InvalidAccessKeyId",
        $metadata: { httpStatusCode: 403 },
      });
      const out = await wrongSecret.send(new ListBucketsCommand({}));
      expect(out.$metadata.httpStatusCode).toBe(200);
    } finally {
      unknownKey.destroy();
      wrongSecret.destroy();
    }
  });

  it("stream uploads: byte-exact with the fixture client; SDK-default checksums store aws-chunked framing", async () => {
    const data = Buffer.from("gitpod-dr stream payload\n".repeat(200));
    const put = (c: S3Client, key: string) =>
      c.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: key,
          Body: Readable.from([data]),
          ContentLength: data.length,
        }),
      );
    const get = async (key: string) => {
      const out = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      return { out, bytes: Buffer.from((await out.Body?.transformToByteArray()) ?? []) };
    };

    await put(client, "stream/fixture-client");
    const ok = await get("stream/fixture-client");
    expect(ok.bytes.equals(data)).toBe(true);
    expect(ok.out.ETag).toBe(`"${md5(data)}"`);

    const sdkDefaults = new S3Client({
      endpoint: s3.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { ...S3RVER_CREDENTIALS },
    });
    try {
      await put(sdkDefaults, "stream/sdk-defaults");
    } finally {
      sdkDefaults.destroy();
    }
    const bad = await get("stream/sdk-defaults");
    expect(bad.out.ContentEncoding).toBe("aws-chunked");
    expect(bad.bytes.length).toBeGreaterThan(data.length);
    expect(bad.bytes.equals(data)).toBe(false);
    expect(bad.bytes.toString()).toMatch(/^[0-9a-f]+\r\n/);
  });
});

describe("SDK parsing of replication, versioning and replication-status shapes (node:http STUB, not S3)", () => {
  const STUB_BUCKET = "gitpod-dr-backups";
  const STATUS_HEADER_KEY = /^\/gitpod-dr-backups\/status\/([A-Z]+)$/;
  const VERSIONING_XML =
    '<?xml version="1.0" encoding="UTF-8"?>\n<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>';
  let replicationXml: string;
  let stub: http.Server;
  let endpoint: string;
  let client: S3Client;
  const seen: string[] = [];

  beforeAll(async () => {
    replicationXml = await readFile(
      new URL("../../packages/sim/src/s3/replication-sample.xml", import.meta.url),
      "utf8",
    );
    // STUB: three canned answers, everything else 404.
    stub = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const url = new URL(req.url ?? "/", "http://stub");
      const xml = (body: string) => res.writeHead(200, { "content-type": "application/xml" }).end(body);
      if (req.method === "GET" && url.searchParams.has("replication")) return xml(replicationXml);
      if (req.method === "GET" && url.searchParams.has("versioning")) return xml(VERSIONING_XML);
      const status = req.method === "HEAD" ? STATUS_HEADER_KEY.exec(url.pathname)?.[1] : undefined;
      if (status === undefined) return res.writeHead(404).end();
      res
        .writeHead(200, {
          etag: '"0123456789abcdef0123456789abcdef"',
          "content-length": "42",
          "content-type": "application/json",
          "last-modified": "Thu, 26 Nov 2026 03:00:00 GMT",
          "x-amz-version-id": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
          "x-amz-replication-status": status,
          "x-amz-meta-gitpod-dr-canary": "ab12",
        })
        .end();
    });
    await new Promise<void>((resolve) => stub.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
    client = new S3Client({
      endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "stub" },
    });
  });
  afterAll(async () => {
    client?.destroy();
    stub?.closeAllConnections();
    await new Promise<void>((resolve) => (stub ? stub.close(() => resolve()) : resolve()));
  });

  it("GetBucketReplication: GET /bucket?replication parses into ReplicationConfiguration.Rules[]", async () => {
    const out = await client.send(new GetBucketReplicationCommand({ Bucket: STUB_BUCKET }));
    expect(seen).toContain(`GET /${STUB_BUCKET}/?replication=`);
    expect(out.ReplicationConfiguration).toEqual({
      Role: "arn:aws:iam::123456789012:role/gitpod-dr-replication",
      Rules: [
        {
          ID: "gitpod-dr-crr",
          Priority: 1,
          Filter: { Prefix: ".gitpod-dr/" },
          Status: "Enabled",
          SourceSelectionCriteria: { SseKmsEncryptedObjects: { Status: "Enabled" } },
          DeleteMarkerReplication: { Status: "Enabled" },
          Destination: {
            Bucket: "arn:aws:s3:::gitpod-dr-backups-replica",
            StorageClass: "STANDARD_IA",
            EncryptionConfiguration: {
              ReplicaKmsKeyID: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            },
            ReplicationTime: { Status: "Enabled", Time: { Minutes: 15 } },
            Metrics: { Status: "Enabled", EventThreshold: { Minutes: 15 } },
          },
        },
      ],
    });
    const rule = out.ReplicationConfiguration?.Rules?.[0];
    expect(rule?.Destination?.ReplicationTime?.Status).toBe("Enabled");
    expect(typeof rule?.Priority).toBe("number");
    expect(typeof rule?.Destination?.ReplicationTime?.Time?.Minutes).toBe("number");
  });

  it("GetBucketVersioning: GET /bucket?versioning parses Status 'Enabled' (MFADelete absent)", async () => {
    const out = await client.send(new GetBucketVersioningCommand({ Bucket: STUB_BUCKET }));
    expect(seen).toContain(`GET /${STUB_BUCKET}/?versioning=`);
    expect(out.Status).toBe("Enabled");
    expect(out.MFADelete).toBeUndefined();
  });

  it("HeadObject: x-amz-replication-status PENDING parses into ReplicationStatus", async () => {
    const out = await client.send(new HeadObjectCommand({ Bucket: STUB_BUCKET, Key: "status/PENDING" }));
    expect(out).toMatchObject({
      ReplicationStatus: "PENDING",
      ETag: '"0123456789abcdef0123456789abcdef"',
      ContentLength: 42,
      ContentType: "application/json",
      VersionId: "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
      Metadata: { "gitpod-dr-canary": "ab12" },
    });
    expect(out.LastModified).toEqual(new Date("2026-11-26T03:00:00Z"));
  });

  it.each<ReplicationStatus>(["COMPLETE", "COMPLETED", "FAILED", "REPLICA"])(
    "HeadObject: x-amz-replication-status %s passes through verbatim",
    async (status) => {
      const out = await client.send(new HeadObjectCommand({ Bucket: STUB_BUCKET, Key: `status/${status}` }));
      expect(out.ReplicationStatus).toBe(status);
    },
  );
});
