import type { Protocol } from './model.js';
import type { PushStatus } from './push.js';

/** What happened, for the console's live view and for services that react to devices. */
export type DomainEvent =
  | {
      readonly type: 'device.online' | 'device.offline';
      readonly deviceId: string;
      readonly prototypeId: string;
      readonly protocol: Protocol;
      readonly at: Date;
    }
  | {
      readonly type: 'device.reported';
      readonly deviceId: string;
      readonly firmwareId: string;
      readonly version: string;
      readonly at: Date;
    }
  | { readonly type: 'device.fotaing'; readonly deviceId: string; readonly at: Date }
  /** The device acknowledged the command of a push (MQTT QoS 1 PUBACK). */
  | {
      readonly type: 'device.acknowledged';
      readonly deviceId: string;
      readonly pushId: string;
      readonly firmwareId: string;
      readonly at: Date;
    }
  /** The first bytes of a pushed download URL went out: that device's part in that push. */
  | {
      readonly type: 'firmware.download';
      readonly deviceId: string;
      readonly pushId: string;
      readonly firmwareId: string;
      readonly at: Date;
    }
  /** A firmware was stored (not a retry of a stored upload). */
  | {
      readonly type: 'firmware.uploaded';
      readonly firmwareId: string;
      readonly prototypeId: string;
      readonly name: string;
      readonly version: string;
      readonly size: number;
      readonly sha256: string;
      readonly createdBy: string;
      readonly at: Date;
    }
  /** A push was planned and recorded; its targets' statuses follow as `push.progress`. */
  | {
      readonly type: 'push.created';
      readonly pushId: string;
      readonly firmwareId: string;
      readonly prototypeId: string;
      readonly version: string;
      readonly createdBy: string;
      readonly counts: Readonly<Record<string, number>>;
      readonly at: Date;
    }
  /**
   * Credentials of a principal changed or ended, after the change is stored: a user deleted or given
   * another role or password (`userId`: their sessions and tokens), an API token revoked (`tokenId`),
   * a session signed out (`sessionId`, see `sessionIdOf`). Live streams of that principal check their
   * credentials again at once; nothing else reacts. No secret travels: a session is named by a hash.
   */
  | {
      readonly type: 'access.changed';
      readonly userId?: string | undefined;
      readonly tokenId?: string | undefined;
      readonly sessionId?: string | undefined;
      readonly at: Date;
    }
  | {
      readonly type: 'push.progress';
      readonly pushId: string;
      readonly deviceId: string;
      readonly firmwareId: string;
      readonly status: PushStatus;
      readonly reason: string | undefined;
      readonly at: Date;
    };

export type EventListener = (event: DomainEvent) => void | Promise<void>;

/** Publishes domain events to listeners; in one process now, across nodes through a bus later. */
export interface EventBus {
  publish(event: DomainEvent): void;
  /** Returns the function that unsubscribes. */
  subscribe(listener: EventListener): () => void;
}

/** The in-process bus. A listener that throws or rejects is reported and does not stop others. */
export class LocalEventBus implements EventBus {
  private readonly listeners = new Set<EventListener>();

  constructor(private readonly onListenerError: (error: unknown, event: DomainEvent) => void) {}

  publish(event: DomainEvent): void {
    for (const listener of this.listeners) {
      try {
        const result = listener(event);
        if (result instanceof Promise) result.catch((error: unknown) => this.onListenerError(error, event));
      } catch (error) {
        this.onListenerError(error, event);
      }
    }
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
