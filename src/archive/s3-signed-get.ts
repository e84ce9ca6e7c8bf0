// s3_sse_kms=true (spec §1.3): the GET of the given http(s) URL is signed with AWS Signature V4 for
// service `s3`, with the credentials and region from the environment, as TorchServe does. Objects
// encrypted with SSE-KMS can only be read with SigV4-signed requests.
// The signer is loaded on first use, like the S3 SDK (s3-object-source.ts).
import type { AwsEnvironment } from './aws-environment.js';

/** SHA-256 of the empty body, sent as x-amz-content-sha256. */
export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** The headers of a SigV4-signed GET of `url` (Host, X-Amz-Date, Authorization, ...). */
export async function signedGetHeaders(url: URL, aws: AwsEnvironment, now: Date = new Date()): Promise<Record<string, string>> {
  const { accessKeyId, secretAccessKey, region } = aws;
  if (accessKeyId === null || secretAccessKey === null || region === null) {
    throw new Error('s3_sse_kms=true needs AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_DEFAULT_REGION in the environment');
  }
  const [{ Sha256 }, { SignatureV4 }] = await Promise.all([import('@aws-crypto/sha256-js'), import('@smithy/signature-v4')]);
  const signer = new SignatureV4({
    service: 's3',
    region,
    credentials: { accessKeyId, secretAccessKey, ...(aws.sessionToken === null ? {} : { sessionToken: aws.sessionToken }) },
    sha256: Sha256,
    // S3 signs the path as sent (already percent-encoded once), unlike other services.
    uriEscapePath: false,
  });
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const prior = query[key];
    query[key] = prior === undefined ? value : [...(Array.isArray(prior) ? prior : [prior]), value];
  }
  const signed = await signer.sign(
    {
      method: 'GET',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port === '' ? {} : { port: Number(url.port) }),
      path: url.pathname,
      query,
      headers: { host: url.host, 'x-amz-content-sha256': EMPTY_BODY_SHA256 },
    },
    { signingDate: now },
  );
  return signed.headers;
}
