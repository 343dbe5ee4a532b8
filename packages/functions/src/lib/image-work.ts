import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { clients } from "./cache.ts";
import { env } from "./env.ts";

/** The sync workflow's files in its work bucket (S3 in the function's region). */
export const workFiles = {
  async put(bucket: string, key: string, body: unknown): Promise<void> {
    await clients.client(S3Client, env.region).send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: JSON.stringify(body),
        ContentType: "application/json",
      }),
    );
  },
  async get(bucket: string, key: string): Promise<string> {
    const out = await clients
      .client(S3Client, env.region)
      .send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await out.Body?.transformToString("utf8")) ?? "";
  },
};
