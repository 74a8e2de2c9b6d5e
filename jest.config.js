/** Jest in ESM mode (experimental VM modules, see CONTRIBUTING.md): ts-jest transpiles only; `npm run typecheck` checks types. */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false }],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  // Generous: hooks boot real databases, and a suite must pass on a machine whose cores are busy with other work.
  testTimeout: 180000,
  maxWorkers: 2,
};
