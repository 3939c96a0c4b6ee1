import type { FirmwareSignature, SigningKey } from '../../domain/model.js';
import type { SigningRepository } from '../../domain/ports.js';
import type { Db } from '../database.js';
import { duplicateAs } from '../errors.js';
import type { FirmwareSignatureTable, SigningKeyTable } from '../schema.js';

/** Signing keys and signed manifests, on any engine. */
export class SqlSigningRepository implements SigningRepository {
  constructor(private readonly db: Db) {}

  async insertCurrentKey(key: SigningKey): Promise<void> {
    try {
      await this.db.transaction().execute(async (trx) => {
        await trx
          .updateTable('signing_keys')
          .set({ retired_at: key.createdAt.getTime() })
          .where('prototype_id', '=', key.prototypeId)
          .where('retired_at', 'is', null)
          .execute();
        await trx.insertInto('signing_keys').values(keyRow(key)).execute();
      });
    } catch (error) {
      throw duplicateAs(error, `prototype ${key.prototypeId} has key ${key.id} already`);
    }
  }

  async listKeys(prototypeId: string): Promise<SigningKey[]> {
    const rows = await this.db
      .selectFrom('signing_keys')
      .selectAll()
      .where('prototype_id', '=', prototypeId)
      .orderBy('created_at', 'desc')
      .orderBy('key_id')
      .execute();
    return rows.map(keyFromRow);
  }

  async getKey(prototypeId: string, keyId: string): Promise<SigningKey | undefined> {
    const row = await this.db
      .selectFrom('signing_keys')
      .selectAll()
      .where('prototype_id', '=', prototypeId)
      .where('key_id', '=', keyId)
      .executeTakeFirst();
    return row && keyFromRow(row);
  }

  async currentKey(prototypeId: string): Promise<SigningKey | undefined> {
    const row = await this.db
      .selectFrom('signing_keys')
      .selectAll()
      .where('prototype_id', '=', prototypeId)
      .where('retired_at', 'is', null)
      .executeTakeFirst();
    return row && keyFromRow(row);
  }

  async putSignature(signature: FirmwareSignature): Promise<void> {
    const row = signatureRow(signature);
    await this.db
      .insertInto('firmware_signatures')
      .values(row)
      .onConflict((conflict) =>
        conflict
          .columns(['firmware_id', 'key_id'])
          .doUpdateSet({ manifest: row.manifest, signature: row.signature, signed_at: row.signed_at }),
      )
      .execute();
  }

  async signaturesOf(firmwareId: string): Promise<FirmwareSignature[]> {
    const rows = await this.db
      .selectFrom('firmware_signatures')
      .selectAll()
      .where('firmware_id', '=', firmwareId)
      .orderBy('signed_at', 'desc')
      .orderBy('key_id')
      .execute();
    return rows.map(signatureFromRow);
  }

  async newestSignatures(prototypeId: string): Promise<FirmwareSignature[]> {
    const rows = await this.db
      .selectFrom('firmware_signatures')
      .innerJoin('firmwares', 'firmwares.id', 'firmware_signatures.firmware_id')
      .selectAll('firmware_signatures')
      .where('firmwares.prototype_id', '=', prototypeId)
      .orderBy('firmware_signatures.firmware_id')
      .orderBy('firmware_signatures.signed_at', 'desc')
      .orderBy('firmware_signatures.key_id')
      .execute();
    const newest = new Map<string, FirmwareSignature>();
    for (const row of rows) if (!newest.has(row.firmware_id)) newest.set(row.firmware_id, signatureFromRow(row));
    return [...newest.values()];
  }
}

function keyRow(key: SigningKey): SigningKeyTable {
  return {
    prototype_id: key.prototypeId,
    key_id: key.id,
    public_key: key.publicKey,
    sealed_private_key: key.sealedPrivateKey ?? null,
    created_at: key.createdAt.getTime(),
    retired_at: key.retiredAt?.getTime() ?? null,
  };
}

function keyFromRow(row: SigningKeyTable): SigningKey {
  return {
    id: row.key_id,
    prototypeId: row.prototype_id,
    publicKey: row.public_key,
    sealedPrivateKey: row.sealed_private_key ?? undefined,
    createdAt: new Date(Number(row.created_at)),
    retiredAt: row.retired_at === null ? undefined : new Date(Number(row.retired_at)),
  };
}

function signatureRow(signature: FirmwareSignature): FirmwareSignatureTable {
  return {
    firmware_id: signature.firmwareId,
    key_id: signature.keyId,
    manifest: signature.manifest,
    signature: signature.signature,
    signed_at: signature.signedAt.getTime(),
  };
}

function signatureFromRow(row: FirmwareSignatureTable): FirmwareSignature {
  return {
    firmwareId: row.firmware_id,
    keyId: row.key_id,
    manifest: row.manifest,
    signature: row.signature,
    signedAt: new Date(Number(row.signed_at)),
  };
}
