/**
 * Checks one SSH signature (RFC 4253 §6.6 encoding) by one public key over some bytes, with the
 * per-algorithm rules of OpenSSH's sshkey_verify(): the signature type must fit the key, no
 * trailing bytes, ECDSA (r, s) as mpints, RSA signatures shorter than the modulus left-padded,
 * FIDO signatures carrying flags and a counter over SHA-256(application).
 */
import { Buffer } from 'node:buffer';
import { constants, createHash, type KeyObject } from 'node:crypto';
import { runNativeCheck, type NativeCheck, type NativeOutcome } from '../native-verify.ts';
import { keyObjectFor } from './key-object.ts';
import { CURVE_BYTES, UnsupportedKeyError, type EcdsaCurve, type SshPublicKey } from './public-key.ts';
import { WireFormatError, WireReader } from './wire.ts';

/** FIDO flags (PROTOCOL.u2f): the authenticator saw a touch / verified the user (PIN). */
export const SK_USER_PRESENCE = 0x01;
export const SK_USER_VERIFICATION = 0x04;

export type SignatureCheck =
  | { valid: true; signatureType: string; skFlags?: number; skCounter?: number }
  | { valid: false; problem: 'invalid' | 'malformed' | 'unsupported' | 'weak_hash'; detail: string };

/** A check whose cryptography is still to run, with the answer for either outcome. */
export interface PendingSignatureCheck {
  native: NativeCheck;
  valid: SignatureCheck;
  invalid: SignatureCheck;
  keyType: string;
}

const ECDSA_HASH: Record<EcdsaCurve, string> = { nistp256: 'sha256', nistp384: 'sha384', nistp521: 'sha512' };
const RSA_HASH: Record<string, string> = { 'rsa-sha2-256': 'sha256', 'rsa-sha2-512': 'sha512' };

function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

/** r and s as mpints → the fixed-width r ‖ s that node's 'ieee-p1363' encoding takes. */
function ecdsaP1363(inner: Uint8Array, curve: EcdsaCurve): Buffer | undefined {
  const reader = new WireReader(inner, 'ECDSA signature');
  const r = reader.mpint();
  const s = reader.mpint();
  reader.end();
  const size = CURVE_BYTES[curve];
  // A value wider than the curve is at least the group order: such a signature cannot verify.
  if (r.length > size || s.length > size) return undefined;
  const out = Buffer.alloc(2 * size);
  out.set(r, size - r.length);
  out.set(s, 2 * size - s.length);
  return out;
}

function fidoMessage(application: string, flags: number, counter: number, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(32 + 1 + 4 + 32);
  sha256(Buffer.from(application, 'utf8')).copy(out, 0);
  out.writeUInt8(flags, 32);
  out.writeUInt32BE(counter, 33);
  sha256(data).copy(out, 37);
  return out;
}

function pending(key: SshPublicKey, native: NativeCheck, valid: SignatureCheck, invalidDetail: string): PendingSignatureCheck {
  return { native, valid, invalid: { valid: false, problem: 'invalid', detail: invalidDetail }, keyType: key.plainType };
}

