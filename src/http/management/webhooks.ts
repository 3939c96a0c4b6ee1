import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { DeliveryWithAttempts, WebhookService } from '../../domain/services/webhooks.js';
import { answered, bodyFields, param } from './audit-recorder.js';
import type {
  WebhookDelivery as DeliveryRecord,
  WebhookSubscription as Subscription,
} from '../../domain/webhooks/model.js';
import {
  commonErrors,
  WebhookDelivery,
  WebhookDeliveryPage,
  WebhookDeliveryParams,
  WebhookDeliveryQuery,
  WebhookParams,
  WebhookSubscription,
  WebhookSubscriptionCreate,
  WebhookSubscriptionCreated,
  WebhookSubscriptionPatch,
  type WebhookDeliveryBody,
  type WebhookSubscriptionBody,
} from '../../contract/schemas.js';

const tags = ['webhooks'];

export const presentSubscription = (subscription: Subscription): WebhookSubscriptionBody => ({
  webhookId: subscription.id,
  url: subscription.url,
  description: subscription.description,
  events: [...subscription.events],
  enabled: subscription.enabled,
  createdBy: subscription.createdBy,
  createdAt: subscription.createdAt.toISOString(),
  updatedAt: subscription.updatedAt.toISOString(),
});

const presentDelivery = ({ delivery, attempts }: { delivery: DeliveryRecord } & Partial<DeliveryWithAttempts>) =>
  ({
    deliveryId: delivery.id,
    webhookId: delivery.subscriptionId,
    eventId: delivery.eventId,
    event: delivery.eventType,
    status: delivery.status,
    attempts: (attempts ?? []).map((attempt) => ({
      attempt: attempt.attempt,
      at: attempt.at.toISOString(),
      durationMs: attempt.durationMs,
      httpStatus: attempt.httpStatus ?? null,
      error: attempt.error ?? null,
      responseExcerpt: attempt.responseExcerpt ?? null,
    })),
    nextAttemptAt: delivery.status === 'pending' ? delivery.nextAttemptAt.toISOString() : null,
    createdAt: delivery.createdAt.toISOString(),
    finishedAt: delivery.finishedAt?.toISOString() ?? null,
    body: delivery.body,
  }) satisfies WebhookDeliveryBody;

