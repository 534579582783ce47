/**
 * allowed_signers timestamps, read as OpenSSH's parse_absolute_time() reads them:
 * YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS, then optionally `Z` or `UTC` (any case) for UTC.
 * Without a suffix the time is local, as ssh-keygen takes it (mktime on this host's zone), and
 * like ssh-keygen we always read it as the zone's *standard* time: OpenSSH zeroes the struct tm,
 * so tm_isdst = 0 tells mktime that daylight saving is not in effect, and a summer timestamp
 * ends up an hour later than a wall clock would say. Matching that keeps our verdicts equal to
 * git's on the same host. Fields are range-checked as strptime does (a day of 31 in a short
 * month rolls over, as mktime rolls it) and times at or before the epoch are refused.
 */
export function parseAbsoluteTime(text: string): number | undefined {
  let body = text;
  let utc = false;
  if (body.length > 1 && /z$/i.test(body)) {
    utc = true;
    body = body.slice(0, -1);
  } else if (body.length > 3 && /utc$/i.test(body)) {
    utc = true;
    body = body.slice(0, -3);
  }
  if (!/^\d+$/.test(body) || (body.length !== 8 && body.length !== 12 && body.length !== 14)) return undefined;
  const field = (start: number, length: number): number => Number(body.slice(start, start + length));
  const year = field(0, 4);
  const month = field(4, 2);
  const day = field(6, 2);
  const hour = body.length >= 12 ? field(8, 2) : 0;
  const minute = body.length >= 12 ? field(10, 2) : 0;
  const second = body.length === 14 ? field(12, 2) : 0;
  // strptime's ranges: %m 1-12, %d 1-31, %H 0-23, %M 0-59, %S 0-61 (leap seconds).
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 61) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  let millis = date.getTime();
  if (!utc) millis += standardOffsetMinutes(year) * 60_000;
  const seconds = Math.floor(millis / 1000);
  // OpenSSH refuses negative results, and 0 means "unset" to it, so it refuses that too.
  return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
}

/**
 * The host zone's standard-time offset in the given year, in getTimezoneOffset()'s convention
 * (minutes to add to local time to get UTC): daylight saving always moves clocks forward, so
 * standard time is whichever of January and July is further behind UTC.
 */
function standardOffsetMinutes(year: number): number {
  const january = new Date(0);
  january.setFullYear(year, 0, 1);
  const july = new Date(0);
  july.setFullYear(year, 6, 1);
  return Math.max(january.getTimezoneOffset(), july.getTimezoneOffset());
}
