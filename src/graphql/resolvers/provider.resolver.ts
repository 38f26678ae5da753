import { Ctx, Query, Resolver } from 'type-graphql';
import { requireViewer } from '../../domain/viewer.js';
import type { GraphQLContext } from '../context.js';
import { ProviderStatus } from '../types/providers.js';

@Resolver()
export class ProviderResolver {
  @Query(() => [ProviderStatus], {
    description: 'The cloud providers in chain order, then the disabled ones, with their health.',
  })
  async providers(@Ctx() ctx: GraphQLContext): Promise<ProviderStatus[]> {
    requireViewer(ctx.viewer);
    return (await ctx.providers()) as ProviderStatus[];
  }
}
