/**
 * Why an uploaded avatar file cannot be used, in the terms its `failure` reports to the user: the
 * code (`avatar.format_invalid`, `avatar.too_large`) and a message that says what to fix.
 */
export type AvatarFailureCode = "avatar.format_invalid" | "avatar.too_large" | "avatar.upload_missing" | "avatar.processing_failed";

export class AvatarFileError extends Error {
  constructor(
    readonly code: AvatarFailureCode,
    message: string,
  ) {
    super(message);
    this.name = "AvatarFileError";
  }
}
