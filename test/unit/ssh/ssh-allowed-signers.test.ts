/**
 * allowed_signers parsing: a table of real-world lines, each also fed to ssh-keygen (the peer
 * must read the same principals, or refuse the same lines); malformed lines name file:line;
 * timestamps and OpenSSH patterns checked against ssh-keygen at their boundaries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSignetError } from '../../../src/core/errors.ts';
import { parseAllowedSigners, type AllowedSigner } from '../../../src/core/ssh/index.ts';
import { matchPatternList } from '../../../src/core/ssh/pattern.ts';
import { inPool, SshKeygen, sshTime } from '../../helpers/ssh-keygen.ts';

const AT = Date.UTC(2025, 5, 1, 12, 0, 0) / 1000;

let keygen: SshKeygen;
let key: string; // "ssh-ed25519 AAAA…" (no comment)
let rsaKey: string;
let signature: string;
let fingerprint: string;

beforeAll(() => {
  keygen = new SshKeygen('ssh-allowed');
  const made = keygen.keygen('alice', 'ed25519');
  key = made.publicLine.split(' ').slice(0, 2).join(' ');
  rsaKey = keygen.keygen('rsa', 'rsa', 2048).publicLine.split(' ').slice(0, 2).join(' ');
  signature = keygen.sign(made.privatePath, 'payload');
  fingerprint = keygen.run(['-l', '-E', 'sha256', '-f', `${made.privatePath}.pub`]).stdout.split(' ')[1] as string;
});

afterAll(() => keygen?.remove());

interface Row {
  line: string;
  principals?: string[];
  expect?: Partial<AllowedSigner>;
}

// KEY stands for the Ed25519 key, RSAKEY for an RSA key.
const ACCEPTED: Row[] = [
  { line: 'alice@example.com KEY', principals: ['alice@example.com'] },
  { line: 'alice@example.com KEY alice@laptop with a comment', principals: ['alice@example.com'] },
  { line: ' \talice@example.com \t KEY', principals: ['alice@example.com'] },
  { line: 'alice@example.com KEY\r', principals: ['alice@example.com'] },
  { line: 'alice@example.com,bob@example.com KEY', principals: ['alice@example.com', 'bob@example.com'] },
  { line: '"Alice Example" KEY', principals: ['Alice Example'] },
  { line: '"alice@example.com,Bob Example" KEY', principals: ['alice@example.com', 'Bob Example'] },
  { line: 'pre"fix quoted" KEY', principals: ['prefix quoted'] },
  { line: '*@example.com,!mallory@example.com KEY', principals: ['*@example.com', '!mallory@example.com'] },
  { line: 'alice@example.com KEY # a trailing hash is the key comment', principals: ['alice@example.com'] },
  { line: 'alice@example.com namespaces="git" KEY', principals: ['alice@example.com'], expect: { namespaces: ['git'] } },
  { line: 'alice@example.com namespaces="git,file*" KEY', principals: ['alice@example.com'], expect: { namespaces: ['git', 'file*'] } },
  { line: 'alice@example.com NameSpaces="git" KEY', principals: ['alice@example.com'], expect: { namespaces: ['git'] } },
  { line: 'alice@example.com namespaces="a\\"b" KEY', principals: ['alice@example.com'], expect: { namespaces: ['a"b'] } },
  { line: 'alice@example.com namespaces="with space" KEY', principals: ['alice@example.com'], expect: { namespaces: ['with space'] } },
  { line: 'alice@example.com cert-authority KEY', expect: { certAuthority: true } },
  { line: 'alice@example.com Cert-Authority,namespaces="git" KEY', expect: { certAuthority: true, namespaces: ['git'] } },
  {
    line: 'alice@example.com valid-after="20200101Z",valid-before="20300101000000Z" KEY',
    principals: ['alice@example.com'],
    expect: { validAfter: Date.UTC(2020, 0, 1) / 1000, validBefore: Date.UTC(2030, 0, 1) / 1000 },
  },
  {
    line: 'alice@example.com valid-before="203001011230UTC" KEY',
    principals: ['alice@example.com'],
    expect: { validBefore: Date.UTC(2030, 0, 1, 12, 30) / 1000 },
  },
  { line: 'alice@example.com valid-before="20300101z" KEY', principals: ['alice@example.com'], expect: { validBefore: Date.UTC(2030, 0, 1) / 1000 } },
  { line: 'alice@example.com valid-after="20200231Z" KEY', principals: ['alice@example.com'], expect: { validAfter: Date.UTC(2020, 2, 2) / 1000 } },
  { line: 'rsa@example.com RSAKEY', expect: { keyType: 'ssh-rsa' } },
  { line: 'rsa@example.com RSA2KEY', expect: { keyType: 'ssh-rsa' } },
];

const IGNORED = ['', '   ', '\t', '# comment', '   # indented comment', '#alice@example.com KEY', '\r'];

// Each is refused by us with file:line, and ssh-keygen refuses (skips) the same line.
const REFUSED: Array<{ line: string; problem: RegExp }> = [
  { line: 'alice@example.com', problem: /missing key/ },
  { line: 'alice@example.com ', problem: /missing key/ },
  { line: 'alice@example.com ssh-ed25519', problem: /missing key/ },
  { line: 'alice@example.com ssh-ed25519 AAAA!!!!', problem: /base64/ },
  { line: 'alice@example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA', problem: /base64|truncated/ },
  { line: 'alice@example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAA', problem: /truncated/ },
  { line: 'alice@example.com ssh-foo AAAAB3NzaC1yc2E=', problem: /unknown key type or option "ssh-foo"/ },
  { line: 'alice@example.com ssh-rsa ED25519BLOB', problem: /says ssh-rsa but the key data is ssh-ed25519/ },
  { line: 'alice@example.com no-touch-required KEY', problem: /unknown key type or option "no-touch-required"/ },
  { line: 'alice@example.com cert-authority,no-touch-required KEY', problem: /bad options: unsupported option "no-touch-required"/ },
  { line: 'alice@example.com namespaces=git KEY', problem: /missing start quote/ },
  { line: 'alice@example.com namespaces="git KEY', problem: /unterminated quote/ },
  { line: 'alice@example.com valid-after="2020" KEY', problem: /invalid "valid-after" time/ },
  { line: 'alice@example.com valid-after="20201301" KEY', problem: /invalid "valid-after" time/ },
  { line: 'alice@example.com valid-after="19700101Z" KEY', problem: /invalid "valid-after" time/ },
  { line: 'alice@example.com valid-before="2030-01-01" KEY', problem: /invalid "valid-before" time/ },
  { line: 'alice@example.com valid-after="20300101Z",valid-before="20200101Z" KEY', problem: /not after "valid-after"/ },
  { line: 'alice@example.com namespaces="a",namespaces="b" KEY', problem: /multiple "namespaces"/ },
  { line: 'alice@example.com cert-authority, KEY', problem: /end of options/ },
  { line: 'alice@example.com namespaces="git"x KEY', problem: /unexpected "x"/ },
  { line: '"alice@example.com KEY', problem: /unterminated quote/ },
  { line: 'KEY alice@laptop', problem: /starts with the key type ssh-ed25519; allowed_signers lines start with the principals/ },
];

function expand(line: string): string {
  const blob = key.split(' ')[1] as string;
  return line
    .replace('RSA2KEY', `rsa-sha2-512 ${rsaKey.split(' ')[1]}`)
    .replace('RSAKEY', rsaKey)
    .replace('ED25519BLOB', blob)
    .replace('KEY', key);
}

/** What ssh-keygen -Y find-principals prints for the line (as line 3 of a file). */
async function peerPrincipals(line: string): Promise<{ principals: string[]; lineError: boolean }> {
  const file = keygen.write(keygen.unique('allowed'), `# allowed signers\n# line two\n${line}\n`);
  const sig = keygen.write(keygen.unique('sig'), signature);
  const result = await keygen.runAsync(['-Y', 'find-principals', '-f', file, '-s', sig, `-Overify-time=${sshTime(AT)}`]);
  return { principals: result.stdout.split('\n').filter((p) => p !== ''), lineError: result.stderr.includes(`${file}:3:`) };
}

