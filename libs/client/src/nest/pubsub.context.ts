import { BaseRpcContext } from '@nestjs/microservices/ctx-host/base-rpc.context.js';

type PubSubContextArgs = [
  topic: string,
  offset: number,
  publishedAt: number,
  message: string,
  attempt: number,
];

/**
 * What a PubSubServer handler learns besides the payload (`@Ctx()`): the
 * topic, the message's offset and publish time, its text as published, and
 * which attempt this is (1, then 2... when an earlier one failed).
 */
export class PubSubContext extends BaseRpcContext<PubSubContextArgs> {
  getTopic(): string {
    return this.args[0];
  }

  getOffset(): number {
    return this.args[1];
  }

  /** Milliseconds since the epoch, stamped by the topic's host on append. */
  getPublishedAt(): number {
    return this.args[2];
  }

  /** The message text, before the JSON parse that made the payload. */
  getMessage(): string {
    return this.args[3];
  }

  getAttempt(): number {
    return this.args[4];
  }
}
