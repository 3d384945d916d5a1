/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/packages/hardware/test'],
  // Resolve @attestor/* to the packages' TypeScript sources (their "@attestor/source" export condition),
  // as tsx and the function bundler do: tests run against the code, not against a stale dist/.
  testEnvironmentOptions: { customExportConditions: ['node', 'node-addons', '@attestor/source'] },
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|m?j)sx?$': ['@swc/jest'] },
  // jose 6 ships only ESM; letting swc transform it lets tests check our tokens with an independent JOSE library.
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  setupFilesAfterEnv: ['aws-cdk-lib/testhelpers/jest-autoclean'],
  testTimeout: 30000,
  // Integration suites each start their own local cloud on ephemeral ports; two workers match the machine.
  maxWorkers: 2,
};
