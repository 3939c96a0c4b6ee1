import type { DomainEvent } from '../events.js';
import type { WebhookEventType } from './model.js';

/** What a domain event is as a webhook: its public type and its `data`, or nothing to send. */
export function webhookEventOf(
  event: DomainEvent,
): { readonly type: WebhookEventType; readonly data: Record<string, unknown> } | undefined {
  switch (event.type) {
    case 'firmware.uploaded':
      return {
        type: 'firmware.uploaded',
        data: {
          fwId: event.firmwareId,
          prototypeId: event.prototypeId,
          name: event.name,
          version: event.version,
          size: event.size,
          sha256: event.sha256,
          createdBy: event.createdBy,
        },
      };
    case 'push.created':
      return {
        type: 'push.created',
        data: {
          pushId: event.pushId,
          fwId: event.firmwareId,
          prototypeId: event.prototypeId,
          version: event.version,
          createdBy: event.createdBy,
          counts: event.counts,
        },
      };
    case 'push.progress':
      if (event.status !== 'upgraded' && event.status !== 'failed') return undefined;
      return {
        type: event.status === 'upgraded' ? 'device.upgraded' : 'device.failed',
        data: {
          deviceId: event.deviceId,
          pushId: event.pushId,
          fwId: event.firmwareId,
          reason: event.reason ?? null,
        },
      };
    default:
      return undefined;
  }
}

/** The body every delivery posts: `{id, type, createdAt, data}`, serialized once and signed as is. */
export function webhookBody(eventId: string, type: string, at: Date, data: Record<string, unknown>): string {
  return JSON.stringify({ id: eventId, type, createdAt: at.toISOString(), data });
}
