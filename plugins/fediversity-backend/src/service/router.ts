import { MiddlewareFactory } from '@backstage/backend-defaults/rootHttpRouter';
import {
  HttpAuthService,
  LoggerService,
  PermissionsService,
  RootConfigService,
} from '@backstage/backend-plugin-api';
import express from 'express';
import Router from 'express-promise-router';
import { JobService } from '../jobs/JobService';
import { createJobsRouter } from './jobsRouter';

export interface RouterOptions {
  logger: LoggerService;
  config: RootConfigService;
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
  jobs: JobService;
}

export async function createRouter(options: RouterOptions): Promise<express.Router> {
  const router = Router();
  router.use(express.json());

  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.use(createJobsRouter(options));

  router.use(MiddlewareFactory.create(options).error());
  return router;
}
