/*
 * Shared by the file commands: the demo host supports exactly the argv forms the portal runs, and
 * answers anything else like a real tool answers bad usage (a message and exit 1).
 */

/**
 * The operands after an exact option prefix (which ends in `--`), or undefined when the argv has
 * another form or no operand.
 */
export function operandsAfter(args: readonly string[], prefix: readonly string[]): string[] | undefined {
  if (args.length <= prefix.length) return undefined;
  if (!prefix.every((word, index) => args[index] === word)) return undefined;
  return args.slice(prefix.length);
}

/** `<tool>: demo host supports only `<forms>``, exit 1. */
export function unsupportedForm(stderr: (data: string) => void, tool: string, forms: readonly string[]): number {
  stderr(`${tool}: this demo host supports only ${forms.map(form => `\`${form}\``).join(' and ')}\n`);
  return 1;
}

/** The text coreutils print for a failed file operation (`No such file or directory`). */
export function fileErrorText(error: unknown): string {
  if ((error as Error).name === 'NotAllowedError') return 'Permission denied';
  switch ((error as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'No such file or directory';
    case 'ENOTDIR':
      return 'Not a directory';
    case 'EISDIR':
      return 'Is a directory';
    case 'EEXIST':
      return 'File exists';
    case 'ENOTEMPTY':
      return 'Directory not empty';
    case 'EACCES':
    case 'EPERM':
      return 'Permission denied';
    case 'ENOSPC':
      return 'No space left on device';
    default:
      return (error as Error).message;
  }
}
