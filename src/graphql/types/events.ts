import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import type { ImageRecord } from '../../domain/types.js';
import { Image } from './objects.js';

export const ImageEventKind = {
  ADDED: 'ADDED',
  REPLICATION_CHANGED: 'REPLICATION_CHANGED',
  DELETED: 'DELETED',
} as const;
export type ImageEventKind = (typeof ImageEventKind)[keyof typeof ImageEventKind];

registerEnumType(ImageEventKind, {
  name: 'ImageEventKind',
  description: 'What happened to an image of a conversation.',
  valuesConfig: {
    ADDED: { description: 'It was uploaded or generated, to a new message or an existing one.' },
    REPLICATION_CHANGED: {
      description:
        'Its record changed after it was added: its replication status (a cloud copy landed: REPLICATED; a retry; LOCAL_ONLY), its cloud URL, or its local copy.',
    },
    DELETED: { description: 'It was deleted: `image` is null, and its URLs stop working.' },
  },
});

/** What a subscription delivers: the event and the image as it is after it (null once deleted). */
export interface ImageEventPayload {
  kind: ImageEventKind;
  imageId: string;
  image: ImageRecord | null;
}

@ObjectType({ description: 'One change to an image of a conversation, delivered by the imageEvents subscription.' })
export class ImageEvent {
  @Field(() => ImageEventKind, { description: 'What happened.' })
  kind!: ImageEventKind;

  @Field(() => ID, { description: 'The image the event is about (also for DELETED).' })
  imageId!: string;

  @Field(() => Image, {
    nullable: true,
    description:
      'The image as it is after the event, read when the event is delivered; null for DELETED, or when it was deleted since.',
  })
  image!: ImageRecord | null;
}
