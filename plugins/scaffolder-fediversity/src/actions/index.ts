import { TemplateAction } from '@backstage/plugin-scaffolder-node';

/** Every fediversity:* action, built from injected dependencies. */
export function createActions(): TemplateAction<any, any, any>[] {
  return [];
}
