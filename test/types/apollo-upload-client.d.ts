// apollo-upload-client 19 ships JavaScript with JSDoc types and no declaration files; this
// declares the one class the tests use, as its JSDoc describes it.
declare module 'apollo-upload-client/UploadHttpLink.mjs' {
  import { ApolloLink } from '@apollo/client/link';
  export default class UploadHttpLink extends ApolloLink {
    constructor(options?: {
      uri?: string;
      headers?: Record<string, string>;
      credentials?: RequestCredentials;
      fetch?: typeof fetch;
      fetchOptions?: RequestInit;
      includeExtensions?: boolean;
    });
  }
}
