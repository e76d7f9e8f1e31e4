// Dates said the way people say them: "overdue by 3 days", "today", "in 2 days".

/** A YYYY-MM-DD `n` days after (or before, when negative) another. */
export function addDays(ymd: string, n: number): string {
  return new Date(Date.parse(`${ymd}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

/** Whole days from one YYYY-MM-DD to another (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/** A due date seen from `today`: "overdue by 3 days", "due today", "due tomorrow", "in 5 days". */
export function dueWords(due: string, today: string): string {
  const days = daysBetween(today, due);
  if (days < 0) return `overdue by ${-days} day${days === -1 ? "" : "s"}`;
  if (days === 0) return "due today";
  if (days === 1) return "due tomorrow";
  return `in ${days} days`;
}
