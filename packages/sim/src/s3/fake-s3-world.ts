/**
 * A small in-memory S3 world (two regions of one account) behind aws-sdk-client-mock, so that tests of
 * the S3 replication check assert what exists in each bucket afterwards: the canary written, the canary
 * deleted with all its versions, the repair job started.
 *
 * The source client `s3` and the destination client `s3Dr` are separate `S3Client` instances, each mocked
 * with `mockClient(instance)`; both reach every bucket of the account (the job's clients follow S3's
 * region redirects). `FakeS3World.classLevel()` mocks the client classes instead, for handler tests
 * where the function builds its own clients.
 *
 * Only the commands the check sends are served; anything else fails loudly. Objects put into a bucket
 * whose enabled rule covers the key get ReplicationStatus PENDING, as S3 does; `replicate()` then plays
 * S3's replication: the objects become COMPLETED and a REPLICA appears in the rule's destination.
 * Every call is recorded (client, command, bucket) so tests can bound the number of calls. Every answer
 * is a promise, as the SDK's `send` returns (the job chains `.catch` on some calls).
 */
import { CloudWatchClient, type PutMetricDataCommandInput } from "@aws-sdk/client-cloudwatch";
import { NoSuchBucket, type ReplicationRule, S3Client } from "@aws-sdk/client-s3";
import { S3ControlClient } from "@aws-sdk/client-s3-control";
import { mockClient } from "aws-sdk-client-mock";
import type { StorageDeps } from "../../../core/src/s3/job.ts";
import { installCloudWatch, installS3, installS3Control } from "./fake-s3-handlers.ts";
import {
  type BucketSpec,
  type BulkObjects,
  type CallRecord,
  DESTINATION,
  DR,
  type FakeBucket,
  type FakeJob,
  type FakeVersion,
  fakeRulePrefix,
  type Label,
  md5,
  type ObjectView,
  PRIMARY,
  type RuleMetricValues,
  SOURCE,
  s3Error,
} from "./fake-s3-model.ts";
import { replicationConfig, replicationRule } from "./fake-s3-seed.ts";

export class FakeS3World {
  readonly buckets = new Map<string, FakeBucket>();
  readonly calls: CallRecord[] = [];
  /** Replication metrics CloudWatch answers, by `source|destination|ruleId`. */
  readonly replicationMetrics = new Map<string, RuleMetricValues>();
  /** Every PutMetricData input, in order. */
  readonly published: PutMetricDataCommandInput[] = [];
  readonly jobs: FakeJob[] = [];
  readonly s3: S3Client;
  readonly s3Dr: S3Client;
  readonly cloudwatch: CloudWatchClient;
  readonly s3control: S3ControlClient;
  /** @internal for the handlers of ./fake-s3-handlers.ts. */
  nextVersion = 1;

