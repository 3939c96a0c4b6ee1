import { Type, type Static } from 'typebox';

/** The management API's shapes: one schema gives validation, static types and the OpenAPI document. */

export const ErrorBody = Type.Object(
  { error: Type.Object({ code: Type.String(), message: Type.String() }) },
  { $id: 'Error', description: 'Every error answer' },
);

export const VersionPolicy = Type.Union([Type.Literal('any'), Type.Literal('increasing')], {
  description:
    '`any`: free versions. `increasing`: each new version must be higher than all others, and devices are only offered higher versions (LinkIt 7681).',
});

export const Board = Type.Union([Type.Literal('mcs'), Type.Literal('linkit7681')], {
  description:
    'What boards the devices are, fixed at creation. `mcs`: MCS clients (HTTP, TCP, MQTT). `linkit7681`: LinkIt Connect 7681 boards over their encrypted protocol; the version policy is `increasing` and versions are `major.minor`, both 0 to 255 (docs/linkit7681.md).',
});

export const Prototype = Type.Object(
  {
    prototypeId: Type.String({ examples: ['P4cjC0Jd3XwE'] }),
    name: Type.String(),
    description: Type.String(),
    versionPolicy: VersionPolicy,
    board: Board,
    createdAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Prototype' },
);

export const PrototypeCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    versionPolicy: Type.Optional(VersionPolicy),
    board: Type.Optional(Board),
  },
  { additionalProperties: false },
);

export const PrototypePatch = Type.Partial(Type.Omit(PrototypeCreate, ['board']), { additionalProperties: false });

export const ReportedFirmware = Type.Object({
  fwId: Type.Union([Type.String(), Type.Null()], { description: 'null once that firmware was deleted' }),
  version: Type.String(),
  reportedAt: Type.String({ format: 'date-time' }),
});

export const Presence = Type.Object(
  {
    online: Type.Boolean(),
    protocol: Type.Union([Type.Literal('tcp'), Type.Literal('mqtt'), Type.Literal('linkit7681'), Type.Null()], {
      description: 'protocol of the live connection, or of the last one while offline',
    }),
    since: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description: 'when the device came online or went offline; null when never seen since the server started',
    }),
    lastSeen: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { description: 'Live connection state, over the TCP command server or MQTT' },
);

export const ChannelValue = Type.Object({
  channelId: Type.String(),
  values: Type.Record(Type.String(), Type.String()),
  timestamp: Type.String({ format: 'date-time' }),
});

export const Device = Type.Object(
  {
    deviceId: Type.String({ examples: ['Dk3Jd9aQ'] }),
    deviceKey: Type.Union([Type.String(), Type.Null()], {
      description: 'null when the caller is a viewer: viewers do not see device keys',
      examples: ['x8Jf03kdLq0aZ7Wm'],
    }),
    prototypeId: Type.String(),
    name: Type.String(),
    description: Type.String(),
    firmware: Type.Union([ReportedFirmware, Type.Null()], {
      description: 'What the device last reported; null before its first report',
    }),
    presence: Presence,
    channels: Type.Array(ChannelValue, { description: 'The last value of each data channel the device uploaded' }),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Device' },
);

export const DeviceCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);

export const DevicePatch = Type.Partial(DeviceCreate, { additionalProperties: false });

export const Prerequisites = Type.Union([Type.Literal('all'), Type.Array(Type.String())], {
  description: '`all`, or the ids of the firmwares a device must run to be offered this one',
});

export const Firmware = Type.Object(
  {
    fwId: Type.String({ examples: ['FAa6B540CMmJ'] }),
    prototypeId: Type.String(),
    name: Type.String(),
    version: Type.String(),
    releaseNote: Type.String(),
    fileName: Type.String(),
    size: Type.Integer(),
    md5: Type.String(),
    sha256: Type.String(),
    prerequisites: Prerequisites,
    url: Type.String({ description: 'Public download URL, plain HTTP works' }),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Firmware' },
);

export const FirmwarePatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    releaseNote: Type.Optional(Type.String({ maxLength: 10000 })),
    prerequisites: Type.Optional(Prerequisites),
  },
  { additionalProperties: false },
);

