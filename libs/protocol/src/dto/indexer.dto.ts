import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { IsEpoch, IsIncarnation, IsTopicName } from './validators';

/** A topic a peer hosts, with the claim it hosts it under. */
export class TopicClaimDto {
  @IsTopicName()
  topic: string;

  @IsEpoch()
  epoch: number;

  @IsIncarnation()
  incarnation: string;
}

export class RegisterDto {
  /** The address other peers use to reach this one (not the bind address). */
  @IsString()
  @Length(1, 255)
  host: string;

  @IsInt()
  @Min(1)
  @Max(65535)
  port: number;

  /**
   * Topics the peer already hosts (after an indexer or peer restart), with
   * their claims: where two peers report one name, the higher epoch wins.
   */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100_000)
  @ValidateNested({ each: true })
  @Type(() => TopicClaimDto)
  topics?: TopicClaimDto[];

  /**
   * The indexerId of the indexer this peer was last registered with: another
   * one tells a restarted indexer that it restarted (see RegistryService).
   */
  @IsOptional()
  @IsString()
  @Length(1, 64)
  lastIndexerId?: string;

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

export class HeartbeatDto {
  @IsString()
  @Length(1, 300)
  peerId: string;

  /** The topicsVersion of the last list this peer received; the reply lists topics if it changed. */
  @IsOptional()
  @IsInt()
  topicsVersion?: number;
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

export class ReleaseTopicDto {
  @IsTopicName()
  topic: string;

  @IsString()
  @Length(1, 300)
  peerId: string;

  /** The claim being released; a newer claim of the name is left alone (STALE_EPOCH). */
  @IsOptional()
  @IsEpoch()
  epoch?: number;
}
