/**
 * Validation of EventBridge schedule expressions, so that a typo fails synthesis with the reason instead
 * of failing the CloudFormation deployment later.
 * Reference: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
 */

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\((.*)\)$/;

const MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC";
const DAYS = "SUN|MON|TUE|WED|THU|FRI|SAT";

interface CronField {
  name: string;
  min: number;
  max: number;
  names?: string;
  extra?: RegExp;
}

const FIELDS: CronField[] = [
  { name: "minutes", min: 0, max: 59 },
  { name: "hours", min: 0, max: 23 },
  // The day number in the W, # and nL forms (below) is held to the field's range like any other value.
  { name: "day-of-month", min: 1, max: 31, extra: /^(\?|L|LW|(0?[1-9]|[12]\d|3[01])W)$/ },
  { name: "month", min: 1, max: 12, names: MONTHS },
  { name: "day-of-week", min: 1, max: 7, names: DAYS, extra: /^(\?|L|[1-7]#[1-5]|[1-7]L)$/ },
  { name: "year", min: 1970, max: 2199 },
];

function checkValue(value: string, field: CronField): string | undefined {
  if (field.names && new RegExp(`^(${field.names})$`, "i").test(value)) return undefined;
  if (!/^\d+$/.test(value)) return `"${value}" is not a number${field.names ? " or a name" : ""}`;
  const n = Number(value);
  if (n < field.min || n > field.max) return `${n} is outside ${field.min}-${field.max}`;
  return undefined;
}

function checkField(text: string, field: CronField): string | undefined {
  if (text === "*") return undefined;
  if (field.extra?.test(text)) return undefined;
  for (const part of text.split(",")) {
    const [range, step, ...rest] = part.split("/");
    if (rest.length > 0 || range === undefined || range === "") return `"${part}" is malformed`;
    if (step !== undefined && (!/^\d+$/.test(step) || Number(step) === 0)) {
      return `step "${step}" must be a positive number`;
    }
    if (range === "*") continue;
    const bounds = range.split("-");
    if (bounds.length > 2) return `"${range}" is not a value or a range`;
    for (const bound of bounds) {
      const problem = checkValue(bound, field);
      if (problem) return problem;
    }
  }
  return undefined;
}

type RateUnit = "minute" | "minutes" | "hour" | "hours" | "day" | "days";

/** The parts of a `rate(<value> <unit>)` expression; undefined for anything else (cron, a typo). */
function parseRate(expression: string): { value: number; unit: RateUnit } | undefined {
  const rate = RATE.exec(expression);
  return rate ? { value: Number(rate[1]), unit: rate[2] as RateUnit } : undefined;
}

const UNIT_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** The interval of a `rate(...)` schedule; an hour for cron expressions (a run at least hourly is assumed). */
export function schedulePeriodMs(schedule: string): number {
  const rate = parseRate(schedule);
  if (!rate) return UNIT_MS.hour;
  return rate.value * UNIT_MS[rate.unit.replace(/s$/, "") as keyof typeof UNIT_MS];
}

/**
 * Checks an EventBridge `rate(...)` or `cron(...)` expression.
 * @returns the reason it is invalid, or undefined when it is valid.
 */
export function scheduleExpressionProblem(expression: string): string | undefined {
  const rate = parseRate(expression);
  if (rate) {
    const { value, unit } = rate;
    if (value === 0) return "a rate must be at least 1";
    if (value === 1 && unit.endsWith("s")) return `use the singular unit for 1: rate(1 ${unit.slice(0, -1)})`;
    if (value > 1 && !unit.endsWith("s")) return `use the plural unit for ${value}: rate(${value} ${unit}s)`;
    return undefined;
  }
  if (expression.startsWith("rate(")) {
    return 'a rate expression is "rate(<number> <minute|minutes|hour|hours|day|days>)"';
  }
  const cron = CRON.exec(expression);
  if (!cron) return 'expected "rate(...)" or "cron(...)"';
  const parts = (cron[1] ?? "").trim().split(/\s+/);
  if (parts.length !== 6) {
    return `a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), got ${parts.length}`;
  }
  for (const [i, field] of FIELDS.entries()) {
    const problem = checkField(parts[i] ?? "", field);
    if (problem) return `cron field ${field.name}: ${problem}`;
  }
  const dayOfMonth = parts[2];
  const dayOfWeek = parts[4];
  if ((dayOfMonth === "?") === (dayOfWeek === "?")) {
    return "exactly one of day-of-month and day-of-week must be ? (EventBridge cannot combine them)";
  }
  return undefined;
}

/** The values a cron field allows in `[min, max]` (names and the W/L/# forms count as "one value"). */
function cronValues(text: string, min: number, max: number): number[] | "one" {
  if (text === "*" || text === "?") return Array.from({ length: max - min + 1 }, (_, i) => min + i);
  const values = new Set<number>();
  for (const part of text.split(",")) {
    const [range = "", step] = part.split("/");
    const [from, to] = range === "*" ? [min, max] : range.split("-").map(Number);
    if (from === undefined || Number.isNaN(from)) return "one";
    const last = to ?? (step ? max : from);
    for (let v = from; v <= last; v += Number(step ?? 1)) values.add(v);
  }
  return [...values].sort((a, b) => a - b);
}

/**
 * The longest time between two runs of a valid schedule expression: a rate's interval; for a cron
 * expression, the longest gap between its daily times when it runs every day, else a week (days of the
 * week named) or 31 days (days of the month named). An upper bound for RPO targets, never less than the truth.
 */
export function longestScheduleGapMs(schedule: string): number {
  if (parseRate(schedule)) return schedulePeriodMs(schedule);
  const [minutes = "*", hours = "*", dayOfMonth = "*", , dayOfWeek = "*"] = (CRON.exec(schedule)?.[1] ?? "")
    .trim()
    .split(/\s+/);
  if (!["*", "?"].includes(dayOfMonth)) return 31 * UNIT_MS.day;
  if (!["*", "?"].includes(dayOfWeek)) return 7 * UNIT_MS.day;
  const m = cronValues(minutes, 0, 59);
  const h = cronValues(hours, 0, 23);
  if (m === "one" || h === "one" || m.length === 0 || h.length === 0) return UNIT_MS.day;
  const times = h.flatMap((hour) => m.map((minute) => (hour * 60 + minute) * UNIT_MS.minute));
  let gap = (times[0] as number) + UNIT_MS.day - (times[times.length - 1] as number);
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, (times[i] as number) - (times[i - 1] as number));
  return gap;
}
