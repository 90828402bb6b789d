import { ArgumentsHost, Logger } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { TopicNotFoundError } from '@p2p-pubsub/protocol';
import { lastValueFrom } from 'rxjs';
import { RpcErrorFilter } from './rpc-error.filter';

async function replyFor(exception: unknown): Promise<unknown> {
  const filter = new RpcErrorFilter();
  return lastValueFrom(filter.catch(exception, {} as ArgumentsHost)).catch(
    (error: unknown) => error,
  );
}

describe('RpcErrorFilter', () => {
  it('keeps a domain error code and message', async () => {
    expect(await replyFor(new TopicNotFoundError('Sports'))).toEqual({
      status: 'error',
      code: 'TOPIC_NOT_FOUND',
      message: "Topic 'Sports' not found",
    });
  });

  it('passes an RpcException carrying an error reply through unchanged', async () => {
    const reply = { status: 'error', code: 'NOT_OWNER', message: 'no' };
    expect(await replyFor(new RpcException(reply))).toEqual(reply);
  });

  it('hides unexpected errors behind INTERNAL', async () => {
    Logger.overrideLogger(false);
    expect(await replyFor(new TypeError('undefined is not a function'))).toEqual({
      status: 'error',
      code: 'INTERNAL',
      message: 'Internal error',
    });
  });
});
