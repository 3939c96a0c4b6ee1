import { resolve } from 'node:path';
import type { Reader } from './readers.js';

/** Where the servers listen, and the data folder. */
export interface ServerConfig {
  readonly httpPort: number;
  readonly host: string;
  readonly dataDir: string;
}

export const serverVariables = [
  ['FOTA_HTTP_PORT', '8080', 'port of the HTTP server (management API, MCS device API, downloads)'],
  ['FOTA_HOST', '0.0.0.0', 'address the servers listen on'],
  [
    'FOTA_DATA_DIR',
    './data',
    'folder for the SQLite database and the firmware files (only the firmware files with FOTA_DATABASE_URL)',
  ],
] as const;

export function readServer(reader: Reader): ServerConfig {
  return {
    httpPort: reader.port('FOTA_HTTP_PORT', '8080'),
    host: reader.text('FOTA_HOST', '0.0.0.0'),
    dataDir: resolve(reader.text('FOTA_DATA_DIR', './data')),
  };
}
