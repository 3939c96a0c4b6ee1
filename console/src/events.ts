import { useEffect, useState } from 'react';
import type { QueryClient } from '@tanstack/react-query';
import type { DeviceBody } from '../../src/contract/schemas.js';
import { ApiError, readEvents, type HttpClient, type StreamEvent } from '../../src/contract/http-client.js';

export type StreamState = 'connecting' | 'live' | 'reconnecting';

/** Events come in bursts (a push to a fleet): a list is read again at most this often, after the last one. */
export const REFRESH_MS = 250;

const pending = new WeakMap<QueryClient, Map<string, ReturnType<typeof setTimeout>>>();

/**
 * Reads the answers under `queryKey` again soon, once per burst of events: a read that starts
 * while another is still running would cancel it, so a busy stream would never let one finish.
 * The read starts after the last event of the burst and after the read in flight, so it sees them all.
 */
export function refreshSoon(queries: QueryClient, queryKey: readonly unknown[]): void {
  let timers = pending.get(queries);
  if (timers === undefined) pending.set(queries, (timers = new Map()));
  const id = JSON.stringify(queryKey);
  if (timers.has(id)) return;
  const fire = () => {
    if (queries.isFetching({ queryKey }) > 0) {
      timers.set(id, setTimeout(fire, REFRESH_MS));
      return;
    }
    timers.delete(id);
    void queries.invalidateQueries({ queryKey });
  };
  timers.set(id, setTimeout(fire, REFRESH_MS));
}

/** Applies one event to the cached answers: presence in place, pushes read again. */
export function applyEvent(queries: QueryClient, event: StreamEvent): void {
  const data = event.data;
  if (event.type === 'device.online' || event.type === 'device.offline') {
    const online = event.type === 'device.online';
    const deviceId = String(data['deviceId']);
    const change = (device: DeviceBody): DeviceBody =>
      device.deviceId === deviceId
        ? {
            ...device,
            presence: {
              ...device.presence,
              online,
              since: String(data['at']),
              protocol: (data['protocol'] as DeviceBody['presence']['protocol']) ?? device.presence.protocol,
            },
          }
        : device;
    const listKey = ['devices', String(data['prototypeId'])];
    const deviceKey = ['device', deviceId];
    queries.setQueryData<DeviceBody[]>(listKey, (list) => list?.map(change));
    queries.setQueryData<DeviceBody>(deviceKey, (device) => (device ? change(device) : device));
    // A read started before this event (as after a reconnect) would answer the older presence and
    // overwrite it: such a read is replaced by a fresh one.
    for (const queryKey of [listKey, deviceKey]) {
      if (queries.isFetching({ queryKey }) > 0) void queries.invalidateQueries({ queryKey });
    }
  } else if (event.type === 'device.reported') {
    // The firmware a device runs: changed in place in the lists (the fleet chart moves at once),
    // then its page and the fleet's lists are read again.
    const deviceId = String(data['deviceId']);
    const firmware: DeviceBody['firmware'] = {
      fwId: typeof data['fwId'] === 'string' ? data['fwId'] : null,
      version: String(data['version']),
      reportedAt: String(data['at']),
    };
    queries.setQueriesData<DeviceBody[]>({ queryKey: ['devices'] }, (list) =>
      list?.map((device) => (device.deviceId === deviceId ? { ...device, firmware } : device)),
    );
    void queries.invalidateQueries({ queryKey: ['device', deviceId] });
    refreshSoon(queries, ['devices']);
  } else if (event.type === 'push.progress') {
    refreshSoon(queries, ['push', String(data['pushId'])]);
    refreshSoon(queries, ['push-targets', String(data['pushId'])]);
    refreshSoon(queries, ['device-pushes', String(data['deviceId'])]);
    // An upgrade changes what the device reports.
    if (data['status'] === 'upgraded') refreshSoon(queries, ['device']);
  }
}

/**
 * Keeps the event stream open while signed in, and opens it again after it ends (a server restart):
 * after a reconnection every cached answer is read again, for what happened in between. When the
 * server refuses the credentials (401: the session was signed out, expired or deleted; the token
 * replaced), `onUnauthenticated` gets its reason and the stream stays closed.
 */
export function useEventStream(
  client: HttpClient,
  queries: QueryClient,
  enabled: boolean,
  onUnauthenticated?: (reason: string) => void,
): StreamState {
  const [state, setState] = useState<StreamState>('connecting');
  useEffect(() => {
    if (!enabled) return;
    const abort = new AbortController();
    let delay = 500;
    let first = true;
    void (async () => {
      while (!abort.signal.aborted) {
        try {
          const response = await client.openEvents(abort.signal);
          setState('live');
          delay = 500;
          if (!first) void queries.invalidateQueries();
          first = false;
          await readEvents(response, (event) => applyEvent(queries, event));
        } catch (error) {
          if (error instanceof ApiError && error.status === 401 && onUnauthenticated && !abort.signal.aborted) {
            onUnauthenticated(error.message);
            return;
          }
          // closed or refused: try again below
        }
        if (abort.signal.aborted) return;
        setState('reconnecting');
        first = false;
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 10_000);
      }
    })();
    return () => abort.abort();
  }, [client, queries, enabled, onUnauthenticated]);
  return state;
}
