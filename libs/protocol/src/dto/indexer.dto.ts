import {
  ArrayMaxSize,
  IsArray,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { NAME_PATTERN } from '../fields';
import { IsTopicName } from './validators';

export class RegisterDto {
  /** The address other peers use to reach this one (not the bind address). */
  @IsString()
  @Length(1, 255)
  host: string;

  @IsInt()
  @Min(1)
  @Max(65535)
  port: number;

  /** Topics the peer already hosts, e.g. after an indexer restart. */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100_000)
  @Matches(NAME_PATTERN, {
    each: true,
    message: "each topic must be 1-255 characters of A-Z, a-z, 0-9, '.', '_' or '-'",
  })
  topics?: string[];

  /** Where the peer serves /health and /metrics over HTTP, if it does (`pubsub status` reads it). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(65535)
  opsPort?: number;
}

export class PeerIdDto {
  @IsString()
  @Length(1, 300)
  peerId: string;
}

export class LookupDto {
  @IsTopicName()
  topic: string;
}

export class ClaimTopicDto {
  @IsTopicName()
  topic: string;

  @IsString()
  @Length(1, 300)
  peerId: string;
}
