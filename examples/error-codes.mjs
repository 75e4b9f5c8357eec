// Every failure is an S3dlioError with a stable code, the URI, the operation and the cause.
import { get, S3dlioError } from 's3dlio';

try {
  await get('file:///nonexistent/s3dlio/example.bin');
} catch (error) {
  if (!(error instanceof S3dlioError) || error.code !== 'ERR_NOT_FOUND') throw error;
  console.log(error.code, error.operation, error.uri, error.errnoName); // ERR_NOT_FOUND get file:///… ENOENT
}
