/**
 * CloudWatch as far as the rehearsal needs it: PutMetricData kept per region, GetMetricData answered from
 * what was put (Maximum per query's period), and metric alarms evaluated like CloudWatch's (one period,
 * `GreaterThanThreshold`, missing data treated as breaching), with the state changes and reasons kept.
 */
import { GetMetricDataCommand, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";

export interface Datapoint {
  readonly region: string;
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly at: Date;
  readonly value: number;
}

export interface AlarmDefinition {
  readonly name: string;
  readonly region: string;
  readonly namespace: string;
  readonly metric: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly threshold: number;
  readonly periodSeconds: number;
}

export type AlarmState = "OK" | "ALARM" | "INSUFFICIENT_DATA";

export interface AlarmChange {
  readonly at: Date;
  readonly name: string;
  readonly state: AlarmState;
  readonly previous: AlarmState;
  readonly reason: string;
}

const sameDimensions = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>) => {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
};

/** CloudWatch's datapoint format in alarm reasons: `93784.0 (03/12/26 04:15:00)`. */
function reasonPoint(value: number, at: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  const date = `${p(at.getUTCDate())}/${p(at.getUTCMonth() + 1)}/${p(at.getUTCFullYear() % 100)}`;
  const time = `${p(at.getUTCHours())}:${p(at.getUTCMinutes())}:${p(at.getUTCSeconds())}`;
  return `${value.toFixed(1)} (${date} ${time})`;
}

export class FakeCloudWatch {
  readonly datapoints: Datapoint[] = [];
  readonly changes: AlarmChange[] = [];
  readonly #alarms = new Map<string, { definition: AlarmDefinition; state: AlarmState }>();

  constructor(private readonly clock: () => Date) {}

  client(region: string) {
    return {
      config: { region: async () => region },
      send: async (command: unknown) => {
        if (command instanceof PutMetricDataCommand) {
          const input = command.input;
          for (const d of input.MetricData ?? []) {
            this.datapoints.push({
              region,
              namespace: input.Namespace ?? "",
              name: d.MetricName ?? "",
              dimensions: Object.fromEntries((d.Dimensions ?? []).map((x) => [x.Name ?? "", x.Value ?? ""])),
              at: d.Timestamp ? new Date(d.Timestamp) : this.clock(),
              value: d.Value ?? 0,
            });
          }
          return { $metadata: {} };
        }
        if (command instanceof GetMetricDataCommand) {
          const input = command.input;
          const start = input.StartTime ? new Date(input.StartTime).getTime() : 0;
          const end = input.EndTime ? new Date(input.EndTime).getTime() : this.clock().getTime();
          return {
            MetricDataResults: (input.MetricDataQueries ?? []).map((q) => {
              const stat = q.MetricStat;
              const dims = Object.fromEntries(
                (stat?.Metric?.Dimensions ?? []).map((x) => [x.Name ?? "", x.Value ?? ""]),
              );
              const points = this.datapoints.filter(
                (p) =>
                  p.region === region &&
                  p.namespace === stat?.Metric?.Namespace &&
                  p.name === stat?.Metric?.MetricName &&
                  sameDimensions(p.dimensions, dims) &&
                  p.at.getTime() >= start &&
                  p.at.getTime() < end,
              );
              return {
                Id: q.Id,
                Timestamps: points.map((p) => p.at),
                Values: points.map((p) => p.value),
                StatusCode: "Complete",
              };
            }),
            $metadata: {},
          };
        }
        throw new Error(`simulated CloudWatch: ${(command as object).constructor.name} is not served`);
      },
    };
  }

  defineAlarm(definition: AlarmDefinition): void {
    this.#alarms.set(definition.name, { definition, state: "INSUFFICIENT_DATA" });
  }

  state(name: string): AlarmState | undefined {
    return this.#alarms.get(name)?.state;
  }

  /**
   * Evaluates every alarm over the period ending now (as CloudWatch does once a period); returns the
   * changes of state.
   */
  evaluate(): AlarmChange[] {
    const now = this.clock();
    const changes: AlarmChange[] = [];
    for (const alarm of this.#alarms.values()) {
      const d = alarm.definition;
      const from = now.getTime() - d.periodSeconds * 1000;
      const points = this.datapoints.filter(
        (p) =>
          p.region === d.region &&
          p.namespace === d.namespace &&
          p.name === d.metric &&
          sameDimensions(p.dimensions, d.dimensions) &&
          p.at.getTime() > from &&
          p.at.getTime() <= now.getTime(),
      );
      const max = points.reduce<Datapoint | undefined>(
        (m, p) => (!m || p.value > m.value ? p : m),
        undefined,
      );
      let state: AlarmState;
      let reason: string;
      if (!max) {
        state = "ALARM";
        reason =
          "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [Breaching].";
      } else {
        const breaching = max.value > d.threshold;
        state = breaching ? "ALARM" : "OK";
        reason = `Threshold Crossed: 1 datapoint [${reasonPoint(max.value, max.at)}] was ${
          breaching ? "greater than" : "not greater than"
        } the threshold (${d.threshold.toFixed(1)}).`;
      }
      if (state !== alarm.state) {
        const change = { at: now, name: d.name, state, previous: alarm.state, reason };
        alarm.state = state;
        changes.push(change);
        this.changes.push(change);
      }
    }
    return changes;
  }
}
