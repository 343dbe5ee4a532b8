import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { StageConfigInput } from "@gitpod-dr/core/config";
import { parseStageConfig, parseVeleroJobConfig, veleroJobConfigSchema } from "@gitpod-dr/core/config";
import { Match, type Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import exampleConfig from "../../config/example.ts";
import { catalogConfig } from "../../packages/core/src/config/catalog.ts";
import { arn, asList, type Statement } from "../../packages/sim/src/cfn.ts";
import { ACCOUNT, synth } from "../../packages/sim/src/synth.ts";
import { Application, KUBERNETES_GROUP } from "../../stacks/Application.ts";

const HANDLER = "packages/functions/src/velero-backup.handler";
const CLUSTER_ARN = `arn:aws:eks:eu-west-1:${ACCOUNT}:cluster/gitpod`;
const VPC_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole";
const VPC = {
  subnetIds: ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
  securityGroupIds: ["sg-0123456789abcdef0"],
};

/** A resource of the template, as `findResources` returns it. */
type Resource = ReturnType<Template["findResources"]>[string];

function veleroFunctions(template: Template): [string, Resource][] {
  return Object.entries(
    template.findResources("AWS::Lambda::Function", { Properties: { Handler: HANDLER } }),
  ) as [string, Resource][];
}

function veleroFunction(template: Template): [string, Resource] {
  const fns = veleroFunctions(template);
  expect(fns).toHaveLength(1);
  return fns[0] as [string, Resource];
}

/** The logical id of the function's role. */
function roleOf(template: Template): string {
  const [, fn] = veleroFunction(template);
  return (fn.Properties.Role["Fn::GetAtt"] as string[])[0] as string;
}

function roleStatements(template: Template): Statement[] {
  const policies = template.findResources("AWS::IAM::Policy", {
    Properties: { Roles: [{ Ref: roleOf(template) }] },
  });
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

function managedPolicies(template: Template): string[] {
  const role = template.toJSON().Resources[roleOf(template)] as Resource;
  return asList(role.Properties.ManagedPolicyArns ?? []).map(arn);
}

describe("the example stage's application section", () => {
  let application: Template;
  let statements: Statement[];

  beforeAll(async () => {
    application = await synth(Application, {
      stage: "application",
      config: exampleConfig,
      withoutRestore: true,
    });
    statements = roleStatements(application);
  });

  it("deploys the VeleroBackup function with a run-time configuration that parses", () => {
    const [, fn] = veleroFunction(application);
    expect(fn.Properties.Runtime).toBe("nodejs22.x");
    const vars = fn.Properties.Environment.Variables;
    expect(vars.GITPOD_DR_STAGE).toBe("application");
    expect(vars.GITPOD_DR_TOPIC_ARN).toBeDefined();

    const config = parseVeleroJobConfig(vars.GITPOD_DR_CONFIG);

    expect(config.region).toBe("eu-west-1");
    expect(config).toEqual(
      veleroJobConfigSchema.parse({
        stage: "application",
        region: "eu-west-1",
        application: parseStageConfig(exampleConfig).application,
        // The job records completed backups in the stage's catalog, in the DR region.
        catalog: catalogConfig("application", parseStageConfig(exampleConfig)),
      }),
    );
    expect(config.catalog).toMatchObject({
      tableName: "gitpod-dr-application-catalog",
      region: "eu-central-1",
    });
    expect(config.application.cluster.name).toBe("gitpod");
  });

  it("allows eks:DescribeCluster on the configured cluster only", () => {
    const describe = statements.filter((s) => asList(s.Action).includes("eks:DescribeCluster"));
    expect(describe).toHaveLength(1);
    expect(asList(describe[0]?.Resource).map(arn)).toEqual([CLUSTER_ARN]);
  });

  it("has no EKS action on *, and no wildcard action at all", () => {
    const eksStatements = statements.filter((s) => asList(s.Action).some((a) => a.startsWith("eks:")));
    expect(eksStatements.flatMap((s) => asList(s.Action))).toEqual(["eks:DescribeCluster"]);
    for (const s of eksStatements) expect(asList(s.Resource).map(arn)).not.toContain("*");
    for (const s of statements) {
      for (const action of asList(s.Action)) expect(action).not.toContain("*");
    }
  });

  it("publishes only to the alerts topic", () => {
    const publish = statements.filter((s) => asList(s.Action).includes("sns:Publish"));
    expect(publish).toHaveLength(1);
    expect(JSON.stringify(publish[0]?.Resource)).toMatch(/AlertsTopic/);
  });

  it("maps the function's role to the gitpod-dr Kubernetes group with an access entry on the cluster", () => {
    const entries = Object.values(application.findResources("AWS::EKS::AccessEntry")) as Resource[];

    expect(entries).toHaveLength(1);
    // SST tags every resource; the rest is the entry. No access policy: RBAC alone grants (deploy/rbac.yaml).
    const { Tags: _, ...entry } = entries[0]?.Properties ?? {};
    expect(entry).toEqual({
      ClusterName: "gitpod",
      PrincipalArn: { "Fn::GetAtt": [roleOf(application), "Arn"] },
      KubernetesGroups: ["gitpod-dr"],
      Type: "STANDARD",
    });
    expect(KUBERNETES_GROUP).toBe("gitpod-dr");
  });

  it("schedules the job from the application's expression, targeting the function", () => {
    const [logicalId] = veleroFunction(application);
    application.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "cron(0 2 * * ? *)",
      State: "ENABLED",
      Targets: [Match.objectLike({ Arn: { "Fn::GetAtt": [logicalId, "Arn"] } })],
    });
    expect(Object.keys(application.findResources("AWS::Events::Rule"))).toHaveLength(1);
  });

  it("runs outside any VPC by default", () => {
    const [, fn] = veleroFunction(application);
    expect(fn.Properties).not.toHaveProperty("VpcConfig");
    expect(managedPolicies(application)).not.toContain(VPC_POLICY);
  });
});

