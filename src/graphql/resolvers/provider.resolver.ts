import { Ctx, Query, Resolver } from 'type-graphql';
import type { Viewer } from '../../domain/viewer.js';
import type { GraphQLContext } from '../context.js';
import { CurrentViewer } from '../current-viewer.js';
import { ProviderStatus } from '../types/providers.js';

@Resolver()
export class ProviderResolver {
  @Query(() => [ProviderStatus], {
    description: 'The cloud providers in chain order, then the disabled ones, with their health.',
  })
  async providers(@CurrentViewer() _viewer: Viewer, @Ctx() ctx: GraphQLContext): Promise<ProviderStatus[]> {
    return (await ctx.providers()) as ProviderStatus[];
  }
}