describe('accepted lines', () => {
  it.each(ACCEPTED)('$line', async (row) => {
    const text = `# allowed signers\n# line two\n${expand(row.line)}\n`;
    const [signer, ...more] = parseAllowedSigners(text, 'allowed_signers');
    expect(more).toEqual([]);
    expect(signer).toBeDefined();
    expect(signer?.line).toBe(3);
    expect(signer?.source).toBe('allowed_signers');
    if (row.principals) expect(signer?.principals).toEqual(row.principals);
    expect(signer).toMatchObject({ certAuthority: false, ...row.expect });
    if (!row.expect?.namespaces) expect(signer?.namespaces).toBeUndefined();
    if (!row.line.includes('RSA')) {
      expect(signer?.keyType).toBe('ssh-ed25519');
      expect(signer?.fingerprint).toBe(fingerprint);
      // The peer reads the same principals (a cert-authority line never matches a plain key).
      const peer = await peerPrincipals(expand(row.line));
      expect(peer.lineError).toBe(false);
      expect(peer.principals).toEqual(signer?.certAuthority ? [] : row.principals);
    }
  });

  it('ignores comments and blank lines, counts lines from 1, and handles CRLF files', () => {
    const text = [...IGNORED, `alice@example.com ${key}`, ...IGNORED, `bob@example.com ${key}`].join('\r\n');
    const signers = parseAllowedSigners(text.replaceAll('KEY', key), 'as');
    expect(signers.map((s) => [s.principals[0], s.line])).toEqual([
      ['alice@example.com', IGNORED.length + 1],
      ['bob@example.com', 2 * IGNORED.length + 2],
    ]);
    expect(parseAllowedSigners('', 'empty')).toEqual([]);
  });
});

