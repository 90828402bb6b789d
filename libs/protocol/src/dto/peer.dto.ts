import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Length,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { MAX_CONSUME_CREDIT, MAX_PULL_BATCH, MAX_PULL_WAIT_MS } from '../fields';
import type { StartPosition } from '../fields';
import { IsEpoch, IsIncarnation, IsName, IsStartPosition, IsTopicName } from './validators';

export class TopicDto {
  @IsTopicName()
  topic: string;
}

export class SubscribeDto {
  @IsTopicName()
  topic: string;

  /** Where a new subscription starts; ignored when already subscribed. */
  @IsOptional()
  @IsStartPosition()
  from?: StartPosition;
}

export class PublishDto {
  @IsTopicName()
  topic: string;

  /** Size is checked against the peer's configured limit, not here. */
  @IsString()
  message: string;
}

export class PullDto {
  @IsTopicName()
  topic: string;

  @IsOptional()
  @IsName('consumer')
  consumer?: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_PULL_BATCH)
  max?: number;

  /** Replay from this offset without moving the consumer's position. */
  @IsOptional()
  @IsInt()
  @Min(0)
  fromOffset?: number;

  /** Long poll: wait up to this long for a message when none is pending. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_PULL_WAIT_MS)
  waitMs?: number;

  /**
   * true (default): the consumer moves past what the reply carries once it
   * reaches the client. false: it stays where it is until `ack`.
   */
  @IsOptional()
  @IsBoolean()
  autoAck?: boolean;
}

export class AckDto {
  @IsTopicName()
  topic: string;

  @IsOptional()
  @IsName('consumer')
  consumer?: string;

  /** Everything below this offset is processed: a pull reply's `nextOffset`. */
  @IsInt()
  @Min(0)
  nextOffset: number;
}

export class ListConsumersDto {
  /** Only this topic's consumers and subscribers. */
  @IsOptional()
  @IsTopicName()
  topic?: string;
}

export class ConsumeDto {
  @IsTopicName()
  topic: string;

  /**
   * A named consumer: the stream starts at its acknowledged position, which
   * its acks move durably. Without one the stream keeps no state on the
   * peer: it starts at `from`, and its acks only return credit.
   */
  @IsOptional()
  @IsName('consumer')
  consumer?: string;

  /**
   * Where a stream starts when there is no acknowledged position: `latest`,
   * `earliest` (the oldest message held) or an offset. Default: `earliest`
   * for a named consumer, `latest` without one.
   */
  @IsOptional()
  @IsStartPosition()
  from?: StartPosition;

  /** The client's name for this stream, which its acks repeat. */
  @IsString()
  @Length(1, 64)
  stream: string;

  /** Messages delivered and not yet acknowledged, at most. */
  @IsInt()
  @Min(1)
  @Max(MAX_CONSUME_CREDIT)
  credit: number;

  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(60_000)
  heartbeatMs?: number;
}

export class ConsumeAckDto {
  @IsTopicName()
  topic: string;

  @IsOptional()
  @IsName('consumer')
  consumer?: string;

  @IsString()
  @Length(1, 64)
  stream: string;

  /** Everything below this offset is processed; absent, the ack is a heartbeat. */
  @IsOptional()
  @IsInt()
  @Min(0)
  nextOffset?: number;
}

// ---- peer to peer ----------------------------------------------------------

export class AddSubscriberDto {
  @IsTopicName()
  topic: string;

  @IsString()
  @Length(1, 255)
  host: string;

  @IsInt()
  @Min(1)
  @Max(65535)
  port: number;

  @IsOptional()
  @IsStartPosition()
  from?: StartPosition;

  /** The claim the subscriber looked the host up at; another one is refused (STALE_EPOCH). */
  @IsOptional()
  @IsEpoch()
  epoch?: number;
}

export class RemoveSubscriberDto {
  @IsTopicName()
  topic: string;

  @IsString()
  @Length(1, 300)
  peerId: string;
}

export class DeliveredRecordDto {
  @IsInt()
  @Min(0)
  offset: number;

  @IsString()
  message: string;

  @IsNumber()
  publishedAt: number;
}

export class DeliverDto {
  @IsTopicName()
  topic: string;

  /** The host's claim of the topic: a replica of another one refuses the batch. */
  @IsEpoch()
  epoch: number;

  @IsIncarnation()
  incarnation: string;

  @IsArray()
  @ArrayMaxSize(10_000)
  @ValidateNested({ each: true })
  @Type(() => DeliveredRecordDto)
  records: DeliveredRecordDto[];
}

/** peer.publish: a publish forwarded to the host it was looked up at. */
export class ForwardedPublishDto {
  @IsTopicName()
  topic: string;

  @IsString()
  message: string;

  /** The claim the forwarder found at the indexer; the host refuses another (STALE_EPOCH). */
  @IsEpoch()
  epoch: number;
}

/** peer.delete_topic (forwarded to the host) and peer.topic_deleted (host to subscribers). */
export class TopicEpochDto {
  @IsTopicName()
  topic: string;

  @IsEpoch()
  epoch: number;
}

/** For patterns that take no arguments: any field at all is rejected. */
export class EmptyDto {}
