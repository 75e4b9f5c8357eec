/**
 * Errors in the JSON API's documented shape
 * (https://cloud.google.com/storage/docs/json_api/v1/status-codes):
 *
 *   { "error": { "code": 404, "message": "No such object: b/o",
 *                "errors": [{ "message": "No such object: b/o", "domain": "global", "reason": "notFound" }] } }
 *
 * Route handlers throw a GcsError; the server turns it into that body (or, for HEAD, headers only).
 */

export interface GcsErrorBody {
  error: {
    code: number;
    message: string;
    errors: Array<{ message: string; domain: string; reason: string; locationType?: string; location?: string }>;
  };
}

export class GcsError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly extraHeaders: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'GcsError';
  }

  toJSON(): GcsErrorBody {
    return {
      error: {
        code: this.status,
        message: this.message,
        errors: [{ message: this.message, domain: 'global', reason: this.reason }],
      },
    };
  }
}

export const bucketNotFound = (): GcsError => new GcsError(404, 'notFound', 'The specified bucket does not exist.');

export const objectNotFound = (bucket: string, name: string): GcsError =>
  new GcsError(404, 'notFound', `No such object: ${bucket}/${name}`);

export const bucketExists = (): GcsError =>
  new GcsError(409, 'conflict', 'Your previous request to create the named bucket succeeded and you already own it.');

export const bucketNotEmpty = (): GcsError =>
  new GcsError(409, 'conflict', 'The bucket you tried to delete is not empty.');

export const preconditionFailed = (): GcsError =>
  new GcsError(412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.');

export const notModified = (): GcsError => new GcsError(304, 'notModified', 'Not Modified');

export const invalid = (message: string): GcsError => new GcsError(400, 'invalid', message);

export const required = (what: string): GcsError => new GcsError(400, 'required', `Required ${what}`);

export const rangeNotSatisfiable = (size: number): GcsError =>
  new GcsError(416, 'requestedRangeNotSatisfiable', 'The requested range cannot be satisfied.', {
    'Content-Range': `bytes */${size}`,
  });

export const notFoundPath = (method: string, path: string): GcsError =>
  new GcsError(404, 'notFound', `Not Found: no route for ${method} ${path}`);
