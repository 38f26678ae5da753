import { Field, Int, ObjectType } from 'type-graphql';
import { StorageService } from './enums.js';

@ObjectType({ description: 'Health of one cloud provider of the chain, since this server started.' })
export class ProviderStatus {
  @Field(() => StorageService)
  name!: StorageService;

  @Field(() => Boolean, { description: 'False when its API key is not configured.' })
  enabled!: boolean;

  @Field(() => String, { description: 'Circuit breaker: CLOSED, OPEN (skipped for now) or HALF_OPEN (one trial call allowed).' })
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
}
