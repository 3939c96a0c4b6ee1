import { requireRole } from '../access.js';
import { DomainError, invalid, notFound } from '../errors.js';
import { keyIdOf, parseSignature, renderManifest, renderSignature } from '../manifest.js';
import type { Actor, Firmware, FirmwareSignature, SigningKey } from '../model.js';
import type { Clock, FirmwareRepository, SigningRepository } from '../ports.js';
import { newKeyPair, openPrivateKey, readPublicKey, sealPrivateKey, signBytes, verifyBytes } from '../signing-keys.js';
import type { PrototypeService } from './prototypes.js';

/**
 * Signed firmware: each prototype's Ed25519 keys and each firmware's signed manifest. Admins create
 * a key (held by the server, sealed with FOTA_SIGNING_KEK) or register the public half of a key its
 * owner keeps (the CLI signs with it); a new key becomes current and retires the one before, which
 * stays listed so what it signed still verifies. Developers sign firmwares: the server with a key
 * it holds (at upload, or when asked), or the CLI, whose signature the server checks and keeps.
 */
export class SigningService {
  constructor(
    private readonly deps: {
      readonly signing: SigningRepository;
      readonly firmwares: FirmwareRepository;
      readonly prototypes: PrototypeService;
      readonly clock: Clock;
      /** The key-encryption key (32 bytes); undefined: the server holds no private key. */
      readonly kek: Buffer | undefined;
    },
  ) {}

  async listKeys(actor: Actor, prototypeId: string): Promise<SigningKey[]> {
    requireRole(actor, 'viewer');
    await this.deps.prototypes.require(prototypeId);
    return this.deps.signing.listKeys(prototypeId);
  }

  async currentKey(actor: Actor, prototypeId: string): Promise<SigningKey> {
    requireRole(actor, 'viewer');
    await this.deps.prototypes.require(prototypeId);
    const key = await this.deps.signing.currentKey(prototypeId);
    if (!key) throw notFound(`prototype ${prototypeId} has no signing key`);
    return key;
  }

  /**
   * A new key pair held by the server, current from now on. With `resign`, every firmware of the
   * prototype is signed with it too (the manifests of the old key stay stored, and verifiable).
   */
  async createKey(actor: Actor, prototypeId: string, options: { resign?: boolean } = {}): Promise<SigningKey> {
    requireRole(actor, 'admin');
    await this.deps.prototypes.require(prototypeId);
    const kek = this.deps.kek;
    if (!kek) {
      throw new DomainError(
        'not_configured',
        'the server holds no signing keys without FOTA_SIGNING_KEK (32 random bytes in base64); set it, or register a public key and sign with `fota firmware upload --sign key.pem`',
      );
    }
    const pair = newKeyPair();
    const key: SigningKey = {
      id: keyIdOf(pair.publicKey),
      prototypeId,
      publicKey: pair.publicKey.toString('hex'),
      sealedPrivateKey: sealPrivateKey(kek, prototypeId, pair.privateKey),
      createdAt: this.deps.clock.now(),
      retiredAt: undefined,
    };
    await this.deps.signing.insertCurrentKey(key);
    if (options.resign) {
      for (const firmware of await this.deps.firmwares.listByPrototype(prototypeId)) {
        await this.signWith(key, pair.privateKey, firmware);
      }
    }
    return key;
  }

  /** The public half of a key its owner keeps, current from now on: the CLI signs with it. */
  async registerKey(actor: Actor, prototypeId: string, publicKeyText: string): Promise<SigningKey> {
    requireRole(actor, 'admin');
    await this.deps.prototypes.require(prototypeId);
    const publicKey = readPublicKey(publicKeyText);
    const key: SigningKey = {
      id: keyIdOf(publicKey),
      prototypeId,
      publicKey: publicKey.toString('hex'),
      sealedPrivateKey: undefined,
      createdAt: this.deps.clock.now(),
      retiredAt: undefined,
    };
    await this.deps.signing.insertCurrentKey(key);
    return key;
  }

  /** The manifest a key (by default the current one) signs for a firmware: what the CLI signs. */
  async manifestToSign(actor: Actor, firmwareId: string, keyId?: string): Promise<{ keyId: string; manifest: string }> {
    requireRole(actor, 'developer');
    const firmware = await this.requireFirmware(firmwareId);
    const key = await this.signableKey(firmware.prototypeId, keyId);
    return { keyId: key.id, manifest: renderManifest(firmware, key.id) };
  }