export const ForceQuery = Type.Object({
  force: Type.Optional(Type.Boolean({ default: false, description: 'delete even when in use' })),
});

export const PrototypeParams = Type.Object({ pid: Type.String() });
export const DeviceParams = Type.Object({ deviceId: Type.String() });
export const FirmwareParams = Type.Object({ fwId: Type.String() });

const PushStatusSchema = Type.Union([
  Type.Literal('queued'),
  Type.Literal('sent'),
  Type.Literal('delivered'),
  Type.Literal('downloading'),
  Type.Literal('upgraded'),
  Type.Literal('failed'),
  Type.Literal('offline'),
  Type.Literal('incompatible'),
]);

const Transition = Type.Object({
  status: PushStatusSchema,
  reason: Type.Union([Type.String(), Type.Null()]),
  at: Type.String({ format: 'date-time' }),
});

export const PushTarget = Type.Object(
  {
    deviceId: Type.String(),
    status: PushStatusSchema,
    reason: Type.Union([Type.String(), Type.Null()]),
    updatedAt: Type.String({ format: 'date-time' }),
    deadline: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description: 'when an active target fails as timed out (each active status has its own timeout)',
    }),
    history: Type.Array(Transition),
  },
  { $id: 'PushTarget' },
);

const pushFields = {
  pushId: Type.String(),
  fwId: Type.String(),
  prototypeId: Type.String(),
  version: Type.String(),
  createdBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  force: Type.Boolean(),
  queueOffline: Type.Boolean(),
  selection: Type.Union([Type.Literal('ids'), Type.Literal('all'), Type.Literal('online')], {
    description: 'the devices it names: listed ids, every device of the prototype, or those online',
  }),
};

export const Push = Type.Object(
  {
    ...pushFields,
    status: Type.Union([Type.Literal('pending'), Type.Literal('in_progress'), Type.Literal('finished')], {
      description:
        '`pending` until a device is sent anything, `in_progress` while any target is active, then `finished`',
    }),
    total: Type.Integer({ description: 'how many devices the push names' }),
    counts: Type.Record(Type.String(), Type.Integer(), { description: 'targets per status, every status present' }),
  },
  { $id: 'Push' },
);

export const DevicePush = Type.Object(
  { ...pushFields, target: PushTarget },
  { $id: 'DevicePush', description: "a push with one device's part in it" },
);

export const PushTargetPage = Type.Object(
  {
    targets: Type.Array(PushTarget),
    nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'pass as `cursor` for the next page' }),
  },
  { $id: 'PushTargetPage' },
);

