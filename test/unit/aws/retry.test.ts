/**
 * The SDK's retry middleware, as gitpod-dr configures it, against a stub HTTP handler.
 * aws-sdk-client-mock replaces `send` and so skips the middleware stack: it cannot show retries.
 */
import { Readable } from "node:stream";
import { DescribeDBInstancesCommand, RDSClient } from "@aws-sdk/client-rds";
import { type HttpHandler, type HttpRequest, HttpResponse } from "@smithy/protocol-http";
import { describe, expect, it } from "vitest";
import { awsClientConfig } from "../../../packages/core/src/aws/clients.ts";
import { wrapAwsError } from "../../../packages/core/src/aws/errors.ts";
import { AwsAccessDeniedError, AwsThrottledError } from "../../../packages/core/src/errors.ts";
import { resolveDatabase } from "../../../packages/core/src/rds/api.ts";

const RETRY = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 };

interface StubResponse {
  statusCode: number;
  body: string;
}

const errorXml = (code: string, message: string) =>
  `<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r1</RequestId></ErrorResponse>`;

const THROTTLED: StubResponse = { statusCode: 400, body: errorXml("Throttling", "Rate exceeded") };
const ACCESS_DENIED: StubResponse = {
  statusCode: 403,
  body: errorXml(
    "AccessDenied",
    "User: arn:aws:sts::111111111111:assumed-role/gitpod-dr/fn is not authorized to perform: rds:DescribeDBInstances",
  ),
};
const INSTANCE: StubResponse = {
  statusCode: 200,
  body: `<DescribeDBInstancesResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">
  <DescribeDBInstancesResult>
    <DBInstances>
      <DBInstance>
        <DBInstanceIdentifier>gitpod</DBInstanceIdentifier>
        <DBInstanceArn>arn:aws:rds:eu-west-1:111111111111:db:gitpod</DBInstanceArn>
        <DBInstanceStatus>available</DBInstanceStatus>
        <Engine>mysql</Engine>
      </DBInstance>
    </DBInstances>
  </DescribeDBInstancesResult>
  <ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata>
</DescribeDBInstancesResponse>`,
};

/** Answers requests from a script; the last answer repeats. Records every request it is given. */
class ScriptedHandler implements HttpHandler {
  readonly requests: HttpRequest[] = [];

  constructor(private readonly script: StubResponse[]) {}

  async handle(request: HttpRequest): Promise<{ response: HttpResponse }> {
    this.requests.push(request);
    const answer = this.script[Math.min(this.requests.length, this.script.length) - 1] as StubResponse;
    return {
      response: new HttpResponse({
        statusCode: answer.statusCode,
        headers: { "content-type": "text/xml" },
        body: Readable.from([Buffer.from(answer.body)]),
      }),
    };
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }
}

function rdsClient(handler: ScriptedHandler): RDSClient {
  return new RDSClient({
    ...awsClientConfig("eu-west-1", RETRY),
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "x" },
    requestHandler: handler,
  });
}

/** The attempt number the SDK's retry middleware wrote on each request. */
const attempts = (handler: ScriptedHandler) => handler.requests.map((r) => r.headers["amz-sdk-request"]);

describe("the SDK retry strategy of awsClientConfig", () => {
  it("retries a throttled call and succeeds on the third attempt", async () => {
    const handler = new ScriptedHandler([THROTTLED, THROTTLED, INSTANCE]);

    const database = await resolveDatabase(rdsClient(handler), "gitpod", "instance");

    expect(database).toEqual({
      kind: "instance",
      identifier: "gitpod",
      arn: "arn:aws:rds:eu-west-1:111111111111:db:gitpod",
      account: "111111111111",
      status: "available",
      engine: "mysql",
    });
    expect(handler.requests).toHaveLength(3);
    expect(attempts(handler)).toEqual(["attempt=1; max=3", "attempt=2; max=3", "attempt=3; max=3"]);
    expect(handler.requests.every((r) => String(r.body).includes("Action=DescribeDBInstances"))).toBe(true);
  });

  it("gives up after maxAttempts and surfaces AwsThrottled, retryable", async () => {
    const handler = new ScriptedHandler([THROTTLED]);

    const error = await resolveDatabase(rdsClient(handler), "gitpod", "instance").catch((e: unknown) => e);

    expect(handler.requests).toHaveLength(RETRY.maxAttempts);
    expect(error).toBeInstanceOf(AwsThrottledError);
    expect(error).toMatchObject({
      name: "AwsThrottled",
      code: "AwsThrottled",
      retryable: true,
      message: "Unable to describe DB instance gitpod: throttled by AWS (Throttling) after retries",
    });
    expect((error as AwsThrottledError).cause).toMatchObject({
      name: "Throttling",
      $metadata: { httpStatusCode: 400, attempts: 3 },
    });
  });

  it("classifies the raw SDK throttling error the same way through wrapAwsError", async () => {
    const handler = new ScriptedHandler([THROTTLED]);
    const sdkError = await rdsClient(handler)
      .send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: "gitpod" }))
      .catch((e: unknown) => e);

    const wrapped = wrapAwsError("Unable to list things", sdkError);

    expect(handler.requests).toHaveLength(3);
    expect(wrapped).toBeInstanceOf(AwsThrottledError);
    expect(wrapped.retryable).toBe(true);
    expect(wrapped.cause).toBe(sdkError);
  });

  it("does not retry AccessDenied and maps it to AwsAccessDenied", async () => {
    const handler = new ScriptedHandler([ACCESS_DENIED, INSTANCE]);

    const error = await resolveDatabase(rdsClient(handler), "gitpod", "auto").catch((e: unknown) => e);

    expect(handler.requests).toHaveLength(1);
    expect(error).toBeInstanceOf(AwsAccessDeniedError);
    expect(error).toMatchObject({ name: "AwsAccessDenied", retryable: false });
    expect((error as Error).message).toContain(
      "Unable to describe DB instance gitpod: access denied (AccessDenied)",
    );
    expect((error as Error).message).toContain("rds:DescribeDBInstances");
  });
});
