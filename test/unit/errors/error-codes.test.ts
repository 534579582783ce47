import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exitStatusOf } from '../../../src/cli/exit-status.ts';
import { ERROR_KINDS, errorCodeOf, kindOfCode, SignetError, type SignetErrorCode } from '../../../src/core/errors.ts';
import { describeFailure, ForgeError } from '../../../src/forge/forge-error.ts';
import { ForgeHttpError, forgeCodeOf } from '../../../src/forge/http-error.ts';
import { failureReport, OUTAGE_SUFFIX } from '../../../src/forge/report.ts';

/**
 * The error model's contract (docs/architecture.md "Errors"): the documented code table is the
 * code's list, each code's kind decides the exit status, and failures from the forge libraries
 * are classified by what they say (status, socket code), never by message text.
 */
describe('error codes', () => {
  const codes = Object.keys(ERROR_KINDS) as SignetErrorCode[];

  it('docs/architecture.md tabulates exactly the codes there are, each with its kind', () => {
    const text = readFileSync('docs/architecture.md', 'utf8');
    const section = text.slice(text.indexOf('## Errors'));
    const rows = [...section.matchAll(/^\| `([A-Z_]+)` \| (input|outage|internal) \|/gm)].map((m) => [m[1], m[2]]);
    expect(rows).toEqual(codes.map((code) => [code, ERROR_KINDS[code]]));
  });

  it('the exit status follows the kind: outage 3, input and internal 2; anything unclassified is INTERNAL', () => {
    for (const code of codes) expect(exitStatusOf(new SignetError(code, 'x'))).toBe(kindOfCode(code) === 'outage' ? 3 : 2);
    expect(errorCodeOf(new Error('ECONNREFUSED somewhere'))).toBe('INTERNAL');
    expect(exitStatusOf(new TypeError('x is undefined'))).toBe(2);
    expect(errorCodeOf(Object.assign(new TypeError('Unknown option'), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' }))).toBe('USAGE');
  });

  it('ForgeHttpError and ForgeError are SignetErrors; retryable is the outage kind', () => {
    const outage = new ForgeHttpError('FORGE_OUTAGE', 'GET /x: HTTP 502', { status: 502 });
    expect(outage).toBeInstanceOf(SignetError);
    expect([outage.code, outage.kind, outage.retryable, outage.status]).toEqual(['FORGE_OUTAGE', 'outage', true, 502]);
    expect(new ForgeHttpError('FORGE_NOT_FOUND', 'x').retryable).toBe(false);
    // A ForgeError takes its cause's code, else its stage's.
    expect(new ForgeError('api', 'x', { cause: outage }).code).toBe('FORGE_OUTAGE');
    expect(new ForgeError('policy', 'x').code).toBe('POLICY_INVALID');
    expect(new ForgeError('timeout', 'x', { cause: new ForgeHttpError('FORGE_UNREACHABLE', 'aborted') }).code).toBe('TIMEOUT');
    expect(new ForgeError('limit', 'x').kind).toBe('input');
  });

  it("classifies Octokit's, gitbeaker's, isomorphic-git's and fetch's failures by status or socket code", () => {
    expect(forgeCodeOf({ status: 502, response: { headers: {} } })).toBe('FORGE_OUTAGE');
    expect(forgeCodeOf({ status: 403, response: { headers: { 'x-ratelimit-remaining': '0' } } })).toBe('FORGE_RATE_LIMITED');
    expect(forgeCodeOf({ status: 403, response: { headers: { 'x-ratelimit-remaining': '12' } } })).toBe('FORGE_UNAUTHORIZED');
    expect(forgeCodeOf(Object.assign(new Error('Bad Gateway'), { cause: { response: new Response(null, { status: 502 }) } }))).toBe('FORGE_OUTAGE');
    expect(forgeCodeOf({ code: 'HttpError', data: { statusCode: 404 } })).toBe('FORGE_NOT_FOUND');
    expect(forgeCodeOf(new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) }))).toBe(
      'FORGE_UNREACHABLE',
    );
    expect(forgeCodeOf(new Error('something else'))).toBeUndefined();
  });

  it('an outage check says "could not check, try again" at the end of a title of at most 120 characters; a refusal does not', () => {
    const described = describeFailure(new ForgeError('fetch', `cannot fetch refs/heads/${'x'.repeat(200)}: HTTP 502`, { cause: { status: 502 } }));
    expect([described.code, described.kind]).toEqual(['FORGE_OUTAGE', 'outage']);
    const report = failureReport(described.line, { code: described.code });
    expect(report.conclusion).toBe('failure');
    expect(report.title.endsWith(OUTAGE_SUFFIX)).toBe(true);
    expect(report.title.length).toBeLessThanOrEqual(120);
    const refused = describeFailure(new ForgeError('api', 'GET /x: HTTP 401', { cause: { status: 401 } }));
    expect([refused.code, refused.kind]).toEqual(['FORGE_UNAUTHORIZED', 'input']);
    expect(failureReport(refused.line).title).not.toContain('try again');
  });
});