describe("an application section with a vpc", () => {
  let application: Template;

  beforeAll(async () => {
    application = await synth(Application, {
      stage: "applicationvpc",
      config: {
        ...exampleConfig,
        application: { ...exampleConfig.application, vpc: VPC },
      },
      withoutRestore: true,
    });
  });

  it("runs the function in exactly the given subnets and security groups", () => {
    const [, fn] = veleroFunction(application);
    expect(fn.Properties.VpcConfig).toEqual({
      SubnetIds: VPC.subnetIds,
      SecurityGroupIds: VPC.securityGroupIds,
    });
  });

  it("gives the role the managed policy Lambda needs for network interfaces", () => {
    expect(managedPolicies(application)).toContain(VPC_POLICY);
  });

  it("still scopes DescribeCluster to the cluster and maps the role", () => {
    const describe = roleStatements(application).filter((s) =>
      asList(s.Action).includes("eks:DescribeCluster"),
    );
    expect(describe.flatMap((s) => asList(s.Resource).map(arn))).toEqual([CLUSTER_ARN]);
    application.resourceCountIs("AWS::EKS::AccessEntry", 1);
  });
});

describe("a stage without an application section", () => {
  it("creates no VeleroBackup function, no access entry and no schedule for it", async () => {
    const { application: _, ...withoutApplication } = exampleConfig as StageConfigInput;
    const application = await synth(Application, {
      stage: "noapplication",
      config: withoutApplication,
      withoutRestore: true,
    });

    expect(veleroFunctions(application)).toEqual([]);
    expect(Object.keys(application.findResources("AWS::EKS::AccessEntry"))).toEqual([]);
    expect(Object.keys(application.findResources("AWS::Events::Rule"))).toEqual([]);
  });
});

