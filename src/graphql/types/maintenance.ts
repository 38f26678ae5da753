import { Field, Float, ID, InputType, Int, ObjectType } from 'type-graphql';

@ObjectType({
  description:
    'What deleteImage removed. The image is gone from every query at once; copies that could not be removed yet are retried by the server.',
})
export class DeleteImagePayload {
  @Field(() => ID, { description: 'Id of the deleted image; it is NOT_FOUND from now on.' })
  deletedImageId!: string;

  @Field(() => Boolean, {
    description:
      'No local file of the image (original or thumbnail) remains. false: a removal failed and is retried in the background.',
  })
  localDeleted!: boolean;

  @Field(() => Boolean, {
    description:
      'A provider confirmed the cloud copy is deleted (and its thumbnail copy, where the provider keeps one). false where there was none, the provider offers no deletion (ImgBB), another image shares the copy, or it failed (then it is retried in the background).',
  })
  cloudDeleted!: boolean;
}

@InputType({
  description: 'Which images restoreImages looks at. Without a scope: every image of yours (an admin: every image).',
})
export class RestoreImagesInput {
  @Field(() => ID, { nullable: true, description: 'Restrict to one conversation.' })
  conversationId?: string | null;

  @Field(() => [ID], { nullable: true, description: 'Restrict to these images (at most 1,000).' })
  imageIds?: string[] | null;

  @Field(() => Boolean, {
    nullable: true,
    defaultValue: false,
    description: 'Count what would be restored, change nothing.',
  })
  dryRun?: boolean | null;
}

@ObjectType({ description: 'An image restoreImages could not restore, and why (nothing was overwritten).' })
export class RestoreFailure {
  @Field(() => ID, { description: 'The image that could not be restored.' })
  imageId!: string;

  @Field(() => String, {
    description:
      'What went wrong, such as a failed download or a cloud copy that does not match the recorded sha256 (server paths removed).',
  })
  reason!: string;
}

@ObjectType({ description: 'An image with neither a good local copy nor a cloud copy.' })
export class LostImage {
  @Field(() => ID, { description: 'The image nothing holds any more.' })
  imageId!: string;

  @Field(() => ID, { description: 'Its conversation.' })
  conversationId!: string;

  @Field(() => String, {
    description: 'Why: no cloud copy at all, or the cloud copy was found changed at its host.',
  })
  reason!: string;
}

@ObjectType({ description: 'What restoreImages found and did, counted per image.' })
export class RestoreImagesPayload {
  @Field(() => Int, { description: 'Images looked at in the scope.' })
  scanned!: number;

  @Field(() => Int, {
    description:
      'Local copy written from the cloud copy, after its sha256 matched the record (in a dry run: would be).',
  })
  restored!: number;

  @Field(() => Int, { description: 'Local copy present and its sha256 matches.' })
  alreadyPresent!: number;

  @Field(() => Int, {
    description: 'Missing (or damaged) locally and no cloud copy: cannot be restored. Listed in `lost`.',
  })
  noCloudCopy!: number;

  @Field(() => Int, {
    description: 'Images whose restore failed; nothing was overwritten for them.',
  })
  failed!: number;

  @Field(() => [RestoreFailure], { description: 'The first 100 failures with their reason; `failed` counts all.' })
  failures!: RestoreFailure[];

  @Field(() => Int, { description: 'Missing thumbnails made again from the original.' })
  thumbnailsRegenerated!: number;

  @Field(() => Int, {
    description:
      'Images whose local original cleanupLocalImages removed on purpose; not restored (their thumbnail is).',
  })
  cloudOnly!: number;

  @Field(() => [LostImage], { description: 'The first 100 images counted in noCloudCopy.' })
  lost!: LostImage[];
}

@InputType({ description: 'Which local originals cleanupLocalImages may remove.' })
export class CleanupInput {
  @Field(() => Int, { description: 'Remove local originals uploaded more than this many days ago: 0 to 36,500.' })
  olderThanDays!: number;

  @Field(() => Boolean, {
    nullable: true,
    defaultValue: false,
    description: 'Count what would be removed, change nothing.',
  })
  dryRun?: boolean | null;
}

@ObjectType({ description: 'What cleanupLocalImages removed and kept.' })
export class CleanupPayload {
  @Field(() => Int, { description: 'Local originals removed (only those with a lasting cloud copy).' })
  deleted!: number;

  @Field(() => Int, {
    description:
      'Local thumbnails removed with their original, because the same provider holds a copy of the thumbnail too (s3). Other thumbnails stay.',
  })
  thumbnailsDeleted!: number;

  @Field(() => Int, {
    description: 'Old, but the only lasting copy (not REPLICATED, or on ImgBB with IMGBB_EXPIRATION): kept.',
  })
  keptNoCloudCopy!: number;

  @Field(() => Int, {
    description:
      "Recorded cloud copies this server had not made itself (the seed chatbot's, imported ones), downloaded and found to hold the local file's bytes before the original was removed.",
  })
  verifiedCloudCopies!: number;

  @Field(() => Int, {
    description:
      'Old, with a recorded cloud copy this server had not made that was unreachable or held other bytes when checked: kept (logged).',
  })
  keptUnverifiedCloudCopy!: number;

  @Field(() => Int, {
    description:
      'Cloud copies found holding other bytes than the local original (changed at the host; PostImages copies are always compared first): the original is kept, the image flagged (Image.cloudAlteredAt) and replicated again.',
  })
  alteredCloudCopies!: number;

  @Field(() => Float, { description: 'Bytes of the removed originals and thumbnails.' })
  bytesFreed!: number;

  @Field(() => Int, {
    description:
      'Originals now served from the cloud whose local file could not be removed (logged); a reconcile pass removes them.',
  })
  failed!: number;
}

@ObjectType({ description: 'What requeueLocalOnlyImages found and queued.' })
export class RequeueLocalOnlyPayload {
  @Field(() => Int, { description: 'Images looked at (all of them).' })
  scanned!: number;

  @Field(() => Int, {
    description:
      'LOCAL_ONLY images with a local original, now PENDING with fresh attempts (in a dry run: that would be).',
  })
  queued!: number;
}
