import type { Reader } from './readers.js';

/** The LinkIt Connect 7681 discovery HTTP server and command server (docs/linkit7681.md). */
export interface Linkit7681Config {
  /** Where the command server listens (0: a free port). */
  readonly port: number;
  /** The IPv4 address boards are told to connect to and to download from. */
  readonly publicHost: string;
  /** The port boards are told, 1 to 999: the board copies at most three port digits. */
  readonly publicPort: number;
  /** The discovery and firmware HTTP server: 80 for real boards, which always use port 80. */
  readonly discoveryPort: number;
  readonly identifyTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly writeGapMs: number;
}

export const linkit7681Variables = [
  [
    'FOTA_LINKIT7681_ENABLED',
    'false',
    'start the LinkIt Connect 7681 discovery HTTP server and command server (true or false; see docs/linkit7681.md)',
  ],
  ['FOTA_LINKIT7681_PORT', '768', 'port the LinkIt 7681 command server listens on'],
  [
    'FOTA_LINKIT7681_PUBLIC_PORT',
    '(FOTA_LINKIT7681_PORT)',
    'port discovery tells LinkIt 7681 boards to connect to, 1 to 999 (the board copies at most three port digits); set it when a router forwards it to FOTA_LINKIT7681_PORT',
  ],
  [
    'FOTA_LINKIT7681_PUBLIC_HOST',
    '(FOTA_TCP_PUBLIC_HOST)',
    'IPv4 address LinkIt 7681 boards connect to and download firmware from (port 80, FOTA_LINKIT7681_DISCOVERY_PORT); the board resolves no names',
  ],
  [
    'FOTA_LINKIT7681_DISCOVERY_PORT',
    '80',
    'port of the LinkIt 7681 discovery and firmware HTTP server (the board always uses 80)',
  ],
  [
    'FOTA_LINKIT7681_IDENTIFY_TIMEOUT_S',
    '10',
    'seconds a LinkIt 7681 connection may stay without a first frame that decrypts with its device key',
  ],
  [
    'FOTA_LINKIT7681_IDLE_TIMEOUT_S',
    '120',
    'seconds a LinkIt 7681 connection may stay without a valid frame (the board sends a keep-alive every 40 s)',
  ],
  [
    'FOTA_LINKIT7681_WRITE_GAP_MS',
    '200',
    'least milliseconds between two frames to one LinkIt 7681 board, which reads one frame per TCP segment',
  ],
] as const;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Undefined when FOTA_LINKIT7681_ENABLED is false; the public host defaults to `tcpPublicHost`. */
export function readLinkit7681(reader: Reader, tcpPublicHost: string): { linkit7681: Linkit7681Config | undefined } {
  if (reader.flag('FOTA_LINKIT7681_ENABLED', 'false') !== true) return { linkit7681: undefined };
  const port = reader.port('FOTA_LINKIT7681_PORT', '768');
  const publicPort = reader.integer(
    'FOTA_LINKIT7681_PUBLIC_PORT',
    String(port),
    1,
    999,
    (text) =>
      `FOTA_LINKIT7681_PUBLIC_PORT (by default FOTA_LINKIT7681_PORT) must be 1 to 999, not "${text}": the LinkIt 7681 board copies at most three port digits; listen below 1000, or forward a port 1-999 to FOTA_LINKIT7681_PORT and set FOTA_LINKIT7681_PUBLIC_PORT to it`,
  );
  const publicHost = reader.text('FOTA_LINKIT7681_PUBLIC_HOST', tcpPublicHost);
  if (!IPV4.test(publicHost)) {
    reader.problem(
      `FOTA_LINKIT7681_PUBLIC_HOST (by default FOTA_TCP_PUBLIC_HOST) must be an IPv4 address, not "${publicHost}": the LinkIt 7681 board resolves no names`,
    );
  }
  return {
    linkit7681: {
      port,
      publicHost,
      publicPort,
      discoveryPort: reader.port('FOTA_LINKIT7681_DISCOVERY_PORT', '80'),
      identifyTimeoutMs: reader.seconds('FOTA_LINKIT7681_IDENTIFY_TIMEOUT_S', '10'),
      idleTimeoutMs: reader.seconds('FOTA_LINKIT7681_IDLE_TIMEOUT_S', '120'),
      writeGapMs: reader.integer('FOTA_LINKIT7681_WRITE_GAP_MS', '200', 0, 4000),
    },
  };
}
