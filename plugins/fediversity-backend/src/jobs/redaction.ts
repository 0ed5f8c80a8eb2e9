/**
 * Keeps secret values out of job events, errors and API responses.
 * Two nets: known secret values (registered by whoever resolves them) are replaced wherever they appear
 * in a string, and any string under a secret-sounding key is masked, whatever its value.
 */

export const REDACTED = '[REDACTED]';

/** Keys whose string values are treated as secrets. */
const SECRET_KEY = /pass(word|phrase)?|secret|token|private[_-]?key|credential|api[_-]?key/i;

/** Shorter values would redact ordinary words; secrets that short are not secrets. */
const MIN_SECRET_LENGTH = 6;

export class Redactor {
  private readonly values = new Set<string>();

  constructor(values: Iterable<string> = [], private readonly parent?: Redactor) {
    for (const value of values) this.add(value);
  }

  /** Registers a secret value to be redacted from now on. */
  add(value: string) {
    if (typeof value === 'string' && value.length >= MIN_SECRET_LENGTH) this.values.add(value);
  }

  /** A redactor that knows this one's values plus its own (one per job run). */
  child(): Redactor {
    return new Redactor([], this);
  }

  /** Known values anywhere, and every string under a secret-sounding key. For events and responses. */
  redact<T>(value: T): T {
    return this.redactValue(value, false, true, this.knownValues()) as T;
  }

  /**
   * Known values only. For checkpoints and outputs, whose keys are the step's own business
   * (a ZFS `receive_resume_token` is no secret, and masking it would break the resume).
   */
  redactKnownValues<T>(value: T): T {
    return this.redactValue(value, false, false, this.knownValues()) as T;
  }

  redactString(text: string): string {
    return replaceKnown(text, this.knownValues());
  }

  /** This redactor's values and its parents', collected once per call: a step's output can hold thousands of strings. */
  private knownValues(): string[] {
    const values = [...this.values];
    return this.parent ? values.concat(this.parent.knownValues()) : values;
  }

  private redactValue(value: unknown, underSecretKey: boolean, byKey: boolean, known: readonly string[]): unknown {
    if (typeof value === 'string') return underSecretKey ? REDACTED : replaceKnown(value, known);
    if (Array.isArray(value)) return value.map(item => this.redactValue(item, underSecretKey, byKey, known));
    if (value instanceof Error) {
      return { name: value.name, message: replaceKnown(value.message, known) };
    }
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [
          key,
          // A secret reference names a secret, it is not one: keep it readable.
          key === 'secretRef'
            ? item
            : this.redactValue(item, underSecretKey || (byKey && SECRET_KEY.test(key)), byKey, known),
        ]),
      );
    }
    return value;
  }
}

function replaceKnown(text: string, known: readonly string[]): string {
  let result = text;
  for (const secret of known) {
    if (result.includes(secret)) result = result.split(secret).join(REDACTED);
  }
  return result;
}

/**
 * Job params may carry references to secrets (`{ secretRef: 'name' }`), never their values.
 * Returns the paths of values under secret-sounding keys that are not references.
 */
export function findSecretValues(value: unknown, path = 'params'): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => findSecretValues(item, `${path}[${i}]`));
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, item]) => {
    const itemPath = `${path}.${key}`;
    if (key === 'secretRef') return [];
    if (SECRET_KEY.test(key) && typeof item === 'string') return [itemPath];
    return findSecretValues(item, itemPath);
  });
}
