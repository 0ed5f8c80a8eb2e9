import { checkOpenSourceLicense } from './openSourceLicenses';

describe('checkOpenSourceLicense', () => {
  it.each([
    'AGPL-3.0-or-later',
    'MPL-2.0',
    'GPL-2.0-only WITH Classpath-exception-2.0',
    'MIT OR BUSL-1.1',
    'BUSL-1.1 OR Apache-2.0',
    'MIT AND (Apache-2.0 OR BSD-3-Clause)',
    '(GPL-3.0-or-later)',
  ])('accepts %s', expression => {
    expect(checkOpenSourceLicense(expression)).toEqual({ accepted: true });
  });

  it.each([
    ['BUSL-1.1', '"BUSL-1.1" is not on the allow-list'],
    ['SSPL-1.0', '"SSPL-1.0" is not on the allow-list'],
    ['LicenseRef-Proprietary', '"LicenseRef-Proprietary" is not on the allow-list'],
    ['MIT AND Elastic-2.0', '"Elastic-2.0" is not on the allow-list'],
    ['BUSL-1.1 OR SSPL-1.0', '"BUSL-1.1" is not on the allow-list'],
    ['GPL-3.0-only WITH Commons-Clause', '"Commons-Clause" is not a known SPDX licence exception'],
    // Deprecated ids are ambiguous about "or later": the policy wants the explicit current id.
    ['AGPL-3.0', '"AGPL-3.0" is not on the allow-list'],
  ])('rejects %s', (expression, reason) => {
    const result = checkOpenSourceLicense(expression);
    expect(result.accepted).toBe(false);
    expect(!result.accepted && result.reason).toContain(reason);
  });

  it.each([
    ['', 'the expression is empty'],
    ['MIT AND', 'expected a licence id or "(" at the end'],
    ['(MIT OR ISC', 'expected ")" at the end'],
    ['MIT ISC', 'unexpected "ISC"'],
    ['MIT WITH OR', 'expected an exception id after WITH, found "OR"'],
    ['AND MIT', 'expected a licence id, found "AND"'],
  ])('rejects the malformed expression %p', (expression, reason) => {
    const result = checkOpenSourceLicense(expression);
    expect(result).toEqual({
      accepted: false,
      reason: `"${expression}" is not a valid SPDX licence expression: ${reason}`,
    });
  });
});
