/** Why a frame could not be decoded (or a message could not be encoded). */
export type MeshCodecErrorCode =
  | 'truncated'
  | 'bad-version'
  | 'unknown-type'
  | 'too-large'
  | 'bad-varint'
  | 'bad-utf8'
  | 'trailing-bytes'
  | 'limit'
  | 'invalid'
  | 'auth';

/**
 * A mesh frame that is not a valid message. Receivers drop the frame and count
 * it by `code`; nothing else happens (a peer cannot crash a speaker with bytes).
 */
export class MeshCodecError extends Error {
  override name = 'MeshCodecError';
  readonly code: MeshCodecErrorCode;

  constructor(code: MeshCodecErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}
