import { describe, expect, it } from "vitest";
import type { SynthesizedRegion } from "../../../packages/cli/src/synth-app.ts";
import { formatSynthSummary, summarize } from "../../../packages/cli/src/synth-summary.ts";

/**
 * The summary over resource kinds the example stage does not (yet) synthesize: CloudWatch alarms, an
 * EventBridge Scheduler schedule, a custom resource, inline role policies and access policies of an EKS
 * access entry.
 */
const getAtt = (id: string) => ({ "Fn::GetAtt": [id, "Arn"] });
const region: SynthesizedRegion = {
  region: "eu-west-1",
  kind: "primary",
  dir: "/out/primary-eu-west-1",
  stacks: [
    {
      name: "st-gitpod-dr-Monitoring",
      file: "/out/primary-eu-west-1/st-gitpod-dr-Monitoring.template.json",
      template: {
        Resources: {
          JobRole: {
            Type: "AWS::IAM::Role",
            Properties: {
              Policies: [
                {
                  PolicyName: "inline",
                  PolicyDocument: {
                    Statement: [
                      {
                        Effect: "Allow",
                        Action: "s3:GetObject",
                        Resource: { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":s3:::b/*"]] },
                      },
                    ],
                  },
                },
              ],
            },
          },
          Job: {
            Type: "AWS::Lambda::Function",
            Properties: { Role: getAtt("JobRole"), Timeout: 30, MemorySize: 256 },
          },
          Seed: { Type: "Custom::Seed", Properties: { ServiceToken: getAtt("Job") } },
          Every: {
            Type: "AWS::Scheduler::Schedule",
            Properties: { ScheduleExpression: "rate(5 minutes)", Target: { Arn: getAtt("Job") } },
          },
          Entry: {
            Type: "AWS::EKS::AccessEntry",
            Properties: {
              ClusterName: "gitpod",
              PrincipalArn: getAtt("JobRole"),
              AccessPolicies: [
                {
                  PolicyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
                  AccessScope: { Type: "namespace", Namespaces: ["velero"] },
                },
              ],
            },
          },
          Errors: {
            Type: "AWS::CloudWatch::Alarm",
            Properties: {
              AlarmName: "gitpod-dr-st-job-errors",
              Namespace: "AWS/Lambda",
              MetricName: "Errors",
              Statistic: "Sum",
              ComparisonOperator: "GreaterThanOrEqualToThreshold",
              Threshold: 1,
              EvaluationPeriods: 1,
              Period: 300,
              AlarmActions: [{ Ref: "Topic" }],
            },
          },
        },
      },
    },
  ],
};

describe("the synth summary", () => {
  const [summary] = summarize([region]);

  it("finds every trigger of a function, its inline permissions and its Kubernetes access", () => {
    expect(summary?.functions).toEqual([
      {
        stack: "st-gitpod-dr-Monitoring",
        function: "Job",
        triggers: ["custom resource Seed (Custom::Seed) at deploy time", "schedule rate(5 minutes)"],
        timeoutSeconds: 30,
        memoryMb: 256,
        role: "JobRole",
        managedPolicies: [],
        permissions: [{ effect: "Allow", actions: ["s3:GetObject"], resources: ["arn:aws:s3:::b/*"] }],
        kubernetes: [
          "cluster gitpod: arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy (namespace: velero)",
        ],
      },
    ]);
  });

  it("lists the alarms with metric, threshold and actions", () => {
    expect(summary?.alarms).toEqual([
      {
        stack: "st-gitpod-dr-Monitoring",
        name: "gitpod-dr-st-job-errors",
        detail: "AWS/Lambda Errors (Sum) GreaterThanOrEqualToThreshold 1 for 1 x 300 s; actions: <Topic>",
      },
    ]);
    expect(formatSynthSummary("st", "000000000000", true, [summary as NonNullable<typeof summary>])).toMatch(
      /alarms and notifications:\n {4}gitpod-dr-st-job-errors \(st-gitpod-dr-Monitoring\): AWS\/Lambda Errors/,
    );
  });
});
