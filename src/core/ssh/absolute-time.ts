/**
 * allowed_signers timestamps, read as OpenSSH's parse_absolute_time() reads them:
 * YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS, then optionally `Z` or `UTC` (any case) for UTC.
 * Without a suffix the time is local, as ssh-keygen (mktime) takes it: the edge that reads the
 * file and the server running ssh-keygen share one time zone. Fields are range-checked as
 * strptime does (a day of 31 in a short month rolls over, as mktime rolls it) and times at or
 * before the epoch are refused.
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
  let millis: number;
  if (utc) {
    const date = new Date(0);
    date.setUTCFullYear(year, month - 1, day);
    date.setUTCHours(hour, minute, second, 0);
    millis = date.getTime();
  } else {
    const date = new Date(0);
    date.setFullYear(year, month - 1, day);
    date.setHours(hour, minute, second, 0);
    millis = date.getTime();
  }
  const seconds = Math.floor(millis / 1000);
  // OpenSSH refuses negative results, and 0 means "unset" to it, so it refuses that too.
  return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
}
