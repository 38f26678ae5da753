import { registerEnumType } from 'type-graphql';
import { MessageRole, ReplicationStatus, StorageService } from '../../domain/types.js';

// The domain's own const objects, registered as GraphQL enums: domain records flow through the
// resolvers unchanged. Import them from here in the GraphQL layer, so the registration has run.
export { MessageRole, ReplicationStatus, StorageService };

registerEnumType(MessageRole, {
  name: 'MessageRole',
  description: 'Who wrote a message.',
  valuesConfig: {
    USER: { description: 'The person chatting.' },
    ASSISTANT: { description: 'The chatbot or an AI model.' },
    SYSTEM: { description: 'Instructions or notices from the application.' },
  },
});

registerEnumType(StorageService, {
  name: 'StorageService',
  description: 'Where the cloud copy of an image lives. LOCAL: no cloud provider holds it (yet).',
  valuesConfig: {
    POSTIMAGES: { description: 'PostImages (postimg.cc).' },
    IMGBB: { description: 'ImgBB (ibb.co).' },
    S3: { description: 'An S3-compatible bucket (AWS S3, Cloudflare R2, Backblaze B2, MinIO, Ceph).' },
    LOCAL: { description: 'Only this server holds the image.' },
  },
});

registerEnumType(ReplicationStatus, {
  name: 'ReplicationStatus',
  description: 'Progress of the cloud copy of an image.',
  valuesConfig: {
    PENDING: { description: 'Stored locally; the cloud upload was not attempted yet or is in progress.' },
    REPLICATED: { description: 'A provider holds a copy; cloudUrl is set.' },
    RETRYING: { description: 'Every provider failed; a durable retry is scheduled.' },
    LOCAL_ONLY: { description: 'Cloud replication is disabled or gave up after the configured attempts.' },
  },
});