describe("deploy/rbac.yaml", () => {
  type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };
  type Doc = {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string };
    rules?: Rule[];
    roleRef?: { apiGroup: string; kind: string; name: string };
    subjects?: { apiGroup?: string; kind: string; name: string; namespace?: string }[];
  };

  const docs = parseAllDocuments(readFileSync(join(process.cwd(), "deploy", "rbac.yaml"), "utf8")).map(
    (d) => {
      expect(d.errors).toEqual([]);
      return d.toJS() as Doc;
    },
  );

  /** Each rule granted to the group, with the namespace it applies in. */
  function grants(group: string) {
    const bound = docs.filter(
      (d) =>
        (d.kind === "RoleBinding" || d.kind === "ClusterRoleBinding") &&
        d.subjects?.some((s) => s.kind === "Group" && s.name === group),
    );
    return bound.flatMap((binding) => {
      const role = docs.find(
        (d) =>
          d.kind === binding.roleRef?.kind &&
          d.metadata.name === binding.roleRef?.name &&
          (d.kind === "ClusterRole" || d.metadata.namespace === binding.metadata.namespace),
      );
      expect(role, `the role ${binding.roleRef?.name} bound by ${binding.metadata.name}`).toBeDefined();
      return (role?.rules ?? []).map((rule) => ({
        namespace: binding.kind === "ClusterRoleBinding" ? "*" : binding.metadata.namespace,
        apiGroups: [...rule.apiGroups].sort(),
        resources: [...rule.resources].sort(),
        verbs: [...rule.verbs].sort(),
        ...(rule.resourceNames ? { resourceNames: [...rule.resourceNames].sort() } : {}),
      }));
    });
  }

  it("names the group the stack maps the role to", () => {
    const groups = docs.flatMap((d) =>
      (d.subjects ?? []).filter((s) => s.kind === "Group").map((s) => s.name),
    );
    expect(groups.length).toBeGreaterThan(0);
    expect(new Set(groups)).toEqual(new Set([KUBERNETES_GROUP]));
  });

  it("grants the backup group exactly what the backup job uses: no restore, no change to the application", () => {
    expect(grants(KUBERNETES_GROUP)).toEqual([
      {
        namespace: "velero",
        apiGroups: ["velero.io"],
        resources: ["backups"],
        verbs: ["create", "get", "list"],
      },
      {
        namespace: "velero",
        apiGroups: ["velero.io"],
        resources: ["backupstoragelocations"],
        verbs: ["get"],
      },
      {
        namespace: "velero",
        apiGroups: ["apps"],
        resources: ["deployments"],
        verbs: ["get"],
        resourceNames: ["velero"],
      },
      {
        namespace: "gitpod",
        apiGroups: ["apps"],
        // kotsadm runs as a Deployment, or as a StatefulSet when installed without MinIO.
        resources: ["deployments", "statefulsets"],
        verbs: ["get"],
        resourceNames: ["kotsadm"],
      },
    ]);
  });

  it("has only namespaced Roles, and no verb that deletes, updates or escalates", () => {
    const kinds = docs.map((d) => d.kind).sort();
    expect(kinds).toEqual(["Role", "Role", "RoleBinding", "RoleBinding"]);
    for (const doc of docs) {
      expect(doc.apiVersion).toBe("rbac.authorization.k8s.io/v1");
      expect(doc.metadata.namespace).toBeDefined();
      for (const rule of doc.rules ?? []) {
        for (const verb of rule.verbs) {
          expect(["create", "get", "list", "patch"]).toContain(verb);
          expect([
            "delete",
            "deletecollection",
            "update",
            "*",
            "escalate",
            "bind",
            "impersonate",
            "watch",
          ]).not.toContain(verb);
        }
        for (const field of [rule.apiGroups, rule.resources, rule.resourceNames ?? []]) {
          for (const value of field) expect(value).not.toContain("*");
        }
      }
    }
  });

  it("binds each Role in its own namespace", () => {
    for (const binding of docs.filter((d) => d.kind === "RoleBinding")) {
      const role = docs.find((d) => d.kind === "Role" && d.metadata.name === binding.roleRef?.name);
      expect(role?.metadata.namespace).toBe(binding.metadata.namespace);
      expect(binding.roleRef?.apiGroup).toBe("rbac.authorization.k8s.io");
    }
  });

  it("binds Roles in the namespaces of the example configuration", () => {
    const velero = parseStageConfig(exampleConfig).application?.velero;
    const namespaces = new Set(docs.filter((d) => d.kind === "RoleBinding").map((d) => d.metadata.namespace));
    expect(namespaces).toEqual(new Set([velero?.namespace, ...(velero?.includedNamespaces ?? [])]));
  });
});
