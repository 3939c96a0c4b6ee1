import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { publicKeyPem } from '../../domain/signing-keys.js';
import type { FirmwareSignature as SignatureRecord, SigningKey as KeyRecord } from '../../domain/model.js';
import type { HttpServices } from '../services.js';
import { bodyFields, param } from './audit-recorder.js';
import {
  commonErrors,
  ErrorBody,
  FirmwareParams,
  FirmwareSignature,
  KeyIdQuery,
  ManifestToSign,
  PrototypeParams,
  SignatureCreate,
  SigningKey,
  SigningKeyCreate,
  type FirmwareSignatureBody,
  type SigningKeyBody,
} from '../../contract/schemas.js';

const tags = ['signing'];

/** Signing keys of prototypes and signed manifests of firmwares (docs/security.md). */
export const signingRoutes: FastifyPluginAsyncTypebox<{ services: HttpServices }> = async (app, { services }) => {
  const presentSignature = (signature: SignatureRecord): FirmwareSignatureBody => {
    const base = services.firmwareUrl(signature.firmwareId);
    return {
      fwId: signature.firmwareId,
      keyId: signature.keyId,
      manifest: signature.manifest,
      signature: signature.signature,
      manifestUrl: `${base}/manifest`,
      signatureUrl: `${base}/manifest.sig`,
      signedAt: signature.signedAt.toISOString(),
    };
  };

  app.get(
    '/prototypes/:pid/signing-key',
    {
      schema: {
        tags,
        summary: "A prototype's current signing key: the public key devices verify manifests with",
        params: PrototypeParams,
        response: { 200: SigningKey, ...commonErrors },
      },
    },
    async (request) => presentKey(await services.signing.currentKey(request.actor, request.params.pid)),
  );

  app.get(
    '/prototypes/:pid/signing-keys',
    {
      schema: {
        tags,
        summary: 'Every signing key of a prototype, newest first, retired ones included',
        params: PrototypeParams,
        response: { 200: Type.Array(SigningKey), ...commonErrors },
      },
    },
    async (request) => (await services.signing.listKeys(request.actor, request.params.pid)).map(presentKey),
  );

  app.post(
    '/prototypes/:pid/signing-keys',
    {
      config: {
        audit: { kind: 'signing-key.create', target: param('prototype', 'pid'), details: bodyFields('resign') },
      },
      schema: {
        tags,
        summary: 'Create or register a signing key, which becomes current (admins)',
        description:
          'Without `publicKey` the server creates an Ed25519 key pair and keeps the private key sealed with FOTA_SIGNING_KEK (409 `not_configured` when the server has none). With `publicKey` only that public key is registered: its owner signs with the CLI (`fota firmware upload --sign key.pem`). The key current until then is retired, and stays listed so the manifests it signed still verify. 409 `duplicate` for a key the prototype has already.',
        params: PrototypeParams,
        body: SigningKeyCreate,
        response: { 201: SigningKey, ...commonErrors, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const { publicKey, resign } = request.body;
      const key =
        publicKey === undefined
          ? await services.signing.createKey(request.actor, request.params.pid, { resign: resign ?? false })
          : await services.signing.registerKey(request.actor, request.params.pid, publicKey);
      return reply.code(201).send(presentKey(key));
    },
  );

  app.get(
    '/prototypes/:pid/signatures',
    {
      schema: {
        tags,
        summary: 'The served signature of each signed firmware of a prototype (firmwares without one are unsigned)',
        params: PrototypeParams,
        response: { 200: Type.Array(FirmwareSignature), ...commonErrors },
      },
    },
    async (request) =>
      (await services.signing.prototypeSignatures(request.actor, request.params.pid)).map(presentSignature),
  );

  app.get(
    '/firmwares/:fwId/signatures',
    {
      schema: {
        tags,
        summary: "A firmware's signed manifests, one per key, the served one first",
        params: FirmwareParams,
        response: { 200: Type.Array(FirmwareSignature), ...commonErrors },
      },
    },
    async (request) => (await services.signing.signaturesOf(request.actor, request.params.fwId)).map(presentSignature),
  );

  app.get(
    '/firmwares/:fwId/manifest',
    {
      schema: {
        tags,
        summary: 'The manifest a key (by default the current one) signs for a firmware: what the CLI signs',
        params: FirmwareParams,
        querystring: KeyIdQuery,
        response: { 200: ManifestToSign, ...commonErrors },
      },
    },
    async (request) => services.signing.manifestToSign(request.actor, request.params.fwId, request.query.keyId),
  );

  app.post(
    '/firmwares/:fwId/signatures',
    {
      config: { audit: { kind: 'firmware.sign', target: param('firmware', 'fwId') } },
      schema: {
        tags,
        summary: 'Sign a firmware',
        description:
          'With `signature` (made by the CLI over the manifest of GET /firmwares/{fwId}/manifest), the server keeps it once it verifies with the key it names (400 `bad_signature` otherwise). Without, the server signs with the current key, which it must hold (409 `not_configured` otherwise). Retired keys sign nothing new.',
        params: FirmwareParams,
        body: SignatureCreate,
        response: { 201: FirmwareSignature, ...commonErrors, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const { signature } = request.body;
      const stored =
        signature === undefined
          ? await services.signing.sign(request.actor, request.params.fwId)
          : await services.signing.attachSignature(request.actor, request.params.fwId, signature);
      return reply.code(201).send(presentSignature(stored));
    },
  );
};

function presentKey(key: KeyRecord): SigningKeyBody {
  return {
    keyId: key.id,
    prototypeId: key.prototypeId,
    algorithm: 'ed25519',
    publicKey: key.publicKey,
    publicKeyPem: publicKeyPem(Buffer.from(key.publicKey, 'hex')),
    heldBy: key.sealedPrivateKey === undefined ? 'owner' : 'server',
    current: key.retiredAt === undefined,
    createdAt: key.createdAt.toISOString(),
    retiredAt: key.retiredAt?.toISOString() ?? null,
  };
}
