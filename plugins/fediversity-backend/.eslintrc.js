module.exports = require('@backstage/cli/config/eslint-factory')(__dirname, {
  testRules: {
    // Tests that need root are declared with `itAsRoot` (`it` as root, `it.skip` otherwise).
    'jest/no-standalone-expect': ['error', { additionalTestBlockFunctions: ['itAsRoot'] }],
  },
});
