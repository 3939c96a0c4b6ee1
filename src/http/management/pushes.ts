import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { HttpServices } from '../services.js';
import { presentPush } from './present.js';
import { commonErrors, DeviceParams, FirmwareParams, Push, PushCreate, PushParams } from './schemas.js';

const tags = ['pushes'];

export const pushRoutes: FastifyPluginAsyncTypebox<{ services: HttpServices }> = async (app, { services }) => {
  app.post(
    '/firmwares/:fwId/push',
    {
      schema: {
        tags,
        summary: 'Push a firmware to devices',
        description:
          'Only connected devices get it, over TCP or MQTT (status `sent`); offline devices are answered `offline`, or `queued` with `queueOffline` and sent once when they next connect. A device whose firmware is not a prerequisite (or, under `increasing`, not lower) is answered `incompatible` unless `force`. Each device then moves through delivered, downloading, upgraded or failed.',
        params: FirmwareParams,
        body: PushCreate,
        response: { 201: Push, ...commonErrors },
      },
    },
    async (request, reply) => {
      const push = await services.pushes.create(request.actor, request.params.fwId, request.body);
      return reply.code(201).send(presentPush(push));
    },
  );

  app.get(
    '/pushes/:pushId',
    {
      schema: {
        tags,
        summary: 'Get a push and the status of each device',
        params: PushParams,
        response: { 200: Push, ...commonErrors },
      },
    },
    async (request) => presentPush(await services.pushes.get(request.actor, request.params.pushId)),
  );

  app.get(
    '/firmwares/:fwId/pushes',
    {
      schema: {
        tags,
        summary: "A firmware's pushes, newest first",
        params: FirmwareParams,
        response: { 200: Type.Array(Push), ...commonErrors },
      },
    },
    async (request) => (await services.pushes.listByFirmware(request.actor, request.params.fwId)).map(presentPush),
  );

  app.get(
    '/devices/:deviceId/pushes',
    {
      schema: {
        tags,
        summary: "A device's push history, newest first (each push with only this device's target)",
        params: DeviceParams,
        response: { 200: Type.Array(Push), ...commonErrors },
      },
    },
    async (request) => (await services.pushes.listByDevice(request.actor, request.params.deviceId)).map(presentPush),
  );
};
