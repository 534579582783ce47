import type * as openpgp from 'openpgp';
import type { SignatureVerdict } from '../verdict.ts';
import { decodeArmor } from './armor.ts';
import { errorVerdict, postCheck, preCheck, type SignatureFacts, type VerifyOptions } from './decide.ts';
import { gpgLikeFullConfig, openpgpjs, type OpenPgpModule } from './openpgpjs.ts';
import type { LoadedOpenPgpRegistry, SigningKeyRecord } from './registry.ts';
import { scanSubpackets, SubpacketCollector } from './signature-packet.ts';

/** Key packets read back from the registry's bytes, once per (sub)key. */
const keyPackets = new WeakMap<SigningKeyRecord, openpgp.PublicKeyPacket | openpgp.PublicSubkeyPacket>();

async function keyPacketOf(openpgp: OpenPgpModule, record: SigningKeyRecord): Promise<openpgp.PublicKeyPacket | openpgp.PublicSubkeyPacket> {
  let packet = keyPackets.get(record);
  if (!packet) {
    packet = record.isPrimary ? new openpgp.PublicKeyPacket() : new openpgp.PublicSubkeyPacket();
    // read() is public in openpgp.js; its type declaration leaves it out.
    await (packet as unknown as { read(bytes: Uint8Array): Promise<number> }).read(record.packetBody);
    keyPackets.set(record, packet);
  }
  return packet;
}

/**
 * The same verdict rules with openpgp.js parsing the packet, hashing and checking the
 * cryptography: the fallback for what the fast path does not cover (v3 signatures, unusual
 * packet framing, DSA and curves node:crypto cannot load) and the reference the fast path is
 * tested against. The armor goes through our decoder in both paths, because openpgp.js 6 no
 * longer checks the armor checksum that gpg insists on.
 *
 * Known differences from gpg 2.2 that only this path has: openpgp.js refuses EdDSA signatures
 * over a hash shorter than 256 bits (gpg accepts SHA-1, reported here as E
 * unsupported_algorithm); it checks the two stored digest bytes that gpg ignores; it refuses a
 * signature whose algorithm field differs from its key's; for canonical-text signatures it
 * decodes the data as UTF-8 and turns a lone CR into CRLF. Each makes this path stricter, never
 * more lenient, than gpg.
 */
export async function verifyWithOpenPgpJs(
  registry: LoadedOpenPgpRegistry,
  payload: Uint8Array,
  armoredSignature: string,
  options: VerifyOptions,
): Promise<SignatureVerdict> {
  const armor = decodeArmor(armoredSignature);
  if (!armor.ok) return errorVerdict('malformed_signature', armor.detail);
  const openpgp = await openpgpjs();
  const config = gpgLikeFullConfig(openpgp);
  let packets: openpgp.SignaturePacket[];
  try {
    const signature = await openpgp.readSignature({ binarySignature: armor.bytes, config });
    packets = [...signature.packets].filter((packet): packet is openpgp.SignaturePacket => packet instanceof openpgp.SignaturePacket);
  } catch (error) {
    return errorVerdict('malformed_signature', `openpgp.js cannot read the signature: ${firstLine(error)}`);
  }
  if (packets.length === 0) return errorVerdict('malformed_signature', 'no signature packet');
  if (packets.length > 1) return errorVerdict('malformed_signature', `${packets.length} signatures in one block; git reports E for more than one`);
  const packet = packets[0] as openpgp.SignaturePacket;
  if (packet.version !== 3 && packet.version !== 4)
    return errorVerdict('malformed_signature', `signature packet version ${packet.version} (gpg 2.2 reads versions 3 and 4)`);

  const facts = factsOf(packet);
  const pre = preCheck(registry, facts, options);
  if (pre.kind === 'verdict') return pre.verdict;
  const record = pre.record;

  const literal = new openpgp.LiteralDataPacket();
  // setBytes is public in openpgp.js, only its type declaration marks it private.
  (literal as unknown as { setBytes(bytes: Uint8Array, format: openpgp.enums.literal): void }).setBytes(payload, openpgp.enums.literal.binary);
  try {
    await packet.verify(await keyPacketOf(openpgp, record), packet.signatureType as openpgp.enums.signature, literal, null as unknown as Date, true, config);
    return postCheck(record, facts, true, options);
  } catch (error) {
    const message = firstLine(error);
    // Checks openpgp.js makes only after the cryptography succeeded.
    if (/Unknown critical/i.test(message)) return postCheck(record, { ...facts, unknownCritical: facts.unknownCritical ?? message }, true, options);
    if (/too weak|unsupported|unknown/i.test(message)) return errorVerdict('unsupported_algorithm', `openpgp.js: ${message}`, { key: record.fingerprint });
    return postCheck(record, facts, false, options, `openpgp.js: ${message}`);
  }
}

function factsOf(packet: openpgp.SignaturePacket): SignatureFacts {
  const base = {
    signatureType: packet.signatureType ?? -1,
    publicKeyAlgorithm: packet.publicKeyAlgorithm ?? -1,
    hashAlgorithm: packet.hashAlgorithm ?? -1,
  };
  if (packet.version === 4 && packet.signatureData) {
    // Which subpackets count, and where, is gpg's rule rather than a parsing matter: apply it to
    // the areas openpgp.js read (its own fields take the issuer fingerprint from either area).
    const collector = new SubpacketCollector();
    const hashed = packet.signatureData;
    scanSubpackets(hashed, 6, hashed.length, true, collector);
    for (const raw of packet.unhashedSubpackets) collector.note(raw.type, raw.critical, raw.body, false);
    return { ...base, ...collector.facts() };
  }
  const created = packet.created ? Math.floor(packet.created.getTime() / 1000) : undefined;
  const keyIdHex = packet.issuerKeyID.toHex().toUpperCase();
  return {
    ...base,
    ...(created !== undefined ? { createdAt: created } : {}),
    ...(/^[0-9A-F]{16}$/.test(keyIdHex) && !/^0+$/.test(keyIdHex) ? { issuerKeyId: keyIdHex } : {}),
  };
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}
