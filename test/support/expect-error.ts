import { PubSubError } from '@p2p-pubsub/client';

/** Awaits `promise`, expecting it to fail with a PubSubError of `code`. */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<PubSubError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(PubSubError);
  expect((caught as PubSubError).code).toBe(code);
  return caught as PubSubError;
}
