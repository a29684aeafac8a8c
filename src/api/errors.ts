/** An error a route throws on purpose: the app's error handler answers `{error: code, reason: message}` with its status. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
