import { Field, Int, ObjectType } from 'type-graphql';
import { StorageService } from './enums.js';

@ObjectType({
  description:
    'An upload budget (POSTIMAGES_BUDGET, IMGBB_BUDGET, S3_BUDGET): at most `limit` uploads per UTC `per` window, counted in the metadata store for every server process on it. A spent provider is skipped without a request until `resetsAt`.',
})
export class ProviderBudget {
  @Field(() => Int, { description: 'Uploads allowed per window (at least 1).' })
  limit!: number;

  @Field(() => String, { description: 'The window: minute, hour, day or month (calendar month, UTC).' })
  per!: string;

  @Field(() => Int, { description: 'Uploads sent in the current window, by every server process on the store.' })
  used!: number;

  @Field(() => Date, { description: 'When the current window ends and the count starts again.' })
  resetsAt!: Date;
}

@ObjectType({ description: 'Health of one cloud provider of the chain, since this server started.' })
export class ProviderStatus {
  @Field(() => StorageService, { description: 'Which provider.' })
  name!: StorageService;

  @Field(() => Boolean, { description: 'False when its API key is not configured.' })
  enabled!: boolean;

  @Field(() => String, {
    description: 'Circuit breaker: CLOSED, OPEN (skipped for now) or HALF_OPEN (one trial call allowed).',
  })
  circuit!: string;

  @Field(() => Int, { description: 'Successful uploads since start.' })
  uploads!: number;

  @Field(() => Int, { description: 'Failed uploads (after retries) since start.' })
  failures!: number;

  @Field(() => String, { nullable: true, description: 'Reason of the last failure.' })
  lastError!: string | null;

  @Field(() => Boolean, {
    description:
      'Its last failure said it is set up wrong (S3: AccessDenied, NoSuchBucket, refused credentials): never retried, the chain moves on, an operator must fix its settings. Cleared by the next success.',
  })
  misconfigured!: boolean;

  @Field(() => ProviderBudget, {
    nullable: true,
    description: 'Its upload budget and what is used of the current window; null: no budget.',
  })
  budget!: ProviderBudget | null;
}