export const PushTargetQuery = Type.Object(
  {
    status: Type.Optional(PushStatusSchema),
    cursor: Type.Optional(Type.String({ description: 'the `nextCursor` of the previous page' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  },
  { additionalProperties: false },
);

export const PushCreate = Type.Object(
  {
    deviceIds: Type.Optional(
      Type.Array(Type.String(), { minItems: 1, maxItems: 10000, description: 'the devices, at most 10,000' }),
    ),
    selection: Type.Optional(
      Type.Union([Type.Literal('all'), Type.Literal('online')], {
        description:
          "instead of deviceIds: every device of the firmware's prototype (`all`, with `queueOffline` the offline ones are queued) or those connected now (`online`); no cap",
      }),
    ),
    force: Type.Optional(Type.Boolean({ description: 'send even to devices whose firmware is not a prerequisite' })),
    queueOffline: Type.Optional(
      Type.Boolean({ description: 'send to offline devices once when they next connect, over TCP or MQTT' }),
    ),
  },
  { additionalProperties: false },
);

export const PushParams = Type.Object({ pushId: Type.String() });

const Endpoint = Type.Object({ host: Type.String(), port: Type.Integer() });

export const ServerInfo = Type.Object(
  {
    version: Type.String({ description: 'the fota version the server runs' }),
    publicUrl: Type.String({ description: 'base of the MCS device API and of download URLs (FOTA_PUBLIC_URL)' }),
    tcp: Type.Object(Endpoint.properties, {
      description: 'the TCP command server as connections.csv answers it (FOTA_TCP_PUBLIC_HOST, FOTA_TCP_PORT)',
    }),
    mqtt: Type.Object(Endpoint.properties, {
      description: 'the MQTT broker: the host of the TCP command server and FOTA_MQTT_PORT',
    }),
  },
  { $id: 'ServerInfo' },
);

export type ServerInfoBody = Static<typeof ServerInfo>;
export type PushBody = Static<typeof Push>;
export type PushTargetBody = Static<typeof PushTarget>;
export type PushTargetPageBody = Static<typeof PushTargetPage>;
export type DevicePushBody = Static<typeof DevicePush>;
export type PrototypeBody = Static<typeof Prototype>;
export type DeviceBody = Static<typeof Device>;
export type FirmwareBody = Static<typeof Firmware>;

/** Error answers every authenticated route may give. */
export const commonErrors = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
} as const;

// Users, sessions and API tokens.

export const RoleName = Type.Union([Type.Literal('viewer'), Type.Literal('developer'), Type.Literal('admin')], {
  description:
    'viewer: reads all but device keys; developer: also changes prototypes, devices, firmware and pushes; admin: also users and every token',
});

export const User = Type.Object({
  userId: Type.String({ examples: ['Uq3Jd9aQx0Lm'] }),
  email: Type.String({ examples: ['ada@example.com'] }),
  role: RoleName,
  createdAt: Type.String({ format: 'date-time' }),
});

export const SessionUser = Type.Object({
  userId: Type.String({ description: '`admin` for the built-in administrator (signed in with the admin token)' }),
  email: Type.String(),
  role: RoleName,
  createdAt: Type.String({ format: 'date-time' }),
  builtIn: Type.Boolean({ description: 'signed in with the admin token, not as a user' }),
});

export const Session = Type.Object({
  user: SessionUser,
  csrfToken: Type.String({ description: 'send it as `X-CSRF-Token` with every POST, PUT, PATCH and DELETE' }),
});

export const SignIn = Type.Union([
  Type.Object(
    {
      email: Type.String({ minLength: 1, maxLength: 254 }),
      password: Type.String({ minLength: 1, maxLength: 1024 }),
    },
    { additionalProperties: false },
  ),
  Type.Object({ adminToken: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false }),
]);

export const UserCreate = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 254 }),
    password: Type.String({ minLength: 10, maxLength: 1024 }),
    role: RoleName,
  },
  { additionalProperties: false },
);

export const UserPatch = Type.Object(
  {
    role: Type.Optional(RoleName),
    password: Type.Optional(Type.String({ minLength: 10, maxLength: 1024 })),
  },
  { additionalProperties: false },
);

export const UserParams = Type.Object({ userId: Type.String({ minLength: 1, maxLength: 64 }) });

export const ApiToken = Type.Object({
  tokenId: Type.String({ examples: ['Tz8Jf03kdLq0'] }),
  name: Type.String(),
  role: RoleName,
  userId: Type.Union([Type.String(), Type.Null()], { description: 'null: a token of the built-in administrator' }),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'updated at most once a minute',
  }),
});

export const ApiTokenCreated = Type.Intersect([
  ApiToken,
  Type.Object({ token: Type.String({ description: 'the bearer token, shown only in this answer' }) }),
]);

export const ApiTokenCreate = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 100 }), role: RoleName },
  { additionalProperties: false },
);

export const ApiTokenParams = Type.Object({ tokenId: Type.String({ minLength: 1, maxLength: 64 }) });

export type UserBody = Static<typeof User>;
export type SessionBody = Static<typeof Session>;
export type ApiTokenBody = Static<typeof ApiToken>;
export type ApiTokenCreatedBody = Static<typeof ApiTokenCreated>;

// The audit log (admins only).