/** `/api/v1/webhooks`: subscriptions, their delivery log, redelivery and a test ping (admins only). */
export const webhookRoutes: FastifyPluginAsyncTypebox<{ webhooks: WebhookService }> = async (app, { webhooks }) => {
  app.get(
    '/webhooks',
    {
      schema: {
        tags,
        summary: 'List webhook subscriptions',
        description: 'Admins only; secrets are never listed.',
        response: { 200: Type.Array(WebhookSubscription), ...commonErrors },
      },
    },
    async (request) => (await webhooks.list(request.actor)).map(presentSubscription),
  );

  app.post(
    '/webhooks',
    {
      config: {
        audit: { kind: 'webhook.create', target: answered('webhook', 'webhookId'), details: bodyFields('enabled') },
      },
      schema: {
        tags,
        summary: 'Subscribe a URL to events',
        description:
          'The answer holds `secret`, shown only this once: each delivery carries `Fota-Webhook-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>` (docs/integrations.md). The URL must be http(s) without credentials; loopback and private addresses are refused unless FOTA_WEBHOOK_ALLOW_PRIVATE is true; at most FOTA_WEBHOOK_MAX_SUBSCRIPTIONS subscriptions.',
        body: WebhookSubscriptionCreate,
        response: { 201: WebhookSubscriptionCreated, ...commonErrors },
      },
    },
    async (request, reply) => {
      const { subscription, secret } = await webhooks.create(request.actor, request.body);
      return reply.code(201).send({ ...presentSubscription(subscription), secret });
    },
  );

  app.get(
    '/webhooks/:webhookId',
    {
      schema: {
        tags,
        summary: 'Get a webhook subscription',
        params: WebhookParams,
        response: { 200: WebhookSubscription, ...commonErrors },
      },
    },
    async (request) => presentSubscription(await webhooks.get(request.actor, request.params.webhookId)),
  );

  app.patch(
    '/webhooks/:webhookId',
    {
      config: {
        audit: { kind: 'webhook.update', target: param('webhook', 'webhookId'), details: bodyFields('enabled') },
      },
      schema: {
        tags,
        summary: 'Change the URL, description, events or enabled of a subscription',
        params: WebhookParams,
        body: WebhookSubscriptionPatch,
        response: { 200: WebhookSubscription, ...commonErrors },
      },
    },
    async (request) =>
      presentSubscription(await webhooks.update(request.actor, request.params.webhookId, request.body)),
  );

  app.delete(
    '/webhooks/:webhookId',
    {
      config: { audit: { kind: 'webhook.delete', target: param('webhook', 'webhookId') } },
      schema: {
        tags,
        summary: 'Delete a subscription with its deliveries',
        description: 'Pending deliveries are dropped with it.',
        params: WebhookParams,
        response: { 204: Type.Null(), ...commonErrors },
      },
    },
    async (request, reply) => {
      await webhooks.delete(request.actor, request.params.webhookId);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/webhooks/:webhookId/secret',
    {
      config: { audit: { kind: 'webhook.rotate-secret', target: param('webhook', 'webhookId') } },
      schema: {
        tags,
        summary: 'Rotate the signing secret',
        description: 'The new secret is in the answer, only this once; every try from now on is signed with it.',
        params: WebhookParams,
        response: { 200: WebhookSubscriptionCreated, ...commonErrors },
      },
    },
    async (request) => {
      const { subscription, secret } = await webhooks.rotateSecret(request.actor, request.params.webhookId);
      return { ...presentSubscription(subscription), secret };
    },
  );

  app.post(
    '/webhooks/:webhookId/ping',
    {
      config: { audit: { kind: 'webhook.ping', target: param('webhook', 'webhookId') } },
      schema: {
        tags,
        summary: 'Send a test ping',
        description: 'Queues a `ping` delivery, tried once (see its attempts in the delivery log).',
        params: WebhookParams,
        response: { 202: WebhookDelivery, ...commonErrors },
      },
    },
    async (request, reply) =>
      reply.code(202).send(presentDelivery({ delivery: await webhooks.ping(request.actor, request.params.webhookId) })),
  );

  app.get(
    '/webhooks/:webhookId/deliveries',
    {
      schema: {
        tags,
        summary: "A page of a subscription's deliveries, newest first, each with its attempts",
        params: WebhookParams,
        querystring: WebhookDeliveryQuery,
        response: { 200: WebhookDeliveryPage, ...commonErrors },
      },
    },
    async (request) => {
      const page = await webhooks.deliveries(request.actor, request.params.webhookId, request.query);
      return { deliveries: page.deliveries.map(presentDelivery), nextCursor: page.nextCursor ?? null };
    },
  );

  app.get(
    '/webhooks/:webhookId/deliveries/:deliveryId',
    {
      schema: {
        tags,
        summary: 'One delivery with its attempts',
        params: WebhookDeliveryParams,
        response: { 200: WebhookDelivery, ...commonErrors },
      },
    },
    async (request) =>
      presentDelivery(await webhooks.delivery(request.actor, request.params.webhookId, request.params.deliveryId)),
  );

  app.post(
    '/webhooks/:webhookId/deliveries/:deliveryId/redeliver',
    {
      config: { audit: { kind: 'webhook.redeliver', target: param('webhook-delivery', 'deliveryId') } },
      schema: {
        tags,
        summary: 'Send a delivery again',
        description:
          'The same delivery id and body, pending and due now, whatever it ended in; past the retry limits it gets this one try.',
        params: WebhookDeliveryParams,
        response: { 202: WebhookDelivery, ...commonErrors },
      },
    },
    async (request, reply) => {
      const { webhookId, deliveryId } = request.params;
      await webhooks.redeliver(request.actor, webhookId, deliveryId);
      return reply.code(202).send(presentDelivery(await webhooks.delivery(request.actor, webhookId, deliveryId)));
    },
  );
};
