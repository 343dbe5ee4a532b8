/**
 * Where moto_server (5.2) answers differently from AWS, as the conformance suite found it. Each entry
 * names the AWS documentation that says what AWS does; our fakes follow AWS there, and the conformance
 * tests compare everything else and check that each gap is still one (so a moto upgrade that closes it
 * shows up).
 */
export interface MotoGap {
  /** The compared field that moto leaves out or sets differently. */
  field: string;
  /** RDS: the snapshot families it concerns. */
  kinds?: readonly ("instance" | "cluster")[];
  what: string;
  aws: string;
}

export const MOTO_RDS_GAPS: readonly MotoGap[] = [
  {
    field: "source",
    kinds: ["instance", "cluster"],
    what: "A cross-region copy reports no SourceDBSnapshotIdentifier / SourceDBClusterSnapshotArn.",
    aws: "RDS API Reference, DBSnapshot.SourceDBSnapshotIdentifier: 'The DB snapshot ARN that the DB snapshot was copied from. It only has a value in the case of a cross-account or cross-Region copy.' (DBClusterSnapshot.SourceDBClusterSnapshotArn likewise.)",
  },
  {
    // No `kinds`: the RDS job's conformance test compares keys by role, not this field (kms-sts.test.ts checks it).
    field: "KmsKeyId",
    what: "A DB instance created with StorageEncrypted and no KmsKeyId (the AWS managed key aws/rds) and its snapshots report KmsKeyId 'default_kms_key_id', which no KMS key answers to.",
    aws: "RDS API Reference, CreateDBInstance, KmsKeyId: 'If you don't specify a value for the KmsKeyId parameter, then Amazon RDS uses your default KMS key.' DBInstance.KmsKeyId / DBSnapshot.KmsKeyId: 'the Amazon Web Services KMS key identifier' (the key ARN of aws/rds), which DescribeKey answers with KeyManager AWS.",
  },
];

export const MOTO_SNS_GAPS: readonly MotoGap[] = [
  {
    field: "Subject",
    what: "Publish accepts any Subject: 100 characters and more, line breaks, non-ASCII.",
    aws: "SNS API Reference, Publish, Subject: 'Constraints: Subjects must be ASCII text that begins with a letter, number, or punctuation mark; must not include line breaks or control characters; and must be less than 100 characters long.' Our snsSubject() enforces it; the conformance test checks the subject it produced.",
  },
];

export const MOTO_S3_GAPS: readonly MotoGap[] = [
  {
    field: "ReplicationStatus",
    what: "Objects are never replicated: a source object covered by an enabled rule has no ReplicationStatus (HeadObject sends no x-amz-replication-status) and no replica appears in the destination.",
    aws: "S3 API Reference, HeadObject, x-amz-replication-status: 'Amazon S3 can return this if your request involves a bucket that is either a source or destination in a replication rule.' S3 User Guide, 'Getting replication status information': a source object is PENDING, then COMPLETED or FAILED; its replica is REPLICA.",
  },
  {
    field: "Filter.Prefix",
    what: "GetBucketReplication answers every rule with Filter {Prefix: ''} whatever the rule put: a prefix (or tag) filter is lost, and a V1 rule (Prefix, no Filter) comes back as a V2 rule (Filter, Priority 1, DeleteMarkerReplication Disabled) although S3 replicates a V1 rule's delete markers.",
    aws: "S3 API Reference, GetBucketReplication: 'Returns the replication configuration of a bucket' (the one PutBucketReplication stored); ReplicationRule.Filter: 'A filter that identifies the subset of objects to which the replication rule applies.'",
  },
  {
    field: "DeleteMarkerReplication",
    what: "GetBucketReplication answers every rule with DeleteMarkerReplication {Status: 'Disabled'}, also for a rule put with Enabled.",
    aws: "S3 API Reference, ReplicationRule.DeleteMarkerReplication and DeleteMarkerReplication.Status: 'Indicates whether to replicate delete markers.' S3 User Guide, 'Replicating delete markers between buckets'.",
  },
  {
    field: "SourceSelectionCriteria",
    what: "GetBucketReplication leaves SourceSelectionCriteria out (SseKmsEncryptedObjects, ReplicaModifications), so a rule that selects SSE-KMS objects reads as one that does not.",
    aws: "S3 API Reference, ReplicationRule.SourceSelectionCriteria: 'A container that describes additional filters for identifying the source objects that you want to replicate… SSE-KMS encrypted objects'. S3 User Guide, 'Replicating objects created with server-side encryption (SSE-C, SSE-S3, SSE-KMS, DSSE-KMS)': SSE-KMS objects replicate only when the rule opts in.",
  },
  {
    field: "ETag",
    what: "An object written to a bucket whose default encryption is SSE-KMS gets the MD5 of its data as ETag.",
    aws: "S3 API Reference, Object.ETag: 'Objects created by the PUT Object, POST Object, or Copy operation, or through the AWS Management Console, and are encrypted by SSE-C or SSE-KMS, have ETags that are not an MD5 digest of their object data.' (Why the canary check compares sizes only there.)",
  },
  {
    field: "GetBucketEncryption",
    what: "A bucket never given an encryption configuration answers ServerSideEncryptionConfigurationNotFoundError.",
    aws: "S3 User Guide, 'Setting default server-side encryption behavior for Amazon S3 buckets': 'All Amazon S3 buckets have encryption configured by default… Amazon S3 applies server-side encryption with Amazon S3 managed keys (SSE-S3) as the base level of encryption for every bucket' (since 5 January 2023); GetBucketEncryption then answers SSEAlgorithm AES256.",
  },
];

