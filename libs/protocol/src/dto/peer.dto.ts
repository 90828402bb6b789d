import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Length,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { MAX_PULL_BATCH, MAX_PULL_WAIT_MS } from '../fields';
import type { StartPosition } from '../fields';
import { IsName, IsStartPosition, IsTopicName } from './validators';

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
}

export class ListConsumersDto {
  /** Only this topic's consumers and subscribers. */
  @IsOptional()
  @IsTopicName()
  topic?: string;
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

  @IsArray()
  @ArrayMaxSize(10_000)
  @ValidateNested({ each: true })
  @Type(() => DeliveredRecordDto)
  records: DeliveredRecordDto[];
}

/** For patterns that take no arguments: any field at all is rejected. */
export class EmptyDto {}
