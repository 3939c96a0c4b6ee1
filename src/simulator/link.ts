import { setTimeout as sleep } from 'node:timers/promises';
import type { FotaMessage, SimulatedProtocol } from './types.js';

/** What a command link tells its device. */
export interface LinkHandlers {
  connected(): void;
  /** The connection ended or could not be made; the link tries again after `retryInMs`. */
  disconnected(reason: string, retryInMs: number): void;
  fota(fota: FotaMessage): void;
  /** A message marked FOTA that a real client could not act on. */
  malformedFota(version: string | undefined, text: string): void;
  /** Something went wrong that the device survives (a failed `connections.csv`, a refused subscription). */
  problem(message: string): void;
  /** The server echoed a heartbeat (TCP). */
  echo(): void;
}

/**
 * The channel on which a device receives commands: a TCP command connection or an MQTT session.
 * It connects, stays connected (heartbeats, keepalive), reconnects when dropped, and carries the
 * `status` data point the device sends before it downloads a firmware.
 */
export interface CommandLink {
  readonly protocol: SimulatedProtocol;
  /** Runs until `stop()`; never rejects. */
  start(): void;
  /** Uploads `status,,fotaing` the way this kind of client does. */
  sendFotaingStatus(): Promise<void>;
  /** Closes the connection and cancels every retry; resolves once the socket is closed. */
  stop(): Promise<void>;
  /** Heartbeats written since the start (TCP; MQTT keepalive pings are not counted). */
  readonly heartbeats: number;
}

/** Waits, or resolves early (to false) when the signal aborts. */
export async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/** The data point MediaTek's C client uploads just before it downloads a firmware. */
export const FOTAING_CHANNEL = 'status';
export const FOTAING_VALUE = 'fotaing';