export const MOTO_KMS_GAPS: readonly MotoGap[] = [
  {
    field: "KeyManager",
    what: "The AWS managed keys moto makes on first use of a reserved alias (alias/aws/rds, …) report KeyManager CUSTOMER.",
    aws: "KMS API Reference, KeyMetadata.KeyManager: 'The manager of the KMS key. KMS keys in your AWS account are either customer managed or AWS managed.' Valid values CUSTOMER | AWS; KMS Developer Guide, 'AWS managed keys': their aliases are aws/<service>. DefaultKeyCheck (rds/kms.ts) reads it.",
  },
];

export const MOTO_STS_GAPS: readonly MotoGap[] = [
  {
    field: "presigned GET",
    what: "moto_server routes a request without an Authorization header by its body or path, not by its Host or its query's X-Amz-Credential: the presigned GetCallerIdentity GET that EKS sends for a token reaches moto's S3 (ListBuckets). moto's STS checks no signature either.",
    aws: "STS API Reference, GetCallerIdentity, and the Signature Version 4 guide, 'Authenticating requests: using query parameters': a GET to https://sts.<region>.amazonaws.com/ carrying the signature in the query is a GetCallerIdentity call; aws-iam-authenticator (pkg/token/token.go, Verify) sends exactly that for every EKS token.",
  },
];

export const MOTO_ECR_GAPS: readonly MotoGap[] = [
  {
    field: "imageDigest",
    what: "PutImage without imageDigest stamps the image with the sha256 of its layers' digests joined, not of the manifest; BatchGetImage and DescribeImages report that.",
    aws: "ECR API Reference, ImageIdentifier.imageDigest: 'The sha256 digest of the image manifest.' OCI Distribution Spec, 'Pulling manifests': the digest of a manifest is the digest of its bytes, which the engine checks after every copy.",
  },
  {
    field: "/v2/",
    what: "No registry (OCI distribution / Docker Registry HTTP API V2) endpoint: GET /v2/ answers 404, so no image can be pulled or pushed.",
    aws: "ECR User Guide, 'Amazon ECR private registry': the registry https://<account>.dkr.ecr.<region>.amazonaws.com serves the Docker Registry HTTP API V2 and OCI distribution; authenticated with GetAuthorizationToken.",
  },
  {
    field: "nextToken",
    what: "DescribeRepositories and DescribeImages ignore maxResults and never page (every result in one answer); DescribeImages ignores filter.tagStatus.",
    aws: "ECR API Reference, DescribeRepositories and DescribeImages, maxResults (1-1000) and nextToken; DescribeImagesFilter.tagStatus TAGGED | UNTAGGED | ANY. The unit tests' mock pages (test/unit/registry/sync.test.ts).",
  },
  {
    field: "expiresAt",
    what: "GetAuthorizationToken answers expiresAt 2015-01-01T00:00:00Z, a time long past.",
    aws: "ECR API Reference, AuthorizationData.expiresAt: 'The Unix time in seconds and milliseconds when the authorization token expires. Authorization tokens are valid for 12 hours.'",
  },
];
