/**
 * Conformance: KMS and STS as the jobs use them, against moto_server and independent implementations.
 * - KMS DescribeKey of a customer managed key and of the AWS managed key aws/rds, and how the RDS job
 *   tells them apart (rds/kms.ts `DefaultKeyCheck`), on moto and on our FakeKms.
 * - STS GetCallerIdentity on moto; the EKS token (velero/eks-token.ts) against the AWS CLI's own
 *   `aws eks get-token` (botocore, run here at the same signing time), against the format rules of
 *   aws-iam-authenticator's verifier (what EKS runs), and against our fake verifier
 *   (packages/sim/src/kube/velero-cluster.ts `verifyEksToken`); the presigned request sent to moto's STS.
 */
import { spawnSync } from "node:child_process";
import http from "node:http";
import { CreateKeyCommand, DescribeKeyCommand, type KeyMetadata, KMSClient } from "@aws-sdk/client-kms";
import { CreateDBInstanceCommand, RDSClient } from "@aws-sdk/client-rds";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import { describe, expect, it } from "vitest";
import type { RdsJobConfig } from "../../packages/core/src/config.ts";
import { runRdsSnapshotJob } from "../../packages/core/src/rds/job.ts";
import { DefaultKeyCheck } from "../../packages/core/src/rds/kms.ts";
import type { Database, Snapshot } from "../../packages/core/src/rds/types.ts";
import { eksToken, stsHost } from "../../packages/core/src/velero/eks-token.ts";
import { CREDENTIALS, verifyEksToken } from "../../packages/sim/src/kube/velero-cluster.ts";
import {
  AWS_RDS_KEY,
  DR_KEY_OTHER_ACCOUNT,
  DR_REGION,
  FakeAws,
  FakeKms,
  gitpodInstance,
  PRIMARY_CMK,
  PRIMARY_REGION,
} from "../../packages/sim/src/rds/fake-rds.ts";
import { useMoto } from "../fixtures/moto.ts";
import { MOTO_KMS_GAPS, MOTO_RDS_GAPS, MOTO_STS_GAPS } from "./moto-gaps.ts";

const gap = (list: readonly { field: string }[], field: string) => {
  if (!list.some((g) => g.field === field)) throw new Error(`moto-gaps.ts lists no gap ${field}`);
  return true;
};

const moto = useMoto();

/** A key's metadata as both worlds are compared: ids by shape, not by their random values. */
function keyView(meta: KeyMetadata | undefined) {
  const arn = meta?.Arn ?? "";
  return {
    keyManager: meta?.KeyManager,
    arnShape: /^arn:aws:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-z-]+$/.test(arn),
    keyIdIsTheArnsId: meta?.KeyId !== undefined && arn.endsWith(`:key/${meta.KeyId}`),
    account: meta?.AWSAccountId === arn.split(":")[4],
    enabled: meta?.Enabled,
    keyState: meta?.KeyState,
  };
}

