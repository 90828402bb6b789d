import { ArgumentsHost, Logger } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { TopicNotFoundError } from '@p2p-pubsub/protocol';
import { lastValueFrom } from 'rxjs';
import { RequestMeter } from './ops/request-meter';
import { RpcErrorFilter } from './rpc-error.filter';

/** What Nest hands the filter for a TCP request of `pattern`. */
function rpcHost(pattern: string): ArgumentsHost {
  return {
    getType: () => 'rpc',
    switchToRpc: () => ({ getContext: () => ({ getPattern: () => pattern }) }),
  } as unknown as ArgumentsHost;
}

async function replyFor(exception: unknown, meter?: RequestMeter): Promise<unknown> {
  const filter = new RpcErrorFilter(meter);
  return lastValueFrom(filter.catch(exception, rpcHost('publish'))).catch(
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

  it('counts each error reply by pattern and code', async () => {
    const meter = new RequestMeter();
    meter.countRequest('publish', true);
    await replyFor(new TopicNotFoundError('Sports'), meter);
    await replyFor(new TopicNotFoundError('News'), meter);
    expect([...meter.errorCounts()]).toEqual([['publish', 'TOPIC_NOT_FOUND', 2]]);
  });
});
