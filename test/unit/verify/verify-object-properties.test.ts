import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignetError } from '../../../src/core/errors.ts';
import { parseCommit } from '../../../src/core/git/signed-object.ts';
import { crc24, decodeArmor } from '../../../src/core/openpgp/armor.ts';
import { verifyCommitObject, type KeyRegistries } from '../../../src/core/verify-object.ts';
import { buildRegistries } from '../../../src/keys/load-registries.ts';
import { git, gitBytes, tempDir } from '../../helpers/git.ts';
import { commitFile, createSshKey, GpgHome, sshSigningConfig } from '../../helpers/signing-keys.ts';

/**
 * Whole commit objects signed by real gpg and ssh-keygen, then mutated one byte at a time:
 * the verifier never crashes (a malformed object is a SignetError, nothing else) and a changed
 * object is never G.
 */
describe('mutated signed commits', () => {
  const dir = tempDir('mutations');
  const objects: Array<{ name: string; oid: string; raw: Buffer }> = [];
  let registries: KeyRegistries;
  let gpg: GpgHome;
  let allowedSignersFile: string;
  beforeAll(async () => {
    gpg = new GpgHome(join(dir.path, 'gnupg'));
    const alice = gpg.createKey('Alice', 'alice@example.com');
    const carol = createSshKey(join(dir.path, 'ssh'), 'carol', 'carol@example.com');
    const repo = join(dir.path, 'repo');
    git(dir.path, ['init', '-q', '-b', 'main', repo]);
    const openpgp = commitFile(repo, 'a', 'a\n', 'openpgp signed\n\nwith a body', { email: alice.email, sign: gpg.gitSigningConfig(alice), env: gpg.env() });
    const ssh = commitFile(repo, 'b', 'b\n', 'ssh signed', { email: carol.email, sign: sshSigningConfig(carol) });
    for (const [name, oid] of [
      ['openpgp', openpgp],
      ['ssh', ssh],
    ] as const)
      objects.push({ name, oid, raw: gitBytes(repo, ['cat-file', 'commit', oid]) });
    allowedSignersFile = join(dir.path, 'allowed_signers');
    writeFileSync(allowedSignersFile, `carol@example.com ${carol.publicKeyLine}\n`);
    registries = await buildRegistries({
      keyrings: [{ name: 'registry.asc', text: alice.armoredPublicKey }],
      allowedSigners: { name: 'allowed_signers', text: `carol@example.com ${carol.publicKeyLine}\n` },
    });
    options.now = new Date();
  }, 60_000);
  afterAll(() => dir.remove());

  // `now` is taken once the keys exist (in beforeAll): taken at collection time it could fall
  // before the key's creation second on a busy machine, and a key "created in the future" is E.
  const options = { hash: 'sha1' as const, now: new Date(0) };
  /** The verdict letter, or 'error' when the object is malformed (only SignetError is allowed). */
  const statusOf = async (oid: string, raw: Buffer): Promise<string> => {
    try {
      return (await verifyCommitObject(oid, raw, registries, options)).verdict.status;
    } catch (error) {
      if (error instanceof SignetError) return 'error';
      throw error;
    }
  };

  it('the unmutated objects are G', async () => {
    for (const object of objects) {
      expect((await verifyCommitObject(object.oid, object.raw, registries, options)).verdict.status, object.name).toBe('G');
    }
  });

  /**
   * gpg itself (2.2) still says GOODSIG when only the armor's frame changes: a damaged END
   * line, a missing blank line, a removed checksum line, an added header, a stray byte its
   * radix-64 decoder skips. So the property is: a changed object is never G unless it means the
   * same (same payload, same signature body) or the real peer, run on the same bytes, says good.
   */
  const meaning = (raw: Buffer): string => {
    const parsed = parseCommit(raw, 'sha1');
    const body = (parsed.signature?.armored ?? '')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('-----') && !line.startsWith('=') && !/^[A-Za-z-]+: /.test(line))
      .join('');
    return `${Buffer.from(parsed.payload).toString('latin1')}\0${body}`;
  };
  /**
   * The peer's word on the same bytes: gpg's GOODSIG, or ssh-keygen -Y verify as git runs it.
   * Asked only when signet says G for a changed object: then the peer must agree.
   */
  const peerSaysGood = (raw: Buffer): boolean => {
    const parsed = parseCommit(raw, 'sha1');
    if (!parsed.signature) return false;
    const signatureFile = join(dir.path, 'mutated.sig');
    writeFileSync(signatureFile, parsed.signature.armored, 'latin1');
    if (parsed.signature.kind === 'ssh') {
      const result = spawnSync('ssh-keygen', ['-Y', 'verify', '-f', allowedSignersFile, '-I', 'carol@example.com', '-n', 'git', '-s', signatureFile], {
        input: parsed.payload,
      });
      return result.status === 0;
    }
    const result = spawnSync('gpg', ['--status-fd', '1', '--verify', signatureFile, '-'], {
      input: parsed.payload,
      env: { ...process.env, ...gpg.env() },
      encoding: 'utf8',
    });
    return /^\[GNUPG:\] GOODSIG /m.test(result.stdout);
  };
  const sameMeaning = (a: Buffer, b: Buffer): boolean => {
    try {
      return meaning(a) === meaning(b) || peerSaysGood(a);
    } catch {
      return false;
    }
  };

  it('a changed armor checksum is not G (gpg refuses it too)', async () => {
    const object = objects.find((o) => o.name === 'openpgp')!;
    const text = object.raw.toString('latin1');
    const mutated = Buffer.from(text.replace(/\n =[A-Za-z0-9+/]{4}\n/, '\n =AAAA\n'), 'latin1');
    expect(mutated.equals(object.raw)).toBe(false);
    expect(await statusOf(object.oid, mutated)).not.toBe('G');
  });

  it('a base64url character in the armor is not G: gpg skips it, Buffer would read it as + or /', async () => {
    // Found by the property below (seed 1842460562: byte 261 '+' → '-').
    for (const object of objects.filter((o) => o.name === 'openpgp')) {
      const text = object.raw.toString('latin1');
      const body = text.indexOf('\n \n') + 3;
      // In the data lines only: a CRC whose first character is not radix-64 counts as no CRC
      // (gpg too), so a changed CRC character may well stay G.
      const crcLine = text.indexOf('\n =', body);
      for (const [from, to] of [
        ['+', '-'],
        ['/', '_'],
      ] as const) {
        const at = text.indexOf(from, body);
        if (at < 0 || at > crcLine) continue;
        const mutated = Buffer.from(text.slice(0, at) + to + text.slice(at + 1), 'latin1');
        expect(await statusOf(object.oid, mutated), `${from} → ${to}`).not.toBe('G');
        expect(peerSaysGood(mutated), `gpg on ${from} → ${to}`).toBe(false);
      }
    }
  });

  it('every byte of the signature block set to each character armor parsers care about: never G unless the peer agrees', async () => {
    // An exhaustive sweep (every byte, every value) of both objects found two divergences from
    // gpg, both fixed: '-'/'_' read as base64url, and ": …" taken for data where gpg sees a header.
    const characters = [...':- _=+/\r\t\nA0', '\x80', '\xff'].map((char) => char.charCodeAt(0));
    for (const object of objects) {
      const text = object.raw.toString('latin1');
      const start = text.indexOf('gpgsig ');
      const end = text.indexOf('\n\n', start);
      for (let at = start; at < end; at++) {
        for (const value of characters) {
          if (object.raw[at] === value) continue;
          const mutated = Buffer.from(object.raw);
          mutated[at] = value;
          if ((await statusOf(object.oid, mutated)) === 'G')
            expect(
              sameMeaning(mutated, object.raw),
              `${object.name} byte ${at} (${JSON.stringify(text[at])}) → ${JSON.stringify(String.fromCharCode(value))}`,
            ).toBe(true);
        }
      }
    }
  }, 60_000);

  it('armor damage gpg forgives or refuses: signet is G exactly when gpg says GOODSIG', async () => {
    // Each variant was a disagreement before the decoder followed armor.c: gpg reads a missing
    // CRC, junk after the CRC or a broken END line as harmless, a split or short CRC as
    // "malformed CRC", a tab or a NUL after the BEGIN dashes as nothing, a vertical tab as garbage.
    const object = objects.find((o) => o.name === 'openpgp')!;
    const text = object.raw.toString('latin1');
    const crcLine = /\n =([A-Za-z0-9+/]{4})\n/.exec(text)!;
    const crc = crcLine[1]!;
    const variants: Record<string, string> = {
      'no CRC line': text.replace(crcLine[0], '\n'),
      'space between = and the CRC': text.replace(`=${crc}`, `= ${crc}`),
      'two = before the CRC': text.replace(`=${crc}`, `==${crc}`),
      'junk after the CRC': text.replace(`=${crc}`, `=${crc}XYZ`),
      'a CRC of three characters': text.replace(`=${crc}`, `=${crc.slice(0, 3)}`),
      'a CRC split over two lines': text.replace(`=${crc}`, `=${crc.slice(0, 2)}\n ${crc.slice(2)}`),
      "a colon for the CRC's =": text.replace(`=${crc}`, `:${crc}`),
      'a broken END line': text.replace('-----END PGP', '-----XND PGP'),
      'no END line': text.replace(/\n -----END PGP SIGNATURE-----/, ''),
      'a tab after the BEGIN dashes': text.replace('-----BEGIN PGP SIGNATURE-----\n', '-----BEGIN PGP SIGNATURE-----\t\n'),
      'a NUL and junk after the BEGIN dashes': text.replace('-----BEGIN PGP SIGNATURE-----\n', '-----BEGIN PGP SIGNATURE-----\0xyz\n'),
      'a vertical tab after the BEGIN dashes': text.replace('-----BEGIN PGP SIGNATURE-----\n', '-----BEGIN PGP SIGNATURE-----\v\n'),
      'a header line with a tab after its colon': text.replace('-----BEGIN PGP SIGNATURE-----\n \n', '-----BEGIN PGP SIGNATURE-----\n Comment:\tx\n \n'),
    };
    const gpgGood: string[] = [];
    for (const [name, variant] of Object.entries(variants)) {
      const mutated = Buffer.from(variant, 'latin1');
      expect(mutated.equals(object.raw), name).toBe(false);
      const good = peerSaysGood(mutated);
      if (good) gpgGood.push(name);
      expect((await statusOf(object.oid, mutated)) === 'G', name).toBe(good);
    }
    // Both kinds are here: what gpg forgives and what it refuses.
    expect(gpgGood).toEqual(expect.arrayContaining(['no CRC line', 'a broken END line', 'a tab after the BEGIN dashes']));
    expect(gpgGood).not.toEqual(expect.arrayContaining(['a CRC split over two lines']));
    expect(gpgGood).not.toContain('a vertical tab after the BEGIN dashes');
  });

  it('a signature packet whose stated length runs past the data: G exactly when gpg says GOODSIG', async () => {
    // gpg reads such a packet up to the end of the data; found by setting the length byte to every value.
    const object = objects.find((o) => o.name === 'openpgp')!;
    const text = object.raw.toString('latin1');
    const parsed = parseCommit(object.raw, 'sha1');
    const armor = decodeArmor(parsed.signature!.armored);
    if (!armor.ok) throw new Error(armor.detail);
    const packet = Buffer.from(armor.bytes);
    expect(packet[0]! & 0xc3).toBe(0x80); // old format, one-byte length: the byte after the tag is the length
    const start = text.indexOf('gpgsig ');
    const end = text.indexOf('\n\n', start) + 1;
    const verdicts: string[] = [];
    for (const length of [packet[1]! - 1, packet[1]! + 1, 200, 255]) {
      const changed = Buffer.from(packet);
      changed[1] = length;
      const crc = crc24(changed);
      const armored = `-----BEGIN PGP SIGNATURE-----\n\n${changed
        .toString('base64')
        .replace(/(.{64})/g, '$1\n')
        .replace(/\n$/, '')}\n=${Buffer.from([crc >> 16, (crc >> 8) & 255, crc & 255]).toString('base64')}\n-----END PGP SIGNATURE-----`;
      const mutated = Buffer.from(`${text.slice(0, start)}gpgsig ${armored.split('\n').join('\n ')}\n${text.slice(end)}`, 'latin1');
      const ours = await statusOf(object.oid, mutated);
      expect(ours === 'G', `length ${length}`).toBe(peerSaysGood(mutated));
      verdicts.push(ours);
    }
    expect(verdicts).toEqual(['E', 'G', 'G', 'G']);
  });

  it('a one-byte change to what is signed, or to the signature, is never G; nothing crashes', async () => {
    for (const object of objects) {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: object.raw.length - 1 }), fc.integer({ min: 0, max: 255 }), async (at, value) => {
          fc.pre(object.raw[at] !== value);
          const mutated = Buffer.from(object.raw);
          mutated[at] = value;
          const status = await statusOf(object.oid, mutated);
          if (status === 'G')
            expect(sameMeaning(mutated, object.raw), `${object.name} byte ${at} (${JSON.stringify(String.fromCharCode(object.raw[at]!))}) → ${value}`).toBe(
              true,
            );
        }),
        { numRuns: 400 },
      );
    }
  });

  it('a dropped or duplicated line of what is signed, or of the signature, is never G', async () => {
    for (const object of objects) {
      const lines = object.raw.toString('latin1').split('\n');
      for (let i = 0; i < lines.length; i++) {
        for (const variant of [
          [...lines.slice(0, i), ...lines.slice(i + 1)],
          [...lines.slice(0, i + 1), ...lines.slice(i)],
        ]) {
          const mutated = Buffer.from(variant.join('\n'), 'latin1');
          const status = await statusOf(object.oid, mutated);
          if (status === 'G') expect(sameMeaning(mutated, object.raw), `${object.name} line ${i}: ${JSON.stringify(lines[i])}`).toBe(true);
        }
      }
    }
  });
});
