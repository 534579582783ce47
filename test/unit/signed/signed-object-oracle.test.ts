import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCommit, parseTag, readCommitLinks } from '../../../src/core/git/signed-object.ts';
import * as reference from '../../helpers/signed-object-reference.ts';

/**
 * The commit parser was rewritten for speed (it runs once per commit of every range). The
 * straightforward version it replaced is the oracle: on generated and mutated objects both give
 * the same parts, byte for byte, or both refuse the object. (test/unit/signed/signed-object.test.ts checks
 * the payloads against what git itself hands gpg and ssh-keygen.)
 */
const PGP = '-----BEGIN PGP SIGNATURE-----\n\niQEzBAABCAAdFiEE\n=abcd\n-----END PGP SIGNATURE-----';
const SSH = '-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQ==\n-----END SSH SIGNATURE-----';
const block = (name: string, armored: string): string => `${name} ${armored.split('\n').join('\n ')}\n`;
const tree = 'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n';
const people = 'author A U Thor <a@example.com> 1700000000 +0100\ncommitter C O Mitter <c@example.com> 1700000001 -0230\n';

const headerPieces = [
  'parent 1111111111111111111111111111111111111111\n',
  'parent 2222222222222222222222222222222222222222\n',
  block('gpgsig', PGP),
  block('gpgsig', SSH),
  block('gpgsig-sha256', PGP),
  block('gpgsigx', PGP),
  'encoding ISO-8859-1\n',
  `mergetag object 3333333333333333333333333333333333333333\n type commit\n tag v1\n tagger T <t@x> 1700000000 +0000\n \n tag message\n ${PGP.split('\n').join('\n ')}\n`,
  ' stray continuation\n',
  'x-custom value\n',
  'keyonly\n',
  block('gpgsig', '-----BEGIN PGP SIGNATURE-----\nA\n-----END PGP SIGNATURE-----\n-----BEGIN PGP SIGNATURE-----\nB\n-----END PGP SIGNATURE-----'),
  block('gpgsig', '-----BEGIN SIGNED MESSAGE-----\nMIIB\n-----END SIGNED MESSAGE-----'),
  'gpgsig \n',
];
const messages = ['\nsubject\n\nbody\n', '\r\nsubject\r\n\r\nbody\r\n', '\ncaf\xe9\n', '\nno newline', '', '\n', '\n\n\n'];

function parsed(parse: () => unknown): unknown {
  try {
    return parse();
  } catch (error) {
    return { error: (error as Error).name, message: (error as Error).message };
  }
}

/** Plain data for toEqual: byte arrays as latin-1 strings, so Buffer and Uint8Array compare equal. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1') };
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, plain(v)]),
    );
  return value;
}

const objectArbitrary = fc
  .tuple(
    fc.boolean(),
    fc
      .subarray(headerPieces.map((_, index) => index))
      .chain((indexes) => fc.shuffledSubarray(indexes, { minLength: indexes.length, maxLength: indexes.length })),
    fc.constantFrom(...messages),
    fc.boolean(),
  )
  .map(([withTree, order, message, peopleFirst]) => {
    const headers = order.map((index) => headerPieces[index]!).join('');
    return Buffer.from(`${withTree ? tree : ''}${peopleFirst ? people + headers : headers + people}${message}`, 'latin1');
  });

const mutatedArbitrary = fc.tuple(objectArbitrary, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([object, at, value]) => {
  const mutated = Buffer.from(object);
  if (mutated.length > 0) mutated[at % mutated.length] = value;
  return mutated;
});

describe('the rewritten commit parser equals the reference parser', () => {
  for (const hash of ['sha1', 'sha256'] as const) {
    it(`on generated commit objects (${hash})`, () => {
      fc.assert(
        fc.property(objectArbitrary, (raw) => {
          expect(plain(parsed(() => parseCommit(raw, hash, 'c')))).toEqual(plain(parsed(() => reference.parseCommit(raw, hash, 'c'))));
        }),
        { numRuns: 1500 },
      );
    });

    it(`on mutated commit objects (${hash})`, () => {
      fc.assert(
        fc.property(mutatedArbitrary, (raw) => {
          expect(plain(parsed(() => parseCommit(raw, hash, 'c')))).toEqual(plain(parsed(() => reference.parseCommit(raw, hash, 'c'))));
          expect(plain(parsed(() => readCommitLinks(raw, 'c')))).toEqual(plain(parsed(() => reference.readCommitLinks(raw, 'c'))));
        }),
        { numRuns: 1500 },
      );
    });
  }

  it('on tags with header and trailing signatures', () => {
    const tagArbitrary = fc
      .tuple(
        fc.subarray([block('gpgsig-sha256', PGP), block('gpgsig', SSH), 'x-extra y\n']),
        fc.constantFrom('', `${PGP}\n`, `${SSH}\n`, `${PGP}\n${PGP}\n`),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.boolean(),
      )
      .map(([headers, trailer, at, value, mutate]) => {
        const raw = Buffer.from(
          `object 3333333333333333333333333333333333333333\ntype commit\ntag v1\ntagger T <t@x> 1700000000 +0000\n${headers.join('')}\nrelease\n${trailer}`,
          'latin1',
        );
        if (mutate) raw[at % raw.length] = value;
        return raw;
      });
    fc.assert(
      fc.property(tagArbitrary, fc.constantFrom('sha1' as const, 'sha256' as const), (raw, hash) => {
        expect(plain(parsed(() => parseTag(raw, hash, 't')))).toEqual(plain(parsed(() => reference.parseTag(raw, hash, 't'))));
      }),
      { numRuns: 1000 },
    );
  });
});
