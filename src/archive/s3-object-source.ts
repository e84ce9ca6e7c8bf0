// s3://bucket/key model URLs (beyond TorchServe): fetched with the AWS SDK, with credentials and
// region from the environment and AWS_ENDPOINT_URL for S3-compatible stores (path-style there).
// The SDK is loaded on the first s3:// download, not at startup: it adds about 20 MB of resident
// memory that a server without s3:// models would carry for nothing.
import type { Readable } from 'node:stream';
import type { S3ServiceException } from '@aws-sdk/client-s3';
import type { AwsEnvironment } from './aws-environment.js';

export function isS3Url(url: string): boolean {
  return /^s3:\/\//i.test(url);
}

export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

export function parseS3Url(url: string): S3Location {
  const match = /^s3:\/\/([^/?#]+)\/([^?#]+)$/i.exec(url);
  if (match === null) throw new Error(`not an s3://bucket/key URL: ${url}`);
  return { bucket: match[1] as string, key: decodeURIComponent(match[2] as string) };
}

export interface OpenedObject {
  readonly body: Readable;
  readonly sizeBytes: number | null;
}

export async function openS3Object(url: string, aws: AwsEnvironment, signal: AbortSignal): Promise<OpenedObject> {
  const { bucket, key } = parseS3Url(url);
  const { GetObjectCommand, S3Client, S3ServiceException } = await import('@aws-sdk/client-s3');
  const client = new S3Client({
    region: aws.region ?? 'us-east-1',
    ...(aws.endpointUrl === null ? {} : { endpoint: aws.endpointUrl, forcePathStyle: true }),
    ...(aws.accessKeyId === null || aws.secretAccessKey === null
      ? {}
      : {
          credentials: {
            accessKeyId: aws.accessKeyId,
            secretAccessKey: aws.secretAccessKey,
            ...(aws.sessionToken === null ? {} : { sessionToken: aws.sessionToken }),
          },
        }),
    maxAttempts: 2,
  });
  try {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    const body = response.Body as Readable | undefined;
    if (body === undefined) throw new Error(`s3://${bucket}/${key} has no body`);
    body.once('close', () => client.destroy());
    return { body, sizeBytes: response.ContentLength ?? null };
  } catch (err) {
    client.destroy();
    throw describeS3Error(err, err instanceof S3ServiceException ? err : null, bucket, key);
  }
}

/** An S3 error with its code and status in the message (NoSuchKey, AccessDenied, InvalidAccessKeyId, ...). */
function describeS3Error(err: unknown, service: S3ServiceException | null, bucket: string, key: string): Error {
  if (service !== null) {
    const status = service.$metadata.httpStatusCode;
    const detail = service.message && service.message !== service.name && service.message !== 'UnknownError' ? `: ${service.message}` : '';
    return new Error(`s3://${bucket}/${key}: ${service.name}${status === undefined ? '' : ` (HTTP ${status})`}${detail}`, { cause: service });
  }
  return err instanceof Error ? err : new Error(String(err));
}