describe('malformed lines', () => {
  it.each(REFUSED)('$line', async ({ line, problem }) => {
    const expanded = expand(line);
    let thrown: unknown;
    try {
      parseAllowedSigners(`# allowed signers\n# line two\n${expanded}\nbob@example.com ${key}\n`, '/etc/ssh/allowed_signers');
    } catch (error) {
      thrown = error;
    }
    expect(isSignetError(thrown) && thrown.code).toBe('KEYRING_INVALID');
    const message = (thrown as Error).message;
    expect(message.startsWith('/etc/ssh/allowed_signers:3: ')).toBe(true);
    expect(message).toMatch(problem);
    expect(message).not.toContain('\n');
    // ssh-keygen cannot use the line either (it logs it and skips it).
    const peer = await peerPrincipals(expanded);
    expect(peer.principals).toEqual([]);
  });
});

describe('timestamps, at their boundaries against ssh-keygen', () => {
  const FORMATS = ['20250601', '202506011230', '20250601123045', '20250601Z', '20250601123045z', '20250601UTC', '20250231', '20250601235961'];

  async function peerAccepts(validBefore: string, at: number): Promise<boolean> {
    const file = keygen.write(keygen.unique('allowed'), `alice valid-before="${validBefore}" ${key}\n`);
    const sig = keygen.write(keygen.unique('sig'), signature);
    const result = await keygen.runAsync(['-Y', 'find-principals', '-f', file, '-s', sig, `-Overify-time=${sshTime(at)}`]);
    return result.stdout.trim() === 'alice';
  }

  for (const zone of ['UTC', 'Asia/Kolkata', 'America/St_Johns']) {
    it(`valid-before in ${zone}: ssh-keygen accepts at our time and refuses one second later`, async () => {
      const saved = process.env.TZ;
      process.env.TZ = zone; // ssh-keygen inherits it; Node re-reads it on assignment
      try {
        const cases = FORMATS.map((format) => {
          const [signer] = parseAllowedSigners(`alice valid-before="${format}" ${key}`, 'as');
          return { format, seconds: signer?.validBefore as number };
        });
        const answers = await inPool(
          4,
          cases.flatMap(({ format, seconds }) => [() => peerAccepts(format, seconds), () => peerAccepts(format, seconds + 1)]),
        );
        expect(answers).toEqual(cases.flatMap(() => [true, false]));
        if (zone === 'Asia/Kolkata') expect(cases[0]?.seconds).toBe(Date.UTC(2025, 5, 1) / 1000 - 5.5 * 3600);
      } finally {
        if (saved === undefined) delete process.env.TZ;
        else process.env.TZ = saved;
      }
    });
  }
});

describe('OpenSSH patterns, against ssh-keygen -Y match-principals', () => {
  const LISTS = [
    'alice@example.com',
    '*@example.com',
    '*',
    '?lice@example.com',
    'a*e@*.com',
    '!mallory@example.com,*@example.com',
    '*@example.com,!mallory@example.com',
    '!*',
    'alice@example.com,bob@example.com',
    ',alice@example.com',
    'a**b*',
    '*.*.*',
    'ALICE@example.com',
    'ali?e*',
    '!bob',
    '!bob,bob',
    'git',
    'g?t,file',
    '*@*',
    '**@**',
  ];
  const IDENTITIES = ['alice@example.com', 'mallory@example.com', 'bob', 'Alice@Example.com', 'aXXb', 'a.b.c', 'ab', 'git', '', 'alice@example.org', 'x@y'];

  it('matchPatternList agrees on every list and identity', async () => {
    const file = keygen.write('patterns', LISTS.map((list) => `${list} ${key}`).join('\n') + '\n');
    const peer = await inPool(
      4,
      IDENTITIES.filter((id) => id !== '').map((identity) => async () => {
        const result = await keygen.runAsync(['-Y', 'match-principals', '-I', identity, '-f', file]);
        return {
          identity,
          lists: result.stdout
            .split('\n')
            .filter((l) => l !== '')
            .sort(),
        };
      }),
    );
    for (const { identity, lists } of peer) {
      const ours = LISTS.filter((list) => matchPatternList(identity, list) === 1).sort();
      expect(ours, identity).toEqual(lists);
    }
    expect(matchPatternList('', '')).toBe(0);
    expect(matchPatternList('', ',x')).toBe(1);
  });

  it('does not backtrack exponentially on hostile patterns', () => {
    const started = performance.now();
    expect(matchPatternList('a'.repeat(5000) + 'b', '*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*c')).toBe(0);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