export const AuditEntry = Type.Object(
  {
    id: Type.Integer({ description: 'increasing in the order entries were written' }),
    at: Type.String({ format: 'date-time' }),
    actor: Type.Object({
      type: Type.Union(
        [Type.Literal('admin'), Type.Literal('user'), Type.Literal('token'), Type.Literal('anonymous')],
        {
          description:
            '`admin`: the admin token or a session opened with it; `user`: a console session; `token`: an API token; `anonymous`: no valid credential (a failed sign-in, a wrong bearer token)',
        },
      ),
      userId: Type.Union([Type.String(), Type.Null()]),
      name: Type.Union([Type.String(), Type.Null()], { description: 'the user’s email, or `admin`' }),
      role: Type.Union([RoleName, Type.Null()], { description: 'the role the request acted with' }),
      tokenId: Type.Union([Type.String(), Type.Null()]),
      tokenName: Type.Union([Type.String(), Type.Null()]),
    }),
    address: Type.String({ description: 'the client address as the server saw it' }),
    kind: Type.String({ examples: ['firmware.upload', 'push.create', 'device.rotate-key', 'session.sign-in'] }),
    target: Type.Union([Type.Object({ type: Type.String(), id: Type.String() }), Type.Null()]),
    result: Type.Object({
      outcome: Type.Union([Type.Literal('success'), Type.Literal('failure')]),
      status: Type.Integer({ description: 'the HTTP status of the answer' }),
      code: Type.Union([Type.String(), Type.Null()], { description: 'the error code of a failure' }),
    }),
    details: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]), {
      description: 'a few fields of the request; never a password, a token or a device key',
    }),
  },
  { $id: 'AuditEntry' },
);

export const AuditFilters = Type.Object({
  actor: Type.Optional(Type.String({ maxLength: 256, description: 'an email, `admin`, a user id or an API token id' })),
  kind: Type.Optional(Type.String({ maxLength: 64, description: 'e.g. `push.create`' })),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'from this time, inclusive' })),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'before this time, exclusive' })),
});

