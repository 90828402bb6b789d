import { MessageHandler, ServerTCP } from '@nestjs/microservices';

/**
 * Nest's TCP server with a shorter handler lookup. Nest first tries
 * JSON.parse on every request's pattern (patterns may be objects), which
 * for a plain string pattern such as 'publish' throws a SyntaxError and
 * captures its stack: 4-12 µs of CPU per request in `npm run bench --
 * --profile`. A pattern registered as that very string is now found with
 * one map lookup; any other pattern takes Nest's own path, so what is
 * found for which pattern does not change.
 */
export class TcpServer extends ServerTCP {
  override getHandlerByPattern(pattern: string): MessageHandler | null {
    return this.messageHandlers.get(pattern) ?? super.getHandlerByPattern(pattern);
  }
}
