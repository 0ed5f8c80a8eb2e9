/**
 * The open-source licence policy of the architecture notes, as code.
 *
 * An app definition's `spec.license` is an SPDX licence expression. It passes when the licence the portal may
 * use the software under is on the allow-list below: every id is approved by the OSI and/or listed as free by the
 * FSF. The list is deliberately short and explicit; adding an id is a reviewed change. Source-available licences
 * (BUSL-1.1, SSPL-1.0, Elastic-2.0, Commons Clause) and `LicenseRef-*` ids are rejected.
 */

/** SPDX ids of open-source licences (OSI approved and/or FSF free). Only current, non-deprecated ids. */
export const OPEN_SOURCE_LICENSE_IDS: ReadonlySet<string> = new Set([
  '0BSD',
  'AGPL-3.0-only',
  'AGPL-3.0-or-later',
  'Apache-2.0',
  'Artistic-2.0',
  'BSD-2-Clause',
  'BSD-3-Clause',
  'BSL-1.0',
  'CDDL-1.0',
  'EPL-2.0',
  'EUPL-1.2',
  'GPL-2.0-only',
  'GPL-2.0-or-later',
  'GPL-3.0-only',
  'GPL-3.0-or-later',
  'ISC',
  'LGPL-2.1-only',
  'LGPL-2.1-or-later',
  'LGPL-3.0-only',
  'LGPL-3.0-or-later',
  'MIT',
  'MIT-0',
  'MPL-2.0',
  'OSL-3.0',
  'PostgreSQL',
  'Unlicense',
  'Zlib',
]);

/** SPDX exception ids allowed after `WITH`. Exceptions only grant extra permissions, so none makes a licence closed. */
export const OPEN_SOURCE_LICENSE_EXCEPTION_IDS: ReadonlySet<string> = new Set([
  'Autoconf-exception-3.0',
  'Bison-exception-2.2',
  'Classpath-exception-2.0',
  'Font-exception-2.0',
  'GCC-exception-3.1',
  'Linux-syscall-note',
  'LLVM-exception',
  'OpenSSL-exception',
  'Universal-FOSS-exception-1.0',
]);

/** The outcome of checking one SPDX expression against the policy. */
export type LicenseCheck =
  | { accepted: true }
  | { accepted: false; reason: string };

type Node =
  | { kind: 'license'; id: string; exception?: string }
  | { kind: 'and' | 'or'; left: Node; right: Node };

const OPERATORS = new Set(['AND', 'OR', 'WITH']);

function tokenize(expression: string): string[] {
  return expression
    .replace(/[()]/g, ' $& ')
    .split(/\s+/)
    .filter(token => token.length > 0);
}

/**
 * Recursive-descent parser for the simple SPDX expression grammar:
 * `or := and ('OR' and)*`, `and := term ('AND' term)*`, `term := id ('WITH' exception)? | '(' or ')'`.
 * AND binds tighter than OR, as the SPDX specification says.
 */
class ExpressionParser {
  private position = 0;

  constructor(private readonly tokens: string[]) {}

  parse(): Node {
    if (this.tokens.length === 0) {
      throw new Error('the expression is empty');
    }
    const node = this.parseOr();
    if (this.position < this.tokens.length) {
      throw new Error(`unexpected "${this.tokens[this.position]}"`);
    }
    return node;
  }

  private parseOr(): Node {
    let node = this.parseAnd();
    while (this.peek() === 'OR') {
      this.position += 1;
      node = { kind: 'or', left: node, right: this.parseAnd() };
    }
    return node;
  }

  private parseAnd(): Node {
    let node = this.parseTerm();
    while (this.peek() === 'AND') {
      this.position += 1;
      node = { kind: 'and', left: node, right: this.parseTerm() };
    }
    return node;
  }

  private parseTerm(): Node {
    const token = this.next('a licence id or "("');
    if (token === '(') {
      const inner = this.parseOr();
      if (this.next('")"') !== ')') {
        throw new Error('missing ")"');
      }
      return inner;
    }
    if (token === ')' || OPERATORS.has(token)) {
      throw new Error(`expected a licence id, found "${token}"`);
    }
    if (this.peek() === 'WITH') {
      this.position += 1;
      const exception = this.next('an exception id after WITH');
      if (exception === '(' || exception === ')' || OPERATORS.has(exception)) {
        throw new Error(`expected an exception id after WITH, found "${exception}"`);
      }
      return { kind: 'license', id: token, exception };
    }
    return { kind: 'license', id: token };
  }

  private peek(): string | undefined {
    return this.tokens[this.position];
  }

  private next(expected: string): string {
    const token = this.tokens[this.position];
    if (token === undefined) {
      throw new Error(`expected ${expected} at the end`);
    }
    this.position += 1;
    return token;
  }
}

function evaluate(node: Node): LicenseCheck {
  switch (node.kind) {
    case 'license':
      if (!OPEN_SOURCE_LICENSE_IDS.has(node.id)) {
        return {
          accepted: false,
          reason: `"${node.id}" is not on the allow-list of OSI/FSF open-source SPDX licence ids`,
        };
      }
      if (node.exception !== undefined && !OPEN_SOURCE_LICENSE_EXCEPTION_IDS.has(node.exception)) {
        return {
          accepted: false,
          reason: `"${node.exception}" is not a known SPDX licence exception`,
        };
      }
      return { accepted: true };
    case 'and': {
      // Software under "A AND B" must honour both, so both must be open source.
      const left = evaluate(node.left);
      return left.accepted ? evaluate(node.right) : left;
    }
    case 'or': {
      // "A OR B" lets us choose, so one open-source alternative is enough.
      const left = evaluate(node.left);
      if (left.accepted) {
        return left;
      }
      const right = evaluate(node.right);
      return right.accepted ? right : left;
    }
    default:
      throw new Error('unreachable');
  }
}

/** Checks an SPDX licence expression (ids combined with AND, OR, WITH and parentheses) against the policy. */
export function checkOpenSourceLicense(expression: string): LicenseCheck {
  let tree: Node;
  try {
    tree = new ExpressionParser(tokenize(expression)).parse();
  } catch (error) {
    return {
      accepted: false,
      reason: `"${expression}" is not a valid SPDX licence expression: ${(error as Error).message}`,
    };
  }
  return evaluate(tree);
}