export const AuditQuery = Type.Intersect([
  AuditFilters,
  Type.Object({
    cursor: Type.Optional(Type.String({ maxLength: 64, description: 'the `nextCursor` of the page before' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  }),
]);

export const AuditExportQuery = Type.Intersect([
  AuditFilters,
  Type.Object({
    format: Type.Optional(
      Type.Union([Type.Literal('csv'), Type.Literal('json')], { description: '`csv` (default) or `json`' }),
    ),
  }),
]);

export const AuditPage = Type.Object({
  entries: Type.Array(AuditEntry, { description: 'newest first' }),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' }),
});

export type AuditEntryBody = Static<typeof AuditEntry>;
export type AuditPageBody = Static<typeof AuditPage>;
export type AuditFiltersBody = Static<typeof AuditFilters>;
// Signed firmware: signing keys and signed manifests (docs/security.md).

export const SigningKey = Type.Object(
  {
    keyId: Type.String({ description: 'the first 16 hex digits of the SHA-256 of the raw public key' }),
    prototypeId: Type.String(),
    algorithm: Type.Literal('ed25519'),
    publicKey: Type.String({ description: 'the 32 raw Ed25519 public key bytes in hex, as verifiers take it' }),
    publicKeyPem: Type.String({ description: 'the same key as PEM (SPKI), for openssl and node:crypto' }),
    heldBy: Type.Union([Type.Literal('server'), Type.Literal('owner')], {
      description:
        '`server`: created by the server, which signs with it (the private key sealed with FOTA_SIGNING_KEK); `owner`: only the public key was registered, its owner signs with the CLI',
    }),
    current: Type.Boolean({ description: 'the key new manifests are signed with' }),
    createdAt: Type.String({ format: 'date-time' }),
    retiredAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description: 'when a newer key replaced it; manifests it signed still verify with it',
    }),
  },
  { $id: 'SigningKey' },
);

export const SigningKeyCreate = Type.Object(
  {
    publicKey: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1000,
        description:
          'register this public key (64 hex digits or PEM) and sign with the CLI; absent: the server creates a key pair (needs FOTA_SIGNING_KEK)',
      }),
    ),
    resign: Type.Optional(
      Type.Boolean({
        description: 'a server-created key also signs every firmware of the prototype (old manifests stay)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const FirmwareSignature = Type.Object(
  {
    fwId: Type.String(),
    keyId: Type.String(),
    manifest: Type.String({ description: 'the exact bytes signed and served at manifestUrl' }),
    signature: Type.String({
      description: 'the detached signature line `ed25519 <key id> <hex>`, served at signatureUrl',
    }),
    manifestUrl: Type.String(),
    signatureUrl: Type.String(),
    signedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'FirmwareSignature' },
);

export const SignatureCreate = Type.Object(
  {
    signature: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 300,
        description:
          'a signature made with the CLI over the manifest of GET /firmwares/{fwId}/manifest; absent: the server signs with the current key, which it must hold',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ManifestToSign = Type.Object({
  keyId: Type.String(),
  manifest: Type.String({ description: 'the bytes to sign with Ed25519, exactly' }),
});

export const KeyIdQuery = Type.Object(
  { keyId: Type.Optional(Type.String({ pattern: '^[0-9a-f]{16}$', description: 'by default the current key' })) },
  { additionalProperties: false },
);

export type SigningKeyBody = Static<typeof SigningKey>;
export type FirmwareSignatureBody = Static<typeof FirmwareSignature>;
export type ManifestToSignBody = Static<typeof ManifestToSign>;
// Webhooks (docs/integrations.md).

export const WebhookEventName = Type.Union(
  [
    Type.Literal('firmware.uploaded'),
    Type.Literal('push.created'),
    Type.Literal('device.upgraded'),
    Type.Literal('device.failed'),
  ],
  { description: 'an event a subscription may ask for (`ping` is only sent on request)' },
);

export const WebhookSubscription = Type.Object({
  webhookId: Type.String({ examples: ['wh_3kQd9Xa0LmZp'] }),
  url: Type.String({ description: 'http:// or https://; deliveries are POSTed here' }),
  description: Type.String(),
  events: Type.Array(WebhookEventName),
  enabled: Type.Boolean({ description: 'false: no new deliveries are written, pending ones wait' }),
  createdBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const WebhookSubscriptionCreated = Type.Intersect([
  WebhookSubscription,
  Type.Object({
    secret: Type.String({
      description: 'signs every delivery (Fota-Webhook-Signature); shown only in this answer and on rotation',
    }),
  }),
]);

export const WebhookSubscriptionCreate = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2000 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    events: Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 16 }),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const WebhookSubscriptionPatch = Type.Partial(WebhookSubscriptionCreate, { additionalProperties: false });

export const WebhookParams = Type.Object({ webhookId: Type.String({ minLength: 1, maxLength: 64 }) });
export const WebhookDeliveryParams = Type.Object({
  webhookId: Type.String({ minLength: 1, maxLength: 64 }),
  deliveryId: Type.String({ minLength: 1, maxLength: 64 }),
});

export const WebhookAttempt = Type.Object({
  attempt: Type.Integer({ minimum: 1 }),
  at: Type.String({ format: 'date-time' }),
  durationMs: Type.Integer(),
  httpStatus: Type.Union([Type.Integer(), Type.Null()], { description: 'null when no answer came' }),
  error: Type.Union([Type.String(), Type.Null()], { description: 'why it was not a 2xx; null when it was' }),
  responseExcerpt: Type.Union([Type.String(), Type.Null()], {
    description: "the first 1024 bytes of the receiver's answer",
  }),
});

export const WebhookDelivery = Type.Object({
  deliveryId: Type.String({ description: 'the Fota-Webhook-Id header: the same on every try and redelivery' }),
  webhookId: Type.String(),
  eventId: Type.String({ description: "the body's `id`: the same for every subscription that gets the event" }),
  event: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
  attempts: Type.Array(WebhookAttempt),
  nextAttemptAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'while pending: when the next try is due',
  }),
  createdAt: Type.String({ format: 'date-time' }),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  body: Type.String({ description: 'the JSON body as posted and signed' }),
});

export const WebhookDeliveryQuery = Type.Object(
  {
    before: Type.Optional(Type.String({ maxLength: 64, description: 'a deliveryId: the page of older deliveries' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    status: Type.Optional(Type.String({ maxLength: 16, description: 'pending, delivered or failed' })),
  },
  { additionalProperties: false },
);

export const WebhookDeliveryPage = Type.Object({
  deliveries: Type.Array(WebhookDelivery),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'pass as `before` for older deliveries' }),
});

export type WebhookSubscriptionBody = Static<typeof WebhookSubscription>;
export type WebhookSubscriptionCreatedBody = Static<typeof WebhookSubscriptionCreated>;
export type WebhookDeliveryBody = Static<typeof WebhookDelivery>;
export type WebhookDeliveryPageBody = Static<typeof WebhookDeliveryPage>;
export type WebhookAttemptBody = Static<typeof WebhookAttempt>;
