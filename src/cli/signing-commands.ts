import { constants, createReadStream } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import {
  verifyFirmware,
  verifyManifest,
  VerificationError,
  type Manifest,
  type TrustedKey,
} from '../contract/firmware-verifier.js';
import type { HttpClient } from '../contract/http-client.js';
import type { FirmwareSignatureBody, SigningKeyBody } from '../contract/schemas.js';
import { connect } from './api-connection.js';
import { CliError } from './cli-error.js';
import { show, withApiOptions, type ApiOptions } from './command-options.js';
import { formatTime, summary, table } from './output.js';
import { readSigningKeyFile, signHere } from './signing-key-file.js';
import { createPublicKey } from 'node:crypto';

const KEYGEN = 'openssl genpkey -algorithm ed25519 -out key.pem';

/** `fota prototypes signing-key show|list|create|register`, `fota firmware sign|verify`. */
export function registerSigningCommands(program: Command): void {
  const prototypes = commandNamed(program, 'prototypes');
  const signingKey = prototypes
    .command('signing-key')
    .alias('signing-keys')
    .description("show, list, create and register a prototype's Ed25519 signing keys (docs/security.md)")
    .addHelpText(
      'after',
      `
Each firmware of a prototype with a key gets a signed manifest, served beside its download URL
(<url>/manifest and <url>/manifest.sig); devices verify it with the public key. A new key
becomes current and retires the one before, which stays listed: what it signed still verifies.`,
    );

  withApiOptions(
    signingKey
      .command('show')
      .description("print a prototype's current public key and its key id")
      .argument('<prototypeId>', 'the prototype'),
  ).action(async (prototypeId: string, options: ApiOptions) => {
    show(
      options,
      await connect(options).signingKey(prototypeId),
      (key) => `Signing key ${key.keyId}\n${describeKey(key)}`,
    );
  });

  withApiOptions(
    prototypes
      .command('signatures')
      .description("list the signed manifests of a prototype's firmware, one per firmware and key")
      .argument('<prototypeId>', 'the prototype'),
  ).action(async (prototypeId: string, options: ApiOptions) => {
    show(options, await connect(options).prototypeSignatures(prototypeId), signatureTable);
  });

  withApiOptions(
    commandNamed(program, 'firmware')
      .command('signatures')
      .description("list a firmware's signed manifests, one per key that signed it")
      .argument('<fwId>', 'the firmware'),
  ).action(async (fwId: string, options: ApiOptions) => {
    show(options, await connect(options).firmwareSignatures(fwId), signatureTable);
  });

  withApiOptions(
    signingKey
      .command('list')
      .description("list a prototype's signing keys, newest first, retired ones included")
      .argument('<prototypeId>', 'the prototype'),
  ).action(async (prototypeId: string, options: ApiOptions) => {
    show(options, await connect(options).signingKeys(prototypeId), (keys) =>
      keys.length === 0
        ? `No signing key in ${prototypeId}. An admin creates one: fota prototypes signing-key create ${prototypeId}\n`
        : table(
            ['KEY ID', 'CURRENT', 'HELD BY', 'CREATED', 'RETIRED', 'PUBLIC KEY'],
            keys.map((key) => [
              key.keyId,
              key.current ? 'yes' : 'no',
              key.heldBy,
              formatTime(key.createdAt),
              key.retiredAt ? formatTime(key.retiredAt) : '-',
              key.publicKey,
            ]),
          ),
    );
  });

  withApiOptions(
    signingKey
      .command('create')
      .description('create a key pair held by the server (admins; the server needs FOTA_SIGNING_KEK)')
      .argument('<prototypeId>', 'the prototype')
      .option('--resign', 'also sign every firmware of the prototype with the new key (old manifests stay)'),
  ).action(async (prototypeId: string, options: ApiOptions & { resign?: boolean }) => {
    const key = await connect(options).createSigningKey(prototypeId, { resign: options.resign === true });
    show(options, key, (created) => `Created signing key ${created.keyId}, now current\n${describeKey(created)}`);
  });

  withApiOptions(
    signingKey
      .command('register')
      .description('register the public half of a key you keep; you then sign with --sign/--key (admins)')
      .argument('<prototypeId>', 'the prototype')
      .argument('<keyFile>', `a PEM private or public key (${KEYGEN}); only the public key is sent`),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ ${KEYGEN}
  $ fota prototypes signing-key register P4cjC0Jd3XwE key.pem
  $ fota firmware upload P4cjC0Jd3XwE lamp-1.0.bin --name Lamp --version 1.0 --sign key.pem`,
    )
    .action(async (prototypeId: string, keyFile: string, options: ApiOptions) => {
      const key = await connect(options).createSigningKey(prototypeId, { publicKey: await publicKeyOf(keyFile) });
      show(
        options,
        key,
        (registered) => `Registered signing key ${registered.keyId}, now current\n${describeKey(registered)}`,
      );
    });

  const firmware = commandNamed(program, 'firmware');
  withApiOptions(
    firmware
      .command('sign')
      .description("sign a firmware's manifest: with --key here (the key stays here), otherwise on the server")
      .argument('<fwId>', 'the firmware')
      .option('--key <key.pem>', `the Ed25519 private key in PEM (${KEYGEN}); only the signature is sent`),
  )
    .addHelpText(
      'after',
      `
Firmwares uploaded before their prototype had a key, or signed by a retired key, are signed
so. Without --key the server signs with the current key, which it must hold.

Examples:
  $ fota firmware sign FKgaAQDiAk3h
  $ fota firmware sign FKgaAQDiAk3h --key key.pem`,
    )
    .action(async (fwId: string, options: ApiOptions & { key?: string }) => {
      const client = connect(options);
      const signed =
        options.key === undefined
          ? await client.signFirmware(fwId)
          : await signHere(client, fwId, await readSigningKeyFile(options.key));
      show(options, signed, (body) => `Signed firmware ${body.fwId}\n${describeSignature(body)}`);
    });

  withApiOptions(
    firmware
      .command('verify')
      .description('verify a firmware as a device does: its signed manifest, then its bytes')
      .argument('<fwId>', 'the firmware')
      .option(
        '--public-key <hex|file>',
        "the key to trust (64 hex digits or a PEM file); default: the prototype's keys",
      )
      .option('--file <path>', 'check this file instead of downloading the firmware'),
  )
    .addHelpText(
      'after',
      `
Downloads <url>/manifest and <url>/manifest.sig and checks them with the TypeScript verifier
(src/contract/firmware-verifier.ts), then the firmware's size and SHA-256. Without
--public-key it trusts the keys the server lists for the prototype: that proves the files
agree, --public-key with the key your devices hold proves who signed them. Exit code 1 when
anything is refused.

Examples:
  $ fota firmware verify FKgaAQDiAk3h
  $ fota firmware verify FKgaAQDiAk3h --public-key device-key.pub --file build/lamp-1.0.bin`,
    )
    .action(async (fwId: string, options: ApiOptions & { publicKey?: string; file?: string }) => {
      if (options.file !== undefined) await readable(options.file);
      const client = connect(options);
      const target = await client.firmware(fwId);
      const trusted = options.publicKey
        ? [{ publicKey: await publicKeyOf(options.publicKey, true) }]
        : await prototypeKeys(client, target.prototypeId);
      const [manifestBytes, signatureBytes] = await Promise.all([
        fetchBytes(`${target.url}/manifest`),
        fetchBytes(`${target.url}/manifest.sig`),
      ]);
      let manifest: Manifest;
      try {
        manifest = verifyManifest(manifestBytes, signatureBytes, trusted);
        if (manifest.firmwareId !== fwId)
          throw new VerificationError(`the manifest is of firmware ${manifest.firmwareId}`);
        await verifyFirmware(manifest, options.file ? createReadStream(options.file) : await fetchStream(target.url));
      } catch (error) {
        if (error instanceof VerificationError) throw new CliError(`firmware ${fwId} is refused: ${error.message}`);
        throw error;
      }
      show(
        options,
        manifest,
        (read) => `Verified firmware ${fwId}: signed by key ${read.keyId}\n${describeManifest(read)}`,
      );
    });
}

async function readable(path: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch (error) {
    throw new CliError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

function commandNamed(program: Command, name: string): Command {
  const found = program.commands.find((command) => command.name() === name);
  if (!found) throw new Error(`no command ${name} to add the signing commands to`);
  return found;
}

/** The public key in hex of a PEM file (private or public), or of 64 hex digits given as such. */
async function publicKeyOf(given: string, hexAllowed = false): Promise<string> {
  if (hexAllowed && /^[0-9a-fA-F]{64}$/.test(given)) return given.toLowerCase();
  let text: string;
  try {
    text = await readFile(given, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read the key file ${given}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  if (/^[0-9a-fA-F]{64}\s*$/.test(text)) return text.trim().toLowerCase();
  if (/PRIVATE KEY/.test(text)) return (await readSigningKeyFile(given)).publicKey;
  try {
    const key = createPublicKey(text);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error('not Ed25519');
    return Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url').toString('hex');
  } catch {
    throw new CliError(`${given} holds no Ed25519 key (a PEM key, or 64 hex digits)`);
  }
}

async function prototypeKeys(client: HttpClient, prototypeId: string): Promise<TrustedKey[]> {
  const keys = await client.signingKeys(prototypeId);
  if (keys.length === 0) throw new CliError(`prototype ${prototypeId} has no signing key: nothing to verify with`);
  return keys.map((key) => ({ publicKey: key.publicKey }));
}

async function fetchBytes(url: string): Promise<Buffer> {
  const response = await fetchOk(url);
  return Buffer.from(await response.arrayBuffer());
}

async function fetchStream(url: string): Promise<Readable> {
  const response = await fetchOk(url);
  return Readable.fromWeb(response.body! as import('node:stream/web').ReadableStream<Uint8Array>);
}

async function fetchOk(url: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new CliError(`cannot download ${url}: ${(error as Error).message}`);
  }
  if (response.status === 404 && url.endsWith('/manifest')) {
    throw new CliError(`the firmware is not signed (${url} answered 404); sign it with: fota firmware sign`);
  }
  if (!response.ok) throw new CliError(`${url} answered HTTP ${response.status}`);
  return response;
}

const describeKey = (key: SigningKeyBody): string =>
  summary([
    ['keyId', key.keyId],
    ['prototypeId', key.prototypeId],
    ['algorithm', key.algorithm],
    ['publicKey', key.publicKey],
    ['held by', key.heldBy === 'server' ? 'the server (sealed with FOTA_SIGNING_KEK)' : 'its owner (the CLI signs)'],
    ['current', key.current ? 'yes' : 'no'],
    ['created', formatTime(key.createdAt)],
    ...(key.retiredAt ? [['retired', formatTime(key.retiredAt)] as const] : []),
  ]) + `\n${key.publicKeyPem}`;

export const describeSignature = (signature: FirmwareSignatureBody): string =>
  summary([
    ['fwId', signature.fwId],
    ['keyId', signature.keyId],
    ['manifest', signature.manifestUrl],
    ['signature', signature.signatureUrl],
    ['signed', formatTime(signature.signedAt)],
  ]);

const describeManifest = (manifest: Manifest): string =>
  summary([
    ['prototypeId', manifest.prototypeId],
    ['version', manifest.version],
    ['size', `${manifest.size} bytes`],
    ['sha256', manifest.sha256],
    ['created', manifest.createdAt],
  ]);

const signatureTable = (signatures: readonly FirmwareSignatureBody[]): string =>
  signatures.length === 0
    ? 'No signed manifest.\n'
    : table(
        ['FIRMWARE', 'KEY ID', 'SIGNED', 'MANIFEST'],
        signatures.map((signature) => [
          signature.fwId,
          signature.keyId,
          formatTime(signature.signedAt),
          signature.manifestUrl,
        ]),
      );
