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
