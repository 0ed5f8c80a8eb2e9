import { TemplateAction, TemplateExample } from '@backstage/plugin-scaffolder-node';
import { Validator } from 'jsonschema';
import { parse } from 'yaml';

/**
 * Step outputs the examples refer to (`${{ steps.guest.output.node }}`), as earlier steps of a template run on the
 * demo cluster would produce them.
 */
export const SAMPLE_STEP_OUTPUTS: Record<string, unknown> = {
  'steps.guest.output.node': 'pve-a',
  'steps.guest.output.vmid': 101,
  'steps.guest.output.storage': 'local-zfs',
  'steps.guest.output.storageShared': false,
  'steps.reachable.output.ipv4': '10.10.0.101',
  'steps.reachable.output.host': '127.0.0.1',
  'steps.reachable.output.port': 22,
  'steps.reachable.output.username': 'ct-101',
  'steps.reachable.output.hostKey': 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
  'steps.deploy.output.flakeRef': '/etc/nixos#social',
  'steps.register.output.entityRef': 'component:default/mastodon-social-example-org',
};

const EXPRESSION = /^\$\{\{\s*([\w.]+)\s*\}\}$/;

function substitute(value: unknown): unknown {
  if (typeof value === 'string') {
    const match = EXPRESSION.exec(value);
    if (!match) return value;
    if (!(match[1] in SAMPLE_STEP_OUTPUTS)) throw new Error(`No sample value for ${match[1]}`);
    return SAMPLE_STEP_OUTPUTS[match[1]];
  }
  if (Array.isArray(value)) return value.map(substitute);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, substitute(inner)]));
  }
  return value;
}

/** Each example's step input for `action`, with references to earlier steps replaced by sample values. */
export function exampleInputs(action: TemplateAction<any, any, any>, examples: TemplateExample[]) {
  return examples.map(example => {
    const document = parse(example.example) as { steps: Array<{ action: string; input: Record<string, unknown> }> };
    const step = document.steps.find(candidate => candidate.action === action.id);
    if (!step) throw new Error(`Example "${example.description}" has no ${action.id} step`);
    return { description: example.description, input: substitute(step.input) as Record<string, unknown> };
  });
}

/** Validates an input against the action's JSON schema, as the scaffolder does before running a step. */
export function schemaErrors(action: TemplateAction<any, any, any>, input: unknown): string[] {
  return new Validator().validate(input, action.schema!.input as any).errors.map(error => error.stack);
}