describe("KMS DescribeKey: a customer managed key and aws/rds", () => {
  it("answers the same metadata on moto and on the fake, but for the managed key's KeyManager on moto", async () => {
    await moto.reset();
    const kms = new KMSClient(moto.clientConfig(PRIMARY_REGION));
    const customer = (await kms.send(new CreateKeyCommand({ Description: "gitpod database" }))).KeyMetadata;
    const onMoto = {
      customer: (await kms.send(new DescribeKeyCommand({ KeyId: customer?.Arn }))).KeyMetadata,
      awsRds: (await kms.send(new DescribeKeyCommand({ KeyId: "alias/aws/rds" }))).KeyMetadata,
    };
    const fake = new FakeKms({ [PRIMARY_CMK]: "CUSTOMER", [AWS_RDS_KEY]: "AWS" }).client;
    const onFake = {
      customer: (await fake.send(new DescribeKeyCommand({ KeyId: PRIMARY_CMK }))).KeyMetadata,
      awsRds: (await fake.send(new DescribeKeyCommand({ KeyId: AWS_RDS_KEY }))).KeyMetadata,
    };

    expect(keyView(onFake.customer)).toEqual(keyView(onMoto.customer));
    expect(keyView(onMoto.customer)).toEqual({
      keyManager: "CUSTOMER",
      arnShape: true,
      keyIdIsTheArnsId: true,
      account: true,
      enabled: true,
      keyState: "Enabled",
    });
    // The AWS managed key: KMS says KeyManager AWS (what DefaultKeyCheck reads); moto says CUSTOMER.
    const { keyManager: fakeManager, ...fakeRest } = keyView(onFake.awsRds);
    const { keyManager: motoManager, ...motoRest } = keyView(onMoto.awsRds);
    expect(fakeRest).toEqual(motoRest);
    expect(fakeManager).toBe("AWS");
    expect(motoManager).toBe("CUSTOMER");
    expect(gap(MOTO_KMS_GAPS, "KeyManager")).toBe(true);
  });

  it("DefaultKeyCheck stops a cross-account copy of an aws/rds snapshot on the fake; moto's key lets it through", async () => {
    await moto.reset();
    const kms = new KMSClient(moto.clientConfig(PRIMARY_REGION));
    const customer = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
    const awsRds = (await kms.send(new DescribeKeyCommand({ KeyId: "alias/aws/rds" }))).KeyMetadata
      ?.Arn as string;
    const database = (account: string): Database => ({
      kind: "instance",
      identifier: "gitpod",
      arn: `arn:aws:rds:${PRIMARY_REGION}:${account}:db:gitpod`,
      account,
      status: "available",
      engine: "mysql",
    });
    const snapshot = (kmsKeyId: string): Snapshot =>
      ({ identifier: "gitpod-dr-gitpod-2026-11-26-0300", encrypted: true, kmsKeyId }) as Snapshot;
    const outcome = (check: DefaultKeyCheck, kmsKeyId: string) =>
      check.check(snapshot(kmsKeyId)).then(
        () => "copy",
        (e: unknown) => (e as Error).name,
      );
    const fakeKms = new FakeKms({ [PRIMARY_CMK]: "CUSTOMER", [AWS_RDS_KEY]: "AWS" }).client;
    const onFake = new DefaultKeyCheck(fakeKms, database("111111111111"), DR_KEY_OTHER_ACCOUNT);
    const onMoto = new DefaultKeyCheck(kms, database("123456789012"), DR_KEY_OTHER_ACCOUNT);

    expect([await outcome(onFake, PRIMARY_CMK), await outcome(onMoto, customer)]).toEqual(["copy", "copy"]);
    expect(await outcome(onFake, AWS_RDS_KEY)).toBe("DefaultKmsKeyNotShareable");
    expect(await outcome(onMoto, awsRds)).toBe("copy");
  });

  it("the RDS job on a database encrypted with aws/rds: moto names a key id KMS does not know", async () => {
    // Prepare: the database encrypted with the account's default key, a DR key in another account.
    await moto.reset();
    const rdsPrimary = new RDSClient(moto.clientConfig(PRIMARY_REGION));
    await rdsPrimary.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: "gitpod",
        Engine: "mysql",
        DBInstanceClass: "db.t3.micro",
        AllocatedStorage: 20,
        MasterUsername: "admin",
        MasterUserPassword: "not-a-secret-1",
        StorageEncrypted: true,
      }),
    );
    const config = (drKmsKeyArn: string): RdsJobConfig => ({
      stage: "conformance",
      database: { identifier: "gitpod", kind: "auto" },
      regions: { primary: PRIMARY_REGION, dr: DR_REGION },
      drKmsKeyArn,
      retention: { keepLast: 2, maxAgeDays: 7 },
      drRetention: { keepLast: 2, maxAgeDays: 7 },
      manualSnapshotQuota: 100,
      maxConcurrentCopies: 5,
    });
    const motoDeps = {
      rdsPrimary,
      rdsDr: new RDSClient(moto.clientConfig(DR_REGION)),
      kmsPrimary: new KMSClient(moto.clientConfig(PRIMARY_REGION)),
    };
    const aws = new FakeAws(() => new Date("2026-11-26T03:00:42Z"));
    aws.region(PRIMARY_REGION).databases.push(gitpodInstance({ kmsKeyId: AWS_RDS_KEY }));
    const fakeDeps = {
      rdsPrimary: aws.region(PRIMARY_REGION).client,
      rdsDr: aws.region(DR_REGION).client,
      kmsPrimary: new FakeKms({ [AWS_RDS_KEY]: "AWS" }).client,
    };
    const problemsOf = async (run: () => Promise<unknown>) =>
      run().then(
        () => [],
        (e: unknown) => (e as { problems?: string[] }).problems ?? [(e as Error).message],
      );

    // Act: two windows, so the first window's snapshot is available for a copy in the second.
    const runs = { moto: [] as string[][], fake: [] as string[][] };
    for (const time of ["2026-11-25T03:00:00Z", "2026-11-26T03:00:00Z"]) {
      runs.moto.push(
        await problemsOf(() =>
          runRdsSnapshotJob({ time: new Date(time), dryRun: false }, config(DR_KEY_OTHER_ACCOUNT), motoDeps),
        ),
      );
      runs.fake.push(
        await problemsOf(() =>
          runRdsSnapshotJob({ time: new Date(time), dryRun: false }, config(DR_KEY_OTHER_ACCOUNT), fakeDeps),
        ),
      );
      for (const s of aws.region(PRIMARY_REGION).snapshots.instance) s.status = "available";
    }

    // Assess: the fake, like RDS, reports the snapshot's key as the aws/rds key ARN, and the job names
    // the problem; moto reports the key as "default_kms_key_id", which its own KMS does not know.
    expect(runs.fake[1]).toEqual([expect.stringMatching(/aws\/rds.*\[DefaultKmsKeyNotShareable\]$/)]);
    expect(runs.moto[1]).toEqual([expect.stringContaining("default_kms_key_id")]);
    expect(gap(MOTO_RDS_GAPS, "KmsKeyId")).toBe(true);
  }, 30_000);
});

