/**
 * The one setting every deadline in the e2e suites derives from:
 * TEST_DEADLINE_MS (jest.config.mjs gives it its default and derives jest's
 * testTimeout from it). It bounds how long a test waits for any one thing: a
 * condition to hold (waitFor), a process to be ready or to stop, a client
 * request to be answered. A deadline is never how a test passes, only how it
 * fails; it is generous so that a busy machine fails nothing, and can be
 * raised for a slower one.
 */
export const DEADLINE_MS = readDeadline();

function readDeadline(): number {
  const value = Number(process.env.TEST_DEADLINE_MS);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(
      `TEST_DEADLINE_MS must be a positive number of milliseconds (jest.config.mjs sets its default), got '${process.env.TEST_DEADLINE_MS}'`,
    );
  }
  return value;
}