  private constructor(classLevel: boolean) {
    const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "fake" };
    this.s3 = new S3Client({ region: PRIMARY, credentials });
    this.s3Dr = new S3Client({ region: DR, credentials });
    this.cloudwatch = new CloudWatchClient({ region: PRIMARY, credentials });
    this.s3control = new S3ControlClient({ region: PRIMARY, credentials });
    if (classLevel) {
      // The handler builds its clients itself: one stub serves both S3 clients.
      installS3(this, mockClient(S3Client), "s3");
      installCloudWatch(this, mockClient(CloudWatchClient));
      installS3Control(this, mockClient(S3ControlClient));
    } else {
      installS3(this, mockClient(this.s3), "s3");
      installS3(this, mockClient(this.s3Dr), "s3Dr");
      installCloudWatch(this, mockClient(this.cloudwatch));
      installS3Control(this, mockClient(this.s3control));
    }
  }

  /** A world whose own client instances are mocked (for `runStorageCheck` with `world.deps`). */
  static create(): FakeS3World {
    return new FakeS3World(false);
  }

  /** A world served to every client of the classes (for the Lambda handler). */
  static classLevel(): FakeS3World {
    return new FakeS3World(true);
  }

  get deps(): StorageDeps {
    return { s3: this.s3, s3Dr: this.s3Dr, cloudwatch: this.cloudwatch, s3control: this.s3control };
  }

  // ---- building the world -------------------------------------------------------------------------

  bucket(name: string, spec: BucketSpec = {}): FakeBucket {
    const bucket: FakeBucket = {
      name,
      region: spec.region ?? PRIMARY,
      objects: new Map(),
      denied: new Set(),
      ...(spec.versioning ? { versioning: spec.versioning } : {}),
      ...(spec.replication ? { replication: spec.replication } : {}),
      ...(spec.encryption ? { encryption: spec.encryption } : {}),
      ...(spec.bulk ? { bulk: spec.bulk } : {}),
    };
    this.buckets.set(name, bucket);
    return bucket;
  }

  /**
   * A versioned source bucket in the primary region replicating everything to a versioned destination in
   * the DR region (the healthy setup); `rule` adjusts the one rule.
   */
  replicatingPair(
    source = SOURCE,
    destination = DESTINATION,
    rule: Partial<ReplicationRule> = {},
  ): { source: FakeBucket; destination: FakeBucket } {
    return {
      source: this.bucket(source, {
        versioning: "Enabled",
        replication: replicationConfig(replicationRule(destination, rule)),
      }),
      destination: this.bucket(destination, { region: DR, versioning: "Enabled" }),
    };
  }

  /** @internal for the handlers of ./fake-s3-handlers.ts. */
  get(name: string | undefined): FakeBucket {
    const bucket = name ? this.buckets.get(name) : undefined;
    if (!bucket) {
      throw new NoSuchBucket({
        $metadata: { httpStatusCode: 404 },
        message: "The specified bucket does not exist",
      });
    }
    return bucket;
  }

  /** Seeds (or overwrites) an object; `status` as S3 would report it (PENDING when a rule covers it). */
  put(
    bucketName: string,
    key: string,
    body = `object ${key}`,
    options: { status?: string | undefined } = {},
  ): FakeVersion {
    const bucket = this.get(bucketName);
    const versioned = bucket.versioning === "Enabled";
    const versionId = versioned ? `v${this.nextVersion++}` : "null";
    const status =
      "status" in options
        ? options.status
        : versioned && this.coveringRule(bucket, key)
          ? "PENDING"
          : undefined;
    const version: FakeVersion = {
      versionId,
      deleteMarker: false,
      body,
      size: Buffer.byteLength(body),
      etag: `"${bucket.encryption === "aws:kms" ? md5(`${bucket.name}/${key}/${versionId}/${body}`) : md5(body)}"`,
      ...(status ? { status } : {}),
    };
    const versions = versioned ? (bucket.objects.get(key) ?? []) : [];
    versions.push(version);
    bucket.objects.set(key, versions);
    return version;
  }

  /** Sets the replication status of the current version of a key (S3 marking it FAILED, say). */
  setStatus(bucketName: string, key: string, status: string | undefined): void {
    const latest = this.latest(this.get(bucketName), key);
    if (!latest) throw new Error(`fake S3: no object ${bucketName}/${key}`);
    latest.status = status;
  }

  /** Every command of the bucket (or the listed ones) is answered AccessDenied. */
  deny(bucketName: string, commands: readonly string[] = ["*"]): void {
    for (const c of commands) this.get(bucketName).denied.add(c);
  }

  /** Metric values CloudWatch answers for one replication rule. */
  setRuleMetrics(source: string, destination: string, ruleId: string, values: RuleMetricValues): void {
    this.replicationMetrics.set(`${source}|${destination}|${ruleId}`, values);
  }

  /**
   * Plays S3 replication: every PENDING object (and every COMPLETED one missing at its destination)
   * covered by an enabled rule becomes `outcome`; a COMPLETED one is copied to the rule's destination
   * as a REPLICA with the same version id.
   */
  replicate(options: { outcome?: "COMPLETED" | "FAILED"; buckets?: readonly string[] } = {}): string[] {
    const outcome = options.outcome ?? "COMPLETED";
    const replicated: string[] = [];
    for (const bucket of this.buckets.values()) {
      if (options.buckets && !options.buckets.includes(bucket.name)) continue;
      for (const key of bucket.objects.keys()) {
        const latest = this.latest(bucket, key);
        if (!latest || (latest.status !== "PENDING" && latest.status !== "COMPLETED")) continue;
        const rule = this.coveringRule(bucket, key);
        const destinationName = rule?.Destination?.Bucket?.replace(/^arn:aws:s3:::/, "");
        const destination = destinationName ? this.buckets.get(destinationName) : undefined;
        if (!destination || outcome === "FAILED") {
          latest.status = "FAILED";
          continue;
        }
        if (latest.status === "COMPLETED" && this.latest(destination, key)) continue;
        latest.status = "COMPLETED";
        const versions = destination.objects.get(key) ?? [];
        versions.push({
          ...latest,
          status: "REPLICA",
          etag:
            destination.encryption === "aws:kms"
              ? `"${md5(`${destination.name}/${key}/${latest.versionId}/${latest.body}`)}"`
              : latest.etag,
        });
        destination.objects.set(key, versions);
        replicated.push(`${bucket.name}/${key}`);
      }
    }
    return replicated;
  }

  // ---- reading the world --------------------------------------------------------------------------

  /** @internal for the handlers of ./fake-s3-handlers.ts. */
  latest(bucket: FakeBucket, key: string): FakeVersion | undefined {
    const latest = bucket.objects.get(key)?.at(-1);
    return latest && !latest.deleteMarker ? latest : undefined;
  }

  /** The current objects of a bucket under a prefix, sorted by key. */
  objects(bucketName: string, prefix = ""): ObjectView[] {
    const bucket = this.get(bucketName);
    return [...bucket.objects.keys()]
      .filter((k) => k.startsWith(prefix))
      .sort()
      .flatMap((key) => {
        const v = this.latest(bucket, key);
        return v ? [{ key, size: v.size, etag: v.etag, ...(v.status ? { status: v.status } : {}) }] : [];
      });
  }

  /** Every version and delete marker of a key, oldest first (empty once all are deleted). */
  versions(bucketName: string, key: string): FakeVersion[] {
    return [...(this.get(bucketName).objects.get(key) ?? [])];
  }

  /** Calls of a command (`HeadObject`), optionally to one bucket and from one client. */
  count(command: string, bucket?: string, client?: Label): number {
    return this.calls.filter(
      (c) =>
        c.command === command &&
        (bucket === undefined || c.bucket === bucket) &&
        (client === undefined || c.client === client),
    ).length;
  }

  /** The inputs of a command's calls, in order. */
  inputsOf<T = Record<string, unknown>>(command: string): T[] {
    return this.calls.filter((c) => c.command === command).map((c) => c.input as T);
  }

  resetCalls(): void {
    this.calls.length = 0;
  }

  // ---- S3 -----------------------------------------------------------------------------------------

  /** @internal for the handlers of ./fake-s3-handlers.ts. */
  coveringRule(bucket: FakeBucket, key: string): ReplicationRule | undefined {
    return (bucket.replication?.Rules ?? [])
      .filter((r) => r.Status === "Enabled")
      .sort((a, b) => (b.Priority ?? 0) - (a.Priority ?? 0))
      .find((r) => {
        const p = fakeRulePrefix(r);
        return p !== undefined && key.startsWith(p);
      });
  }

  /** Records a call to a bucket and answers AccessDenied when the bucket denies the command. */
  /** @internal for the handlers of ./fake-s3-handlers.ts. */
  bucketCall(client: Label, command: string, input: { Bucket?: string | undefined }): FakeBucket {
    this.calls.push({
      client,
      command,
      ...(input.Bucket ? { bucket: input.Bucket } : {}),
      input: { ...input },
    });
    const bucket = this.get(input.Bucket);
    if (bucket.denied.has("*") || bucket.denied.has(command)) {
      throw s3Error("AccessDenied", 403, "Access Denied");
    }
    return bucket;
  }

  /** The first `limit` generated keys under `prefix` after `after`, in key order. */
  /** @internal for the handlers of ./fake-s3-handlers.ts. */
  bulkKeys(bulk: BulkObjects, prefix: string, after: string, limit: number): string[] {
    if (!bulk.prefix.startsWith(prefix) && !prefix.startsWith(bulk.prefix)) return [];
    const keys: string[] = [];
    for (let i = 0; i < bulk.count && keys.length < limit; i++) {
      const key = `${bulk.prefix}${String(i).padStart(7, "0")}`;
      if (key.startsWith(prefix) && key > after) keys.push(key);
    }
    return keys;
  }

  /** @internal for the handlers of ./fake-s3-handlers.ts. */
  bulkHas(bulk: BulkObjects | undefined, key: string): boolean {
    if (!bulk || !key.startsWith(bulk.prefix)) return false;
    const rest = key.slice(bulk.prefix.length);
    return /^\d{7}$/.test(rest) && Number(rest) < bulk.count;
  }
}