  /** Keeps a signature made elsewhere (the CLI) once it verifies with the prototype's key it names. */
  async attachSignature(actor: Actor, firmwareId: string, signatureText: string): Promise<FirmwareSignature> {
    requireRole(actor, 'developer');
    const firmware = await this.requireFirmware(firmwareId);
    const parsed = parseSignature(signatureText);
    if (!parsed) throw invalid('signature must be one line "ed25519 <key id> <128 hex digits>"');
    const key = await this.signableKey(firmware.prototypeId, parsed.keyId);
    const manifest = renderManifest(firmware, key.id);
    if (!verifyBytes(Buffer.from(key.publicKey, 'hex'), Buffer.from(manifest), parsed.signature)) {
      throw new DomainError(
        'bad_signature',
        `the signature does not verify with key ${key.id} over the manifest of firmware ${firmware.id}`,
      );
    }
    return this.store(firmware, key.id, manifest, parsed.signature);
  }

  /** Signs a firmware with the current key, which the server must hold. */
  async sign(actor: Actor, firmwareId: string): Promise<FirmwareSignature> {
    requireRole(actor, 'developer');
    const firmware = await this.requireFirmware(firmwareId);
    const key = await this.signableKey(firmware.prototypeId, undefined);
    if (key.sealedPrivateKey === undefined) {
      throw new DomainError(
        'not_configured',
        `key ${key.id} of prototype ${firmware.prototypeId} is kept by its owner, not the server: sign with \`fota firmware sign ${firmware.id} --key key.pem\``,
      );
    }
    return this.signWith(key, this.openKey(key), firmware);
  }

  /**
   * Signs a firmware just stored, when the prototype's current key is held by the server; answers
   * undefined otherwise. The upload authorized the caller.
   */
  async signAtUpload(firmware: Firmware): Promise<FirmwareSignature | undefined> {
    const key = await this.deps.signing.currentKey(firmware.prototypeId);
    if (!key || key.sealedPrivateKey === undefined || !this.deps.kek) return undefined;
    return this.signWith(key, this.openKey(key), firmware);
  }

  /** The signatures of a firmware, newest (the one served) first. */
  async signaturesOf(actor: Actor, firmwareId: string): Promise<FirmwareSignature[]> {
    requireRole(actor, 'viewer');
    await this.requireFirmware(firmwareId);
    return this.deps.signing.signaturesOf(firmwareId);
  }

  /** The newest signature of each signed firmware of a prototype. */
  async prototypeSignatures(actor: Actor, prototypeId: string): Promise<FirmwareSignature[]> {
    requireRole(actor, 'viewer');
    await this.deps.prototypes.require(prototypeId);
    return this.deps.signing.newestSignatures(prototypeId);
  }

  /** What downloads serve beside a firmware: public, as its bytes are. Undefined when unsigned. */
  async servedSignature(firmwareId: string): Promise<FirmwareSignature | undefined> {
    return (await this.deps.signing.signaturesOf(firmwareId))[0];
  }

  private async signWith(key: SigningKey, privateKey: Buffer, firmware: Firmware): Promise<FirmwareSignature> {
    const manifest = renderManifest(firmware, key.id);
    return this.store(firmware, key.id, manifest, signBytes(privateKey, Buffer.from(manifest)));
  }

  private async store(
    firmware: Firmware,
    keyId: string,
    manifest: string,
    signature: Uint8Array,
  ): Promise<FirmwareSignature> {
    const stored: FirmwareSignature = {
      firmwareId: firmware.id,
      keyId,
      manifest,
      signature: renderSignature(keyId, signature),
      signedAt: this.deps.clock.now(),
    };
    await this.deps.signing.putSignature(stored);
    return stored;
  }

  private openKey(key: SigningKey): Buffer {
    if (!this.deps.kek) {
      throw new DomainError(
        'not_configured',
        `key ${key.id} is sealed with a key-encryption key and the server was started without FOTA_SIGNING_KEK`,
      );
    }
    return openPrivateKey(this.deps.kek, key.prototypeId, key.sealedPrivateKey!);
  }

  /** The named key of the prototype (by default the current one), which must not be retired. */
  private async signableKey(prototypeId: string, keyId: string | undefined): Promise<SigningKey> {
    const key =
      keyId === undefined
        ? await this.deps.signing.currentKey(prototypeId)
        : await this.deps.signing.getKey(prototypeId, keyId);
    if (!key) {
      throw notFound(
        keyId === undefined
          ? `prototype ${prototypeId} has no signing key: an admin creates or registers one`
          : `prototype ${prototypeId} has no signing key ${keyId}`,
      );
    }
    if (key.retiredAt !== undefined) {
      throw invalid(`key ${key.id} was retired at ${key.retiredAt.toISOString()}: sign with the current key`);
    }
    return key;
  }

  private async requireFirmware(id: string): Promise<Firmware> {
    const firmware = await this.deps.firmwares.get(id);
    if (!firmware) throw notFound(`no firmware ${id}`);
    return firmware;
  }
}
