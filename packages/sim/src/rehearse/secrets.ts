/**
 * The simulated account's Secrets Manager, at the client seam (what the restore drill uses: Create, Get,
 * Delete and List secrets with their tags). One store per account, secrets per region; errors are the
 * SDK's own exception classes (ResourceNotFoundException, ResourceExistsException,
 * InvalidRequestException), so `awsErrorCode` reads them as it reads AWS's. A secret deleted without
 * `ForceDeleteWithoutRecovery` is scheduled for deletion: it is listed only with
 * `IncludePlannedDeletion` and cannot be read, as in AWS.
 */
import { randomBytes } from "node:crypto";
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  InvalidRequestException,
  ListSecretsCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  type Tag,
} from "@aws-sdk/client-secrets-manager";
import { ACCOUNT } from "../synth.ts";

export interface SimSecret {
  readonly region: string;
  readonly arn: string;
  readonly name: string;
  readonly value: string;
  readonly tags: readonly Tag[];
  readonly createdAt: Date;
  deletedAt?: Date;
}

type Send = (command: unknown) => Promise<unknown>;
const meta = { httpStatusCode: 400 };

export class FakeSecretsManager {
  readonly secrets: SimSecret[] = [];

  constructor(private readonly clock: () => Date) {}

  /** The secrets of `region` not deleted (a scheduled deletion counts as deleted). */
  live(region: string): SimSecret[] {
    return this.secrets.filter((s) => s.region === region && !s.deletedAt);
  }

  /** A `SecretsManagerClient` of `region` (a real instance, for the SDK's paginators) served by this store. */
  client(region: string): SecretsManagerClient {
    const send: Send = async (command) => this.#send(region, command);
    return Object.assign(Object.create(SecretsManagerClient.prototype) as SecretsManagerClient, {
      config: { region: async () => region },
      send,
    });
  }

  #find(region: string, id: string | undefined): SimSecret {
    const found = this.secrets.find((s) => s.region === region && (s.arn === id || s.name === id));
    if (!found) {
      throw new ResourceNotFoundException({
        message: "Secrets Manager can't find the specified secret.",
        $metadata: meta,
      });
    }
    return found;
  }

  async #send(region: string, command: unknown): Promise<unknown> {
    if (command instanceof CreateSecretCommand) {
      const { Name: name, SecretString: value, Tags: tags } = command.input;
      if (!name || value === undefined)
        throw new InvalidRequestException({ message: "Name and SecretString are required", $metadata: meta });
      if (this.secrets.some((s) => s.region === region && s.name === name)) {
        throw new ResourceExistsException({
          message: `The operation failed because the secret ${name} already exists.`,
          $metadata: meta,
        });
      }
      const arn = `arn:aws:secretsmanager:${region}:${ACCOUNT}:secret:${name}-${randomBytes(3).toString("hex")}`;
      this.secrets.push({ region, arn, name, value, tags: tags ?? [], createdAt: this.clock() });
      return { ARN: arn, Name: name, $metadata: {} };
    }
    if (command instanceof GetSecretValueCommand) {
      const s = this.#find(region, command.input.SecretId);
      if (s.deletedAt) {
        throw new InvalidRequestException({
          message: "You can't perform this operation on the secret because it was marked for deletion.",
          $metadata: meta,
        });
      }
      return { ARN: s.arn, Name: s.name, SecretString: s.value, CreatedDate: s.createdAt, $metadata: {} };
    }
    if (command instanceof DeleteSecretCommand) {
      const s = this.#find(region, command.input.SecretId);
      if (command.input.ForceDeleteWithoutRecovery) this.secrets.splice(this.secrets.indexOf(s), 1);
      else s.deletedAt ??= this.clock();
      return { ARN: s.arn, Name: s.name, DeletionDate: this.clock(), $metadata: {} };
    }
    if (command instanceof ListSecretsCommand) {
      const { Filters: filters = [], IncludePlannedDeletion: planned } = command.input;
      // AWS's filters: a secret matches when, for every filter, one of its values matches (name and
      // tag-key by prefix).
      const matches = (s: SimSecret) =>
        filters.every((f) => {
          const values = f.Values ?? [];
          if (f.Key === "name") return values.some((v) => s.name.startsWith(v));
          if (f.Key === "tag-key") return values.some((v) => s.tags.some((t) => t.Key?.startsWith(v)));
          if (f.Key === "tag-value") return values.some((v) => s.tags.some((t) => t.Value?.startsWith(v)));
          throw new InvalidRequestException({
            message: `simulated Secrets Manager: filter ${f.Key} is not simulated`,
            $metadata: meta,
          });
        });
      const list = this.secrets.filter((s) => s.region === region && (planned || !s.deletedAt) && matches(s));
      return {
        SecretList: list.map((s) => ({
          ARN: s.arn,
          Name: s.name,
          Tags: [...s.tags],
          CreatedDate: s.createdAt,
          ...(s.deletedAt ? { DeletedDate: s.deletedAt } : {}),
        })),
        $metadata: {},
      };
    }
    const name = (command as { constructor?: { name?: string } }).constructor?.name ?? "command";
    throw new Error(`simulated Secrets Manager: ${name} is not simulated`);
  }
}
