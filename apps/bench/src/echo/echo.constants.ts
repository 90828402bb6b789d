/**
 * The reference service's one pattern. It lives here rather than in
 * libs/protocol because it is not part of the system: only the benchmark's
 * echo server answers it.
 */
export const ECHO_PATTERN = 'bench.echo';
