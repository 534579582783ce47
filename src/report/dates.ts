import { SignetError } from '../core/errors.ts';

/**
 * Dates as the report and audit commands take them: `2026-01-31` (UTC midnight), a full ISO
 * 8601 time, or a span back from now such as `30d`, `12w` or `6h`.
 */
export function parseDateOption(option: string, text: string, now: Date): Date {
  const span = /^(\d+)([hdw])$/.exec(text);
  if (span) {
    const hours = Number(span[1]) * (span[2] === 'h' ? 1 : span[2] === 'd' ? 24 : 24 * 7);
    return new Date(now.getTime() - hours * 3_600_000);
  }
  const date = /^\d{4}-\d{2}-\d{2}$/.test(text) ? new Date(`${text}T00:00:00Z`) : new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(date.getTime())) {
    throw new SignetError('USAGE', `--${option}: '${text}' is not a date (use 2026-01-31, 2026-01-31T12:00:00Z, or a span back from now: 30d, 12w, 6h)`);
  }
  return date;
}

/** A whole-day distance in words: "in 5 days", "today", "3 days ago"; never a negative count. */
export function dayCount(daysLeft: number): string {
  const n = Math.abs(daysLeft);
  const days = n === 1 ? '1 day' : `${n} days`;
  return daysLeft > 0 ? `in ${days}` : daysLeft === 0 ? 'today' : `${days} ago`;
}

/** `2026-12-07 09:00 +01:00` in the time zone given: what a person reads next to a schedule in that zone. */
export function inTimeZone(date: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    })
      .formatToParts(date)
      .map((part) => [part.type, part.value]),
  );
  const offset = parts.timeZoneName === 'GMT' ? '+00:00' : String(parts.timeZoneName).replace(/^GMT/, '');
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${offset}`;
}
