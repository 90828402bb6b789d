// Unit specs beside the code (*.spec.ts) and e2e suites in test/ (*.e2e-spec.ts).
// SWC strips the types (the build and `npm run typecheck` check them), so a
// cold run starts in seconds. Nest 12 ships ES modules only and Jest cannot
// require() them, so the tests run as ES modules (node
// --experimental-vm-modules, see package.json).
import { readFileSync } from 'fs';

// Every deadline of the e2e suites derives from this one setting (see
// test/support/deadline.ts): how long a test waits for any one thing before
// it fails. Generous, so that a busy machine fails nothing; raise it for a
// slower one. Set here so that every test worker inherits it.
process.env.TEST_DEADLINE_MS ||= '60000';
const DEADLINE_MS = Number(process.env.TEST_DEADLINE_MS);

/** @p2p-pubsub/* imports resolve to the packages' sources, as in tsconfig.json. */
function moduleNameMapper() {
  const tsconfig = JSON.parse(
    readFileSync(new URL('./tsconfig.json', import.meta.url), 'utf8').replace(/^\s*\/\/.*$/gm, ''),
  );
  return Object.fromEntries(
    Object.entries(tsconfig.compilerOptions.paths).map(([alias, [target]]) => [
      `^${alias.replace('/*', '/(.*)')}$`,
      `<rootDir>/${target.replace(/^\.\//, '').replace('/*', '/$1')}`,
    ]),
  );
}

const swc = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2023',
    keepClassNames: true,
  },
  module: { type: 'es6' },
  sourceMaps: 'inline',
};

const shared = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  rootDir: '.',
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', swc] },
  moduleNameMapper: moduleNameMapper(),
  setupFilesAfterEnv: ['<rootDir>/test/support/every-test-asserts.ts'],
};

export default {
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/**/src/**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      setupFilesAfterEnv: [...shared.setupFilesAfterEnv, '<rootDir>/test/support/setup.ts'],
    },
  ],
  // A test waits for several things in turn, each within the deadline; this
  // only catches a test that waits on something without one.
  testTimeout: 3 * DEADLINE_MS,
  // e2e suites start real processes; on two cores, two suites at a time.
  maxWorkers: 2,
};