describe("STS: the caller, and the EKS token's presigned GetCallerIdentity", () => {
  const at = new Date("2026-11-26T03:00:00Z");

  /** `aws eks get-token` as the AWS CLI builds it (its TokenGenerator, botocore's signer), at `at`. */
  function cliToken(cluster: string, region: string): string {
    const script = [
      "import datetime, sys",
      "import botocore.auth, botocore.session",
      "from awscli.customizations.eks.get_token import STSClientFactory, TokenGenerator",
      "at = datetime.datetime.fromisoformat(sys.argv[3])",
      "botocore.auth.get_current_datetime = lambda *a, **k: at",
      "session = botocore.session.get_session()",
      "session.set_credentials(sys.argv[4], sys.argv[5], sys.argv[6])",
      "sts = STSClientFactory(session).get_sts_client(region_name=sys.argv[2])",
      "print(TokenGenerator(sts).get_token(sys.argv[1]))",
    ].join("\n");
    const env = { ...process.env };
    for (const name of Object.keys(env)) if (name.startsWith("AWS_")) delete env[name];
    const out = spawnSync(
      "python3",
      [
        "-c",
        script,
        cluster,
        region,
        "2026-11-26T03:00:00",
        CREDENTIALS.accessKeyId,
        CREDENTIALS.secretAccessKey,
        CREDENTIALS.sessionToken as string,
      ],
      { encoding: "utf8", env },
    );
    if (out.status !== 0) throw new Error(`aws eks get-token (botocore) failed: ${out.stderr}`);
    return out.stdout.trim();
  }

  const decode = (token: string) =>
    new URL(Buffer.from(token.slice("k8s-aws-v1.".length), "base64url").toString());

  /**
   * The format rules of aws-iam-authenticator's `tokenVerifier.Verify` (pkg/token/token.go), which EKS
   * runs before it sends the URL to STS: the reason a token is refused, or undefined.
   */
  function authenticatorRefuses(token: string, now: Date): string | undefined {
    const WHITELIST = [
      "action",
      "version",
      "x-amz-algorithm",
      "x-amz-credential",
      "x-amz-date",
      "x-amz-expires",
      "x-amz-security-token",
      "x-amz-signature",
      "x-amz-signedheaders",
    ];
    if (token.length > 4096) return "token is too large";
    if (!token.startsWith("k8s-aws-v1.")) return "missing prefix";
    const body = token.slice("k8s-aws-v1.".length);
    if (!/^[A-Za-z0-9_-]*$/.test(body)) return "not RawURLEncoding";
    const url = decode(token);
    if (url.protocol !== "https:") return "scheme";
    if (!/^sts(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?$/.test(url.host)) return "host";
    if (url.pathname !== "/") return "path";
    const lower = new Map<string, string>();
    for (const key of new Set(url.searchParams.keys())) {
      if (!WHITELIST.includes(key.toLowerCase())) return `non-whitelisted query parameter ${key}`;
      const values = url.searchParams.getAll(key);
      if (values.length !== 1) return "multiple values";
      lower.set(key.toLowerCase(), values[0] as string);
    }
    if (lower.get("action") !== "GetCallerIdentity") return "action";
    if (!(lower.get("x-amz-signedheaders") ?? "").split(";").includes("x-k8s-aws-id"))
      return "cluster header not signed";
    const expires = Number(lower.get("x-amz-expires"));
    if (!Number.isInteger(expires) || expires < 0 || expires > 900) return "expires";
    const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(lower.get("x-amz-date") ?? "");
    if (!date) return "date";
    const [year, month, day, hour, minute, second] = date.slice(1).map(Number) as number[];
    const signed = Date.UTC(year as number, (month as number) - 1, day, hour, minute, second);
    if (now.getTime() > signed + 15 * 60_000) return "expired";
    return undefined;
  }

  it("the token is the URL `aws eks get-token` builds at the same time: same parameters, same signature", async () => {
    const ours = await eksToken({
      clusterName: "gitpod",
      region: "eu-west-1",
      credentials: CREDENTIALS,
      now: at,
    });
    const cli = cliToken("gitpod", "eu-west-1");
    const params = (token: string) => [...decode(token).searchParams.entries()].sort();
    // The same URL: host, path, every parameter and so the signature. Only the order of the query's
    // parameters differs (the SDK puts X-Amz-Security-Token first, botocore after SignedHeaders), which
    // neither STS nor the verifier reads: both parse the query.
    expect(params(ours.token)).toEqual(params(cli));
    expect(decode(ours.token).host).toBe(decode(cli).host);
    expect(decode(ours.token).pathname).toBe(decode(cli).pathname);
    expect(decode(ours.token).searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
  });

  it("EKS's verifier rules accept it; our fake verifier refuses what they refuse", async () => {
    const ours = await eksToken({
      clusterName: "gitpod",
      region: "eu-west-1",
      credentials: CREDENTIALS,
      now: at,
    });
    const expectFake = { cluster: "gitpod", region: "eu-west-1", credentials: CREDENTIALS, clock: () => at };
    expect(authenticatorRefuses(ours.token, new Date(at.getTime() + 14 * 60_000))).toBeUndefined();
    expect(authenticatorRefuses(ours.token, new Date(at.getTime() + 16 * 60_000))).toBe("expired");
    expect(verifyEksToken(ours.token, expectFake)).toBeUndefined();

    // Correctly signed tokens the verifier refuses (a query parameter it does not allow, one given
    // twice): the fake must refuse them too, or a token EKS would refuse passes our tests.
    const signer = new SignatureV4({
      service: "sts",
      region: "eu-west-1",
      credentials: CREDENTIALS,
      sha256: Hash.bind(null, "sha256"),
    });
    const host = stsHost("eu-west-1");
    const tokenWith = async (query: Record<string, string | string[]>) => {
      const signed = await signer.presign(
        {
          method: "GET",
          protocol: "https:",
          hostname: host,
          path: "/",
          query,
          headers: { host, "x-k8s-aws-id": "gitpod" },
        },
        { expiresIn: 60, signingDate: at },
      );
      const search = new URLSearchParams();
      for (const [k, v] of Object.entries(signed.query ?? {}))
        for (const one of [v].flat()) search.append(k, String(one));
      return `k8s-aws-v1.${Buffer.from(`https://${host}/?${search}`).toString("base64url")}`;
    };
    const base = { Action: "GetCallerIdentity", Version: "2011-06-15" };
    const extra = await tokenWith({ ...base, "x-id": "GetCallerIdentity" });
    const twice = await tokenWith({ ...base, Version: ["2011-06-15", "2011-06-15"] });
    expect(authenticatorRefuses(extra, at)).toBe("non-whitelisted query parameter x-id");
    expect(authenticatorRefuses(twice, at)).toBe("multiple values");
    expect(verifyEksToken(extra, expectFake)).toMatch(/x-id/);
    expect(verifyEksToken(twice, expectFake)).toMatch(/more than once/);
  });

  it("moto's STS answers GetCallerIdentity, through the SDK and as the presigned request EKS sends", async () => {
    await moto.reset();
    const identity = await new STSClient(moto.clientConfig("eu-west-1")).send(
      new GetCallerIdentityCommand({}),
    );
    expect(identity.Account).toMatch(/^\d{12}$/);
    expect(identity.Arn).toMatch(/^arn:aws:(iam|sts)::\d{12}:/);

    // EKS (aws-iam-authenticator) GETs the token's URL from STS's host. moto_server routes a request
    // without an Authorization header by its body or path, not its host or query: the presigned GET
    // reaches moto's S3 (MOTO_STS_GAPS). Its STS does not check signatures either, so the token's
    // signature is checked against botocore above and by our fake verifier, not here.
    const ours = await eksToken({ clusterName: "gitpod", region: "eu-west-1", credentials: CREDENTIALS });
    const url = decode(ours.token);
    const { port } = new URL(moto.endpoint);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port,
          method: "GET",
          path: `${url.pathname}${url.search}`,
          headers: { host: url.host, "x-k8s-aws-id": "gitpod", accept: "application/json" },
        },
        (res) => {
          let body = "";
          res.on("data", (c) => {
            body += c;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(answer.body).toContain("ListAllMyBucketsResult");
    expect(answer.body).not.toContain("GetCallerIdentityResult");
    expect(gap(MOTO_STS_GAPS, "presigned GET")).toBe(true);
  });
});
