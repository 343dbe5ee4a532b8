/**
 * A cross-region CopyDBSnapshot needs a PreSignedUrl: a CopyDBSnapshot request to the SOURCE region,
 * signed with our credentials. gitpod-dr relies on the SDK's RDS middleware (@aws-sdk/middleware-sdk-rds)
 * to add it when the source is an ARN in another region. aws-sdk-client-mock skips the middleware stack,
 * so this test sends the real request through a stub HTTP handler and reads what would go on the wire.
 */
import { Readable } from "node:stream";
import { RDSClient } from "@aws-sdk/client-rds";
import { type HttpHandler, type HttpRequest, HttpResponse } from "@smithy/protocol-http";
import { describe, expect, it } from "vitest";
import { awsClientConfig } from "../../../packages/core/src/aws/clients.ts";
import { snapshotApi } from "../../../packages/core/src/rds/api.ts";
import type { Snapshot } from "../../../packages/core/src/rds/types.ts";

const SOURCE_ARN = "arn:aws:rds:eu-west-1:111111111111:snapshot:gitpod-dr-gitpod-2026-11-26-0300";
const DR_KEY = "arn:aws:kms:eu-central-1:111111111111:key/3333cccc-dr-cmk";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

class RecordingHandler implements HttpHandler {
  readonly requests: HttpRequest[] = [];
  async handle(request: HttpRequest): Promise<{ response: HttpResponse }> {
    this.requests.push(request);
    const body = `<CopyDBSnapshotResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><CopyDBSnapshotResult><DBSnapshot><DBSnapshotIdentifier>gitpod-dr-gitpod-2026-11-26-0300</DBSnapshotIdentifier><Status>pending</Status></DBSnapshot></CopyDBSnapshotResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></CopyDBSnapshotResponse>`;
    return {
      response: new HttpResponse({
        statusCode: 200,
        headers: { "content-type": "text/xml" },
        body: Readable.from([Buffer.from(body)]),
      }),
    };
  }
  updateHttpClientConfig(): void {}
  httpHandlerConfigs(): Record<string, never> {
    return {};
  }
}

describe("a cross-region copy request as it goes on the wire", () => {
  it("is sent to the DR region and carries a PreSignedUrl for the source region", async () => {
    const handler = new RecordingHandler();
    const dr = new RDSClient({
      ...awsClientConfig("eu-central-1"),
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: SECRET },
      requestHandler: handler,
    });
    const source: Snapshot = {
      identifier: "gitpod-dr-gitpod-2026-11-26-0300",
      arn: SOURCE_ARN,
      region: "eu-west-1",
      databaseIdentifier: "gitpod",
      status: "available",
      tags: { "gitpod-dr:created-by": "gitpod-dr", "gitpod-dr:source": "gitpod" },
      encrypted: true,
    };

    const result = await snapshotApi("instance").copySnapshot(dr, source, {
      kmsKeyId: DR_KEY,
      tags: source.tags,
    });

    expect(result).toBe("started");
    expect(handler.requests).toHaveLength(1);
    const request = handler.requests[0] as HttpRequest;
    expect(request.hostname).toBe("rds.eu-central-1.amazonaws.com");
    const params = new URLSearchParams(String(request.body));
    expect(params.get("Action")).toBe("CopyDBSnapshot");
    expect(params.get("SourceDBSnapshotIdentifier")).toBe(SOURCE_ARN);
    expect(params.get("KmsKeyId")).toBe(DR_KEY);
    const presigned = new URL(params.get("PreSignedUrl") ?? "");
    expect(presigned.hostname).toBe("rds.eu-west-1.amazonaws.com");
    expect(presigned.searchParams.get("Action")).toBe("CopyDBSnapshot");
    expect(presigned.searchParams.get("DestinationRegion")).toBe("eu-central-1");
    expect(presigned.searchParams.get("SourceDBSnapshotIdentifier")).toBe(SOURCE_ARN);
    expect(presigned.searchParams.get("X-Amz-Credential")).toMatch(
      /^AKIDEXAMPLE\/\d{8}\/eu-west-1\/rds\/aws4_request$/,
    );
    expect(presigned.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    // The secret key signs; it is never sent.
    expect(String(request.body)).not.toContain(SECRET);
  });
});
