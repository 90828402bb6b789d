// Runs before every test, unit and e2e (jest setupFilesAfterEnv): a test
// that makes no assertion fails instead of passing by default.
beforeEach(() => {
  expect.hasAssertions();
});
