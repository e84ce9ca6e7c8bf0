// The AWS settings model sources use, read once from the server's environment by main.ts:
// credentials and region for s3_sse_kms signing (as TorchServe reads them) and for s3:// URLs,
// plus AWS_ENDPOINT_URL for S3-compatible stores.

export interface AwsEnvironment {
  readonly accessKeyId: string | null;
  readonly secretAccessKey: string | null;
  readonly sessionToken: string | null;
  /** AWS_DEFAULT_REGION (TorchServe's variable), else AWS_REGION. */
  readonly region: string | null;
  /** AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL. */
  readonly endpointUrl: string | null;
}

const nonEmpty = (value: string | undefined): string | null => (value === undefined || value === '' ? null : value);

export function awsEnvironmentFrom(env: Readonly<Record<string, string | undefined>>): AwsEnvironment {
  return Object.freeze({
    accessKeyId: nonEmpty(env.AWS_ACCESS_KEY_ID),
    secretAccessKey: nonEmpty(env.AWS_SECRET_ACCESS_KEY),
    sessionToken: nonEmpty(env.AWS_SESSION_TOKEN),
    region: nonEmpty(env.AWS_DEFAULT_REGION) ?? nonEmpty(env.AWS_REGION),
    endpointUrl: nonEmpty(env.AWS_ENDPOINT_URL_S3) ?? nonEmpty(env.AWS_ENDPOINT_URL),
  });
}

/** Where downloads get their AWS settings and report progress. */
export interface ModelSourceSettings {
  readonly aws: AwsEnvironment;
  /** Progress and failure reasons of downloads, one line each. */
  readonly log: (line: string) => void;
  /** Downloads at least this large report progress (default 16 MiB). */
  readonly progressMinBytes?: number;
  /** allow_link_local_urls: let downloads connect to link-local addresses (cloud metadata). */
  readonly allowLinkLocal?: boolean;
}
