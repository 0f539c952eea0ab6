/** One command runs every suite: unit specs beside sources, end-to-end, browser, and chaos (faults, hostile input). */
const tsJest = ['ts-jest', { tsconfig: 'test/tsconfig.json' }];
/**
 * openid-client 6 and its dependencies are ES modules only. Node loads them through `require`, but
 * Jest's module system does not, so these packages (and only these) are compiled to CommonJS too.
 */
const ESM_ONLY = ['openid-client', 'oauth4webapi', 'jose'];
const common = {
  transform: {
    '^.+\\.ts$': tsJest,
    [`/node_modules/(${ESM_ONLY.join('|')})/.+\\.js$`]: ['ts-jest', { tsconfig: 'test/tsconfig.esm-deps.json' }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'json'],
  testEnvironment: 'node',
};

module.exports = {
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  maxWorkers: 2,
  testTimeout: 60000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'] },
    { ...common, displayName: 'browser', testMatch: ['<rootDir>/test/browser/**/*.browser-spec.ts'] },
    { ...common, displayName: 'chaos', testMatch: ['<rootDir>/test/chaos/**/*.chaos-spec.ts'] },
  ],
};
