import { MiddlewareFactory } from '@backstage/backend-defaults/rootHttpRouter';
import {
  AuthService,
  BackstageCredentials,
  HttpAuthService,
  LoggerService,
  RootConfigService,
  UserInfoService,
} from '@backstage/backend-plugin-api';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { InputError, NotAllowedError } from '@backstage/errors';
import type { EventsService } from '@backstage/plugin-events-node';
import express from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import { InstanceStore } from './InstanceStore';
import { createInstanceRequestSchema, INSTANCES_TOPIC, listInstancesQuerySchema } from './types';

export interface InstancesRouterOptions {
  store: InstanceStore;
  /** Told about new instances (topic {@link INSTANCES_TOPIC}). */
  events?: Pick<EventsService, 'publish'>;
  httpAuth: HttpAuthService;
  auth: AuthService;
  userInfo: UserInfoService;
  logger: LoggerService;
  config: RootConfigService;
}

/**
 * `POST /instances` records an instance; `GET /instances[?owner=]` and `GET /instances/:id` read them.
 * A user may record instances only for an owner they belong to; a backend service (the scaffolder acting for a
 * user passes the user's credentials, so this is for trusted backends only) may record any.
 */
export function createInstancesRouter(options: InstancesRouterOptions): express.Router {
  const { store, httpAuth, auth, userInfo } = options;
  const router = Router();
  router.use(express.json());

  router.post('/instances', async (req, res) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const request = parse(createInstanceRequestSchema, req.body, 'instance');
    const owner = normalizeRef(request.owner);
    const createdBy = await authorizeOwner(credentials, owner, { auth, userInfo });
    const { instance, created } = await store.create({ ...request, owner }, createdBy);
    if (created) {
      // Best effort: the provider's schedule catches up on a lost event.
      await options.events
        ?.publish({ topic: INSTANCES_TOPIC, eventPayload: { id: instance.id, name: instance.name } })
        .catch(error => options.logger.warn(`Could not announce instance ${instance.name}: ${error}`));
    }
    res.status(created ? 201 : 200).json(instance);
  });

  router.get('/instances', async (req, res) => {
    await httpAuth.credentials(req, { allow: ['user', 'service'] });
    const query = parse(listInstancesQuerySchema, req.query, 'query');
    const owner = query.owner ? normalizeRef(query.owner) : undefined;
    res.json({ items: await store.list({ ...query, owner }) });
  });

  router.get('/instances/:id', async (req, res) => {
    await httpAuth.credentials(req, { allow: ['user', 'service'] });
    res.json(await store.get(req.params.id));
  });

  router.use(MiddlewareFactory.create({ logger: options.logger, config: options.config }).error());
  return router;
}

async function authorizeOwner(
  credentials: BackstageCredentials,
  owner: string,
  services: { auth: AuthService; userInfo: UserInfoService },
): Promise<string> {
  if (services.auth.isPrincipal(credentials, 'user')) {
    const { userEntityRef, ownershipEntityRefs } = await services.userInfo.getUserInfo(credentials);
    const mine = new Set(ownershipEntityRefs.map(normalizeRef));
    if (!mine.has(owner)) {
      throw new NotAllowedError(
        `${userEntityRef} may not record an instance owned by ${owner}: pick an owner you belong to`,
      );
    }
    return userEntityRef;
  }
  if (services.auth.isPrincipal(credentials, 'service')) {
    return credentials.principal.subject;
  }
  throw new NotAllowedError('Recording an instance needs a user or service identity');
}

function normalizeRef(ref: string): string {
  try {
    return stringifyEntityRef(parseEntityRef(ref, { defaultKind: 'group', defaultNamespace: 'default' }));
  } catch (error) {
    throw new InputError(`Invalid entity ref ${JSON.stringify(ref)}: ${(error as Error).message}`);
  }
}

function parse<T extends z.ZodTypeAny>(schema: T, value: unknown, what: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new InputError(
      `Invalid ${what}: ${result.error.issues
        .map(issue => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
        .join('; ')}`,
    );
  }
  return result.data;
}
