import type { Client } from 'aedes';
import type { FastifyBaseLogger } from 'fastify';
import type { EventBus } from '../../domain/events.js';
import type { DeviceConnection } from '../../domain/gateway.js';
import type { DeviceCommand } from '../../domain/model.js';
import type { BoundDevice, ClientSession } from './client-session.js';
import { formatFotaPayload, fotaTopic, redactTopic } from './topics.js';

/**
 * A device online over MQTT: one client subscribed under the device's own prefix. FOTA commands
 * go to that client alone, on `mcs/:deviceId/:deviceKey/FOTA`, at QoS 1 unless the client's
 * matching subscription asked for QoS 0. The PUBACK of a QoS 1 command is told to the bus as
 * `device.acknowledged`.
 */
export class MqttDeviceConnection implements DeviceConnection {
  readonly protocol = 'mqtt' as const;
  readonly deviceId: string;

  constructor(
    private readonly client: Client,
    private readonly session: ClientSession,
    private readonly device: BoundDevice,
    private readonly events: EventBus,
    private readonly logger: FastifyBaseLogger,
  ) {
    this.deviceId = device.deviceId;
  }

  async send(command: DeviceCommand): Promise<void> {
    const payload = Buffer.from(formatFotaPayload(command));
    if (this.client.closed) throw new Error(`the MQTT connection of device ${this.deviceId} is closed`);
    const topic = fotaTopic(this.device);
    const granted = this.session.grantedQos(topic);
    if (granted === undefined) {
      throw new Error(`device ${this.deviceId} has no subscription that matches ${redactTopic(topic)}`);
    }
    const qos = granted === 0 ? 0 : 1;
    if (qos === 1)
      this.session.expectPuback(
        payload,
        this.once(() => this.acknowledged(command)),
      );
    try {
      await new Promise<void>((resolve, reject) => {
        this.client.publish({ cmd: 'publish', topic, payload, qos, retain: false, dup: false }, (error) =>
          error ? reject(error) : resolve(),
        );
      });
      // aedes reports a write to a closing client as a client error, not to this callback.
      if (this.client.closed) throw new Error(`the MQTT connection of device ${this.deviceId} closed while sending`);
    } catch (error) {
      this.session.forget(payload);
      throw error;
    }
    this.logger.info({ deviceId: this.deviceId, version: command.version, qos }, 'FOTA command published over MQTT');
  }

  close(reason: string): void {
    this.logger.info({ deviceId: this.deviceId, clientId: this.session.clientId, reason }, 'closing MQTT connection');
    this.client.close();
  }

  private acknowledged(command: DeviceCommand): void {
    this.events.publish({
      type: 'device.acknowledged',
      deviceId: this.deviceId,
      pushId: command.pushId,
      firmwareId: command.firmwareId,
      at: new Date(),
    });
  }

  private once(onDelivered: () => void): () => void {
    let called = false;
    return () => {
      if (called) return;
      called = true;
      try {
        onDelivered();
      } catch (error) {
        this.logger.error({ err: error, deviceId: this.deviceId }, 'FOTA delivery callback failed');
      }
    };
  }
}
