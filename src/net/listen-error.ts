import { StartError } from '../config/index.js';

/** Which setting a listening server comes from, to name it when listening fails. */
export interface ListenTarget {
  /** FOTA_HTTP_PORT, FOTA_TCP_PORT or FOTA_MQTT_PORT. */
  readonly variable: string;
  readonly port: number;
  readonly host: string;
}

/** Turns the error of a failed `listen` into a StartError that names the variable to change. */
export function listenError(error: unknown, target: ListenTarget): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'EADDRINUSE':
      return new StartError(
        `${target.variable} ${target.port} is in use (on ${target.host}): stop what listens there or choose another port`,
      );
    case 'EACCES':
      return new StartError(
        `${target.variable} ${target.port} needs more privileges than this process has (ports below 1024 usually do): choose a port from 1024`,
      );
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_NONAME':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return new StartError(
        `FOTA_HOST ${target.host} is not an address of this machine: use one of its addresses, 0.0.0.0 (every IPv4 address) or :: (every address)`,
      );
    default:
      return error;
  }
}

/** Runs `listen`, turning the errors a setting explains into a StartError. */
export async function listenOn<T>(target: ListenTarget, listen: () => Promise<T>): Promise<T> {
  try {
    return await listen();
  } catch (error) {
    throw listenError(error, target);
  }
}