function checkUnsafe(key: SshPublicKey, signature: Uint8Array, data: Uint8Array, keyObject: KeyObject): SignatureCheck | PendingSignatureCheck {
  const reader = new WireReader(signature, 'signature');
  const type = reader.text();
  const mismatch = (): SignatureCheck => ({ valid: false, problem: 'invalid', detail: `a ${type} signature cannot come from a ${key.plainType} key` });
  switch (key.algorithm) {
    case 'ed25519': {
      if (type !== 'ssh-ed25519') return mismatch();
      const raw = reader.bytesString();
      reader.end();
      if (raw.length !== 64) return { valid: false, problem: 'invalid', detail: `Ed25519 signature of ${raw.length} bytes` };
      return pending(
        key,
        { algorithm: null, data, key: keyObject, signature: raw },
        { valid: true, signatureType: type },
        'the Ed25519 signature does not verify',
      );
    }
    case 'sk-ed25519': {
      if (type !== key.plainType) return mismatch();
      const raw = reader.bytesString();
      const flags = reader.u8();
      const counter = reader.u32();
      reader.end();
      if (raw.length !== 64) return { valid: false, problem: 'invalid', detail: `Ed25519 signature of ${raw.length} bytes` };
      const message = fidoMessage(key.application ?? '', flags, counter, data);
      return pending(
        key,
        { algorithm: null, data: message, key: keyObject, signature: raw },
        { valid: true, signatureType: type, skFlags: flags, skCounter: counter },
        'the FIDO Ed25519 signature does not verify',
      );
    }
    case 'ecdsa':
    case 'sk-ecdsa': {
      const curve = key.curve as EcdsaCurve;
      if (key.algorithm === 'sk-ecdsa' && type === 'webauthn-sk-ecdsa-sha2-nistp256@openssh.com') {
        return { valid: false, problem: 'unsupported', detail: 'WebAuthn-encoded FIDO signatures are not supported' };
      }
      if (type !== key.plainType) return mismatch();
      const inner = reader.bytesString();
      let flags: number | undefined;
      let counter: number | undefined;
      if (key.algorithm === 'sk-ecdsa') {
        flags = reader.u8();
        counter = reader.u32();
      }
      reader.end();
      const rs = ecdsaP1363(inner, curve);
      if (!rs) return { valid: false, problem: 'invalid', detail: 'ECDSA signature values wider than the curve' };
      if (flags === undefined || counter === undefined) {
        return pending(
          key,
          { algorithm: ECDSA_HASH[curve], data, key: { key: keyObject, dsaEncoding: 'ieee-p1363' }, signature: rs },
          { valid: true, signatureType: type },
          'the ECDSA signature does not verify',
        );
      }
      // FIDO ECDSA signs SHA-256 over SHA-256(application) ‖ flags ‖ counter ‖ SHA-256(data).
      const message = fidoMessage(key.application ?? '', flags, counter, data);
      return pending(
        key,
        { algorithm: 'sha256', data: message, key: { key: keyObject, dsaEncoding: 'ieee-p1363' }, signature: rs },
        { valid: true, signatureType: type, skFlags: flags, skCounter: counter },
        'the FIDO ECDSA signature does not verify',
      );
    }
    case 'rsa': {
      if (type === 'ssh-rsa') return { valid: false, problem: 'weak_hash', detail: 'RSA signature with SHA-1 (ssh-rsa), which ssh-keygen refuses for SSHSIG' };
      const hash = RSA_HASH[type];
      if (!hash) return mismatch();
      let raw = reader.bytesString();
      reader.end();
      const modulusBytes = Math.ceil((key.rsa?.bits ?? 0) / 8);
      if (raw.length > modulusBytes) return { valid: false, problem: 'invalid', detail: 'RSA signature longer than the modulus' };
      if (raw.length < modulusBytes) {
        // OpenSSH pads short signatures (leading zero bytes dropped by some signers).
        const padded = new Uint8Array(modulusBytes);
        padded.set(raw, modulusBytes - raw.length);
        raw = padded;
      }
      return pending(
        key,
        { algorithm: hash, data, key: { key: keyObject, padding: constants.RSA_PKCS1_PADDING }, signature: raw },
        { valid: true, signatureType: type },
        `the ${type} signature does not verify`,
      );
    }
    case 'dsa':
      return { valid: false, problem: 'unsupported', detail: 'DSA (ssh-dss) signatures are not supported' };
  }
}

/**
 * Everything but the cryptography: the signature's encoding and its fit with the key, then
 * the check to run. Never throws: malformed encodings and unusable keys come back as problems.
 */
export function prepareSignatureCheck(key: SshPublicKey, signature: Uint8Array, data: Uint8Array): SignatureCheck | PendingSignatureCheck {
  try {
    return checkUnsafe(key, signature, data, keyObjectFor(key));
  } catch (error) {
    if (error instanceof WireFormatError) return { valid: false, problem: 'malformed', detail: error.message };
    if (error instanceof UnsupportedKeyError) return { valid: false, problem: 'unsupported', detail: error.message };
    return unusableKey(key.plainType, error as Error);
  }
}

export function isPending(check: SignatureCheck | PendingSignatureCheck): check is PendingSignatureCheck {
  return 'native' in check;
}

export function settleSignatureCheck(check: PendingSignatureCheck, outcome: NativeOutcome): SignatureCheck {
  if (outcome instanceof Error) return unusableKey(check.keyType, outcome);
  return outcome ? check.valid : check.invalid;
}

// node:crypto refusing the key material (e.g. an EC point off the curve) or the value.
function unusableKey(keyType: string, error: Error): SignatureCheck {
  return { valid: false, problem: 'malformed', detail: `unusable ${keyType} key: ${error.message}` };
}

/** Checks on this thread. Never throws. */
export function checkSignature(key: SshPublicKey, signature: Uint8Array, data: Uint8Array): SignatureCheck {
  const check = prepareSignatureCheck(key, signature, data);
  return isPending(check) ? settleSignatureCheck(check, runNativeCheck(check.native)) : check;
}
