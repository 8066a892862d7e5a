/** An error that becomes an HTTP answer `{ error: code, message, ...extra }`. */
export class HttpError extends Error {
  constructor(status, code, message, extra = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.extra = extra;
  }
}
