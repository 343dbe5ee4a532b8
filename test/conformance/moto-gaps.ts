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
    what: "GetBucketReplication answers every rule with Filter {Prefix: ''} whatever the rule put: a prefix (or tag) filter is lost, and a V1 rule's Prefix too.",
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
