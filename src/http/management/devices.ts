import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { HttpServices } from '../services.js';
import { presentDevice } from './present.js';
import {
  commonErrors,
  Device,
  DeviceCreate,
  DeviceParams,
  DevicePatch,
  PrototypeParams,
} from '../../contract/schemas.js';
import { answered, bodyFields, either, param } from './audit-recorder.js';

const tags = ['devices'];

export const deviceRoutes: FastifyPluginAsyncTypebox<{ services: HttpServices }> = async (app, { services }) => {
  app.post(
    '/prototypes/:pid/devices',
    {
      config: {
        audit: {
          kind: 'device.create',
          target: either(answered('device', 'deviceId'), param('prototype', 'pid')),
          details: (seen) => ({ ...bodyFields('name')(seen), prototypeId: String(seen.params['pid']) }),
        },
      },
      schema: {
        tags,
        summary: 'Create a test device',
        description: 'The answer holds the device key, 16 random letters and digits.',
        params: PrototypeParams,
        body: DeviceCreate,
        response: { 201: Device, ...commonErrors },
      },
    },
    async (request, reply) => {
      const device = await services.devices.create(request.actor, request.params.pid, request.body);
      return reply.code(201).send(presentDevice(await services.devices.overviewOf(device, [])));
    },
  );

  app.get(
    '/prototypes/:pid/devices',
    {
      schema: {
        tags,
        summary: "List a prototype's devices",
        params: PrototypeParams,
        response: { 200: Type.Array(Device), ...commonErrors },
      },
    },
    async (request) => (await services.devices.listOverviews(request.actor, request.params.pid)).map(presentDevice),
  );

  app.get(
    '/devices/:deviceId',
    { schema: { tags, summary: 'Get a device', params: DeviceParams, response: { 200: Device, ...commonErrors } } },
    async (request) => presentDevice(await services.devices.overview(request.actor, request.params.deviceId)),
  );

  app.patch(
    '/devices/:deviceId',
    {
      config: { audit: { kind: 'device.update', target: param('device', 'deviceId'), details: bodyFields('name') } },
      schema: {
        tags,
        summary: 'Change a device',
        params: DeviceParams,
        body: DevicePatch,
        response: { 200: Device, ...commonErrors },
      },
    },
    async (request) => {
      await services.devices.update(request.actor, request.params.deviceId, request.body);
      return presentDevice(await services.devices.overview(request.actor, request.params.deviceId));
    },
  );

  app.delete(
    '/devices/:deviceId',
    {
      config: { audit: { kind: 'device.delete', target: param('device', 'deviceId') } },
      schema: {
        tags,
        summary: 'Delete a device',
        params: DeviceParams,
        response: { 204: Type.Null(), ...commonErrors },
      },
    },
    async (request, reply) => {
      await services.devices.delete(request.actor, request.params.deviceId);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/devices/:deviceId/key',
    {
      // Never the key, old or new.
      config: { audit: { kind: 'device.rotate-key', target: param('device', 'deviceId') } },
      schema: {
        tags,
        summary: "Rotate a device's key",
        description: 'The old key stops working at once; the answer holds the new one.',
        params: DeviceParams,
        response: { 200: Device, ...commonErrors },
      },
    },
    async (request) => {
      await services.devices.rotateKey(request.actor, request.params.deviceId);
      return presentDevice(await services.devices.overview(request.actor, request.params.deviceId));
    },
  );
};
