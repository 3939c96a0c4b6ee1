import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { HttpServices } from '../services.js';
import { presentDevicePush, presentPush, presentTarget } from './present.js';
import {
  commonErrors,
  DeviceParams,
  DevicePush,
  FirmwareParams,
  Push,
  PushCreate,
  PushParams,
  PushTargetPage,
  PushTargetQuery,
} from '../../contract/schemas.js';
import { answered, bodyFields, either, param } from './audit-recorder.js';

const tags = ['pushes'];

export const pushRoutes: FastifyPluginAsyncTypebox<{ services: HttpServices }> = async (app, { services }) => {
  app.post(
    '/firmwares/:fwId/push',
    {
      config: {
        audit: {
          kind: 'push.create',
          target: either(answered('push', 'pushId'), param('firmware', 'fwId')),
          details: (seen) => ({
            ...bodyFields('selection', 'force', 'queueOffline')(seen),
            fwId: String(seen.params['fwId']),
            ...(Array.isArray(seen.body['deviceIds']) ? { devices: seen.body['deviceIds'].length } : {}),
          }),
        },
      },
      schema: {
        tags,
        summary: 'Push a firmware to devices',
        description:
          'Names devices by `deviceIds` (at most 10,000) or by `selection` (`all` or `online` devices of the prototype). Only connected devices get it, over TCP or MQTT; offline devices are answered `offline`, or `queued` with `queueOffline` and sent once when they next connect. A device whose firmware is not a prerequisite (or, under `increasing`, not lower) is answered `incompatible` unless `force`. The answer is the push summary, given once the push is recorded; the commands go out in the background and each device then moves through sent, delivered, downloading, upgraded or failed (see `GET /pushes/{pushId}/targets` and the `push.progress` events).',
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
        summary: 'Get a push: its derived status and the count of devices in each status',
        params: PushParams,
        response: { 200: Push, ...commonErrors },
      },
    },
    async (request) => presentPush(await services.pushes.get(request.actor, request.params.pushId)),
  );

  app.get(
    '/pushes/:pushId/targets',
    {
      schema: {
        tags,
        summary: "A page of a push's devices, in device id order, each with its status history",
        params: PushParams,
        querystring: PushTargetQuery,
        response: { 200: PushTargetPage, ...commonErrors },
      },
    },
    async (request) => {
      const page = await services.pushes.targets(request.actor, request.params.pushId, request.query);
      return { targets: page.targets.map(presentTarget), nextCursor: page.nextCursor ?? null };
    },
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
        summary: "A device's push history, newest first, each push with this device's part in it",
        params: DeviceParams,
        response: { 200: Type.Array(DevicePush), ...commonErrors },
      },
    },
    async (request) =>
      (await services.pushes.listByDevice(request.actor, request.params.deviceId)).map(presentDevicePush),
  );
};
