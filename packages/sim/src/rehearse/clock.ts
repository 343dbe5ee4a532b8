/**
 * The virtual clock's schedule: when each EventBridge expression of the stage fires between two virtual
 * times. Expressions are the stage's, already validated by `scheduleExpressionProblem`; a rate fires
 * every interval from the start (EventBridge counts from the rule's creation), a cron expression on
 * every minute its fields allow (UTC).
 */
import { schedulePeriodMs } from "../../../core/src/schedule.ts";

const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;
/** The virtual clock's start: after the nightly jobs, so a rehearsal sees a full day's cycle first. */
export const VIRTUAL_START = new Date("2026-12-01T04:30:00Z");
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/** The values a field allows, or undefined for "any" (`*`, `?`); names by their number. */
function fieldValues(text: string, min: number, max: number, names: string[] = []): Set<number> | undefined {
  if (text === "*" || text === "?") return undefined;
  const value = (v: string) => {
    const named = names.indexOf(v.toUpperCase());
    // Day-of-week names count from SUN = 1, months from JAN = 1.
    return named >= 0 ? named + 1 : Number(v);
  };
  const out = new Set<number>();
  for (const part of text.split(",")) {
    const [range = "", step] = part.split("/");
    const [from, to] = range === "*" ? [min, max] : range.split("-").map(value);
    if (from === undefined || Number.isNaN(from)) {
      throw new Error(`the rehearsal does not simulate the cron form "${part}"`);
    }
    const last = to ?? (step ? max : from);
    for (let v = from; v <= last; v += Number(step ?? 1)) out.add(v);
  }
  return out;
}

/** Every time `expression` fires in `[from, to)`. */
export function firings(expression: string, from: Date, to: Date): Date[] {
  const out: Date[] = [];
  if (expression.startsWith("rate(")) {
    const period = schedulePeriodMs(expression);
    for (let t = from.getTime() + period; t < to.getTime(); t += period) out.push(new Date(t));
    return out;
  }
  const fields = (/^cron\((.*)\)$/.exec(expression)?.[1] ?? "").trim().split(/\s+/);
  const [mi = "*", h = "*", dom = "*", mo = "*", dow = "*", y = "*"] = fields;
  const minutes = fieldValues(mi, 0, 59);
  const hours = fieldValues(h, 0, 23);
  const days = fieldValues(dom, 1, 31);
  const months = fieldValues(mo, 1, 12, MONTHS);
  const weekdays = fieldValues(dow, 1, 7, DAYS);
  const years = fieldValues(y, 1970, 2199);
  const start = Math.ceil(from.getTime() / MINUTE_MS) * MINUTE_MS;
  for (let t = start; t < to.getTime(); t += MINUTE_MS) {
    const d = new Date(t);
    if (
      (!minutes || minutes.has(d.getUTCMinutes())) &&
      (!hours || hours.has(d.getUTCHours())) &&
      (!days || days.has(d.getUTCDate())) &&
      (!months || months.has(d.getUTCMonth() + 1)) &&
      (!weekdays || weekdays.has(d.getUTCDay() + 1)) &&
      (!years || years.has(d.getUTCFullYear()))
    ) {
      out.push(d);
    }
  }
  return out;
}
