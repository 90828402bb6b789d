/**
 * What travels in a frame, as Nest's TCP transport shapes it. A request
 * without an id is an event (no reply). A reply carries the request's id and
 * either a `response` or an `err`; the last reply of a request (one for a
 * plain request, several for a stream) has `isDisposed: true`.
 */
export interface RequestPacket {
  pattern: string;
  data: unknown;
  id?: string | number;
}

export interface ReplyPacket {
  id?: unknown;
  response?: unknown;
  err?: unknown;
  status?: unknown;
  isDisposed?: boolean;
}
